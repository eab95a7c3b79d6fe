// `llmbench model create`: wiring only.
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { createModel } from '../model/create.js';
import { PRESETS, isPresetName } from '../model/presets.js';
import { PRESET_NAMES } from '../types.js';
import { parseIntOption } from './options.js';

export function registerModel(program: Command): void {
  const model = program.command('model').description('Create generated transformer models');
  model
    .command('create')
    .description('Write a generated GPT-2 style ONNX model folder (Hugging Face layout)')
    .requiredOption('--preset <name>', `model preset: ${PRESET_NAMES.map((p) => `${p} (${PRESETS[p].description})`).join('; ')}`)
    .option('--seed <n>', 'weight seed (same preset + seed = byte-identical files)', '42')
    .requiredOption('--out <dir>', 'output folder')
    .action(async (opts: { preset: string; seed: string; out: string }) => {
      if (!isPresetName(opts.preset)) throw new UsageError(`--preset: unknown preset "${opts.preset}"`, `Choose one of: ${PRESET_NAMES.join(', ')}.`);
      const seed = parseIntOption('--seed', opts.seed, 0);
      const r = await createModel({ preset: opts.preset, seed, outDir: opts.out });
      process.stdout.write(
        `created ${opts.preset} (seed ${seed}) in ${r.dir}: ${(r.parameters / 1e6).toFixed(2)}M parameters, ` +
          `model.onnx ${(r.onnxBytes / 1e6).toFixed(1)} MB, ${(r.elapsedMs / 1000).toFixed(2)} s\n`,
      );
    });
}
