// `llmbench quantize`: wiring only (logic in src/quantize/quantize.ts).
import type { Command } from 'commander';
import { quantizeModelDir, DEFAULT_BLOCK_SIZE } from '../quantize/quantize.js';
import { formatQuantizeSummary } from '../quantize/quantizeSummary.js';
import { UsageError } from '../errors.js';
import { isPresetName } from '../modelgen/presets.js';
import type { WeightRange } from '../quantize/int8Dot.js';
import { PRESET_NAMES, QUANT_METHODS } from '../types.js';
import { parseIntOption } from './options.js';

export function registerQuantize(program: Command): void {
  program
    .command('quantize')
    .description('Write a quantized copy of a model folder (ONNX graph rewrite of every MatMul with a constant weight)')
    .argument('[model]', 'model folder or preset (tiny, small, gpt2)')
    .option('--preset <name>', `instead of [model]: a generated preset (${PRESET_NAMES.join(', ')})`)
    .requiredOption('--method <method>', `int8 (dynamic, like onnxruntime quantize_dynamic), int4 / int8-weight (MatMulNBits, weight-only), fp16 (weights stored fp16): ${QUANT_METHODS.join(', ')}`)
    .option('--block-size <n>', 'block size along K for int4 / int8-weight (power of two >= 16)', String(DEFAULT_BLOCK_SIZE))
    .option('--symmetric', 'int4 / int8-weight: symmetric blocks without zero points', false)
    .option('--accuracy-level <n>', 'MatMulNBits accuracy_level (4 = int8 compute, fast on CPU; 0 = float32)', '4')
    .option('--float-embeddings', 'int4 / int8-weight: keep embedding tables (Gather) in float32', false)
    .option('--weight-range <range>', 'int8: weight codes in 8 bits, or 7 bits where the CPU\'s int8 dot product saturates (auto probes it): auto, 7bit, 8bit', 'auto')
    .option('--exclude <names...>', 'weight or node names (substrings) to keep in float, e.g. lm_head')
    .option('--variant <name>', 'which onnx/model_<name>.onnx of a transformers.js folder to quantize (fp32 = onnx/model.onnx); the output is onnx/model.onnx')
    .option('--out <dir>', 'output folder (default: <model>-<method> next to a folder, the cache for a preset)')
    .action(async (modelArg: string | undefined, opts: { preset?: string; method: string; blockSize: string; symmetric: boolean; accuracyLevel: string; floatEmbeddings: boolean; weightRange: string; exclude?: string[]; out?: string; variant?: string }) => {
      if ((modelArg === undefined) === (opts.preset === undefined)) {
        throw new UsageError('quantize: give a model folder or --preset <name> (exactly one)', 'e.g. llmbench quantize --preset small --method int8 --out q8');
      }
      if (opts.preset !== undefined && !isPresetName(opts.preset)) throw new UsageError(`--preset: unknown preset "${opts.preset}"`, `Choose one of: ${PRESET_NAMES.join(', ')}.`);
      const model = modelArg ?? opts.preset ?? '';
      const summary = await quantizeModelDir(model, opts.method, {
        blockSize: parseIntOption('--block-size', opts.blockSize, 16),
        symmetric: opts.symmetric,
        accuracyLevel: parseIntOption('--accuracy-level', opts.accuracyLevel, 0, 4),
        embeddings: !opts.floatEmbeddings,
        exclude: opts.exclude ?? [],
        weightRange: opts.weightRange as WeightRange,
        outDir: opts.out,
        variant: opts.variant ?? null,
        onProgress: (m) => process.stderr.write(`${m}\n`),
      });
      process.stdout.write(formatQuantizeSummary(summary));
    });
}
