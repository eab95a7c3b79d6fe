import { beforeAll, describe, expect, it } from 'vitest';
import { workloadNotes } from '../../src/report/notes.js';
import { readResultFile } from '../../src/result/readResult.js';
import { renderTerminal } from '../../src/report/terminal.js';
import { validityWarnings } from '../../src/report/warnings.js';
import type { ResultFile } from '../../src/types.js';
import { STUDY_FIXTURE } from '../fixtures/paths.js';

let study: ResultFile;
beforeAll(async () => {
  study = await readResultFile(STUDY_FIXTURE);
});

function withBaselineSummary(extra: Record<string, unknown>, scenario: Record<string, unknown> = {}): ResultFile {
  const [base, ...rest] = study.pipelines;
  if (!base) throw new Error('fixture has no pipelines');
  return { ...study, scenario: { ...study.scenario, ...scenario }, pipelines: [{ ...base, summary: { ...base.summary, ...extra } }, ...rest] };
}

describe('workload notes and warnings', () => {
  it('output length requested vs delivered, server vs client prompt tokens, answer TTFT beside TTFT', () => {
    const r = withBaselineSummary({
      outputLength: { requested: 6000, delivered: 5748 },
      stoppedEarly: 12,
      promptTokensMean: { server: 35, client: 5 },
      answerTtftMs: { ...study.pipelines[0]!.summary.ttftMs, p50: 400 },
    });
    expect(workloadNotes(r)).toEqual([
      'baseline: output tokens per request 38.3 delivered of 40 requested (95.8%); 12 requests stopped before max_tokens.',
      "baseline: prompt tokens per request 35 as the server counted them (usage) vs 5 in the workload's tokenizer (a chat template or another tokenizer adds the difference).",
      'baseline: time to first answer token p50 400 ms vs TTFT p50 120 ms: reasoning or tool-call tokens came first.',
    ]);
    expect(renderTerminal(r, [])).toContain('Workload as delivered:\n  - baseline: output tokens per request 38.3');
    // An older result without these fields has no notes.
    expect(workloadNotes(study)).toEqual([]);
  });

  it('warns about re-sent prompts, estimated counts and estimated prompt lengths, and fixed output not honoured', () => {
    const r = withBaselineSummary(
      { resentPrompts: 7, outputTokenSources: { usage: 0, tokenizer: 140, none: 10 }, stoppedEarly: 3 },
      { workload: { kind: 'synthetic', reusePrompts: false, fixedOutput: true }, workloadTokenizer: null },
    );
    const w = validityWarnings(r);
    expect(w).toContain('baseline: 7 requests re-sent a prompt already sent in the same run (the workload repeats prompts); a server prompt cache can answer them faster than new traffic.');
    expect(w).toContain('baseline: output token counts estimated for some requests: 140 counted with a local tokenizer, 10 not counted at all (the server sent no usage); token metrics are estimates.');
    expect(w).toContain('baseline: workload.fixedOutput asked for exactly max_tokens, but 3 requests stopped early: the server ignores ignore_eos/min_tokens.');
    expect(w).toContain('Prompt lengths are estimated (0.75 words per token): no tokenizer was available; set target.tokenizer to a tokenizer.json or model folder.');
  });
});
