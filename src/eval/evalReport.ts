// Renders `llmbench eval` results for people (pure: returns a string); `--json` prints the QualityReport instead.
import type { EvalDetails } from './eval.js';
import { mb } from '../quantize/quantizeSummary.js';

function fixed(x: number | null, digits: number): string {
  return x === null || !Number.isFinite(x) ? 'n/a' : x.toFixed(digits);
}

/** Lines of the eval report, with the metric definitions next to the numbers. */
export function formatEvalReport(d: EvalDetails): string {
  const r = d.report;
  const lines = [
    `model:     ${d.modelDir} (${d.modelFile})`,
    `reference: ${d.referenceDir !== null ? `${d.referenceDir} (${d.referenceFile ?? '?'})` : '(none: pass --reference DIR|preset to compare)'}`,
    `held-out text: ${r.evalTokens} next-token predictions in ${d.windows} window(s) of up to ${d.windowTokens} tokens`,
    `  perplexity:           ${fixed(r.perplexity, 3)}${r.referencePerplexity !== null ? `   (reference ${fixed(r.referencePerplexity, 3)}, delta ${r.perplexityDeltaPct !== null && r.perplexityDeltaPct >= 0 ? '+' : ''}${fixed(r.perplexityDeltaPct, 2)}%)` : ''}`,
  ];
  if (r.top1Agreement !== null) {
    lines.push(`  top-1 agreement:      ${fixed(r.top1Agreement * 100, 2)}%   (teacher-forced: same most likely next token as the reference)`);
    lines.push(`  mean KL(ref || model): ${fixed(r.meanKl, 5)} nats per token`);
  }
  if (d.greedy) {
    const g = d.greedy;
    lines.push(
      `  greedy continuations: ${fixed(g.positionwise * 100, 1)}% of tokens match position by position; ` +
        `${fixed(g.prefix * 100, 1)}% matching prefix; ${g.identical}/${g.prompts} identical (${g.prompts} prompts x ${g.maxTokens} tokens)`,
    );
    lines.push('    (one flipped token changes the context of every later one, so this is harsher than top-1 agreement)');
  }
  if (d.example) {
    lines.push(`  example prompt:  ${JSON.stringify(d.example.prompt)}`);
    lines.push(`    model:         ${JSON.stringify(d.example.model)}`);
    lines.push(`    reference:     ${JSON.stringify(d.example.reference)}`);
  }
  lines.push(`  model file: ${mb(r.fileBytes)}, weights: ${mb(r.weightBytes)}`);
  lines.push(`  (${(d.elapsedMs / 1000).toFixed(1)} s)`);
  return `${lines.join('\n')}\n`;
}
