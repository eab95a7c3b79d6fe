// `llmbench eval`: wiring only (logic in src/eval/eval.ts).
import type { Command } from 'commander';
import { evaluateModelDetailed } from '../eval/eval.js';
import { formatEvalReport } from '../eval/evalReport.js';
import { resolveModelDir } from '../modelgen/resolve.js';
import { UsageError } from '../errors.js';
import { parseIntOption } from './options.js';

export function registerEval(program: Command): void {
  program
    .command('eval')
    .description('Quality of a model on the shipped held-out text, and how far it moved from a reference model')
    .argument('<model>', 'model folder or preset (tiny, small, gpt2)')
    .option('--reference <model>', 'reference model folder or preset (e.g. the unquantized source)')
    .option('--json', 'print one JSON object (QualityReport) instead of text', false)
    .option('--max-tokens <n>', 'tokens per greedy continuation (3 prompts; 0 skips them)', '16')
    .option('--eval-tokens <n>', 'next-token predictions scored on the held-out text', '512')
    .option('--window <n>', 'tokens per teacher-forced window (capped at the model context)', '256')
    .option('--variant <name>', 'which onnx/model_<name>.onnx of a transformers.js folder to evaluate (fp16, q4, quantized...; fp32 = onnx/model.onnx)')
    .option('--reference-variant <name>', "the reference's onnx/model_<name>.onnx (without --reference: the model's own folder, e.g. --variant q4 --reference-variant fp32)")
    .option('--kv-dtype <type>', "keep the model's KV cache as float16 (float32 models; the reference keeps its own): scores then run one token at a time through the cache")
    .action(async (model: string, opts: { reference?: string; json: boolean; maxTokens: string; evalTokens: string; window: string; kvDtype?: string; variant?: string; referenceVariant?: string }) => {
      if (opts.kvDtype !== undefined && opts.kvDtype !== 'float16' && opts.kvDtype !== 'float32') throw new UsageError(`--kv-dtype: unknown type "${opts.kvDtype}"`, 'Choose one of: float32, float16.');
      const progress = (m: string): void => void process.stderr.write(`${m}\n`);
      const dir = await resolveModelDir(model, progress);
      // --reference-variant alone compares two files of the same folder.
      const refDir = opts.reference !== undefined ? await resolveModelDir(opts.reference, progress) : opts.referenceVariant !== undefined ? dir : null;
      const d = await evaluateModelDetailed(dir, refDir, {
        maxTokens: parseIntOption('--max-tokens', opts.maxTokens, 0, 4096),
        maxEvalTokens: parseIntOption('--eval-tokens', opts.evalTokens, 1, 1_000_000),
        windowTokens: parseIntOption('--window', opts.window, 2, 1_000_000),
        sessionOptions: { kvDtype: (opts.kvDtype as 'float32' | 'float16' | undefined) ?? null, variant: opts.variant ?? null },
        referenceVariant: opts.referenceVariant ?? null,
      });
      process.stdout.write(opts.json ? `${JSON.stringify(d.report)}\n` : formatEvalReport(d));
    });
}
