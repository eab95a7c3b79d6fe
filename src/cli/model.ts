// `llmbench model create`: wiring only.
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { createModel } from '../modelgen/create.js';
import { writeLlamaFixture } from '../modelgen/llamaFixture.js';
import { writeModelBuilderFixture } from '../modelgen/modelBuilderFixture.js';
import { PRESETS, isPresetName } from '../modelgen/presets.js';
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
  model
    .command('fixture')
    .description('Write the small Llama test model (grouped KV heads, seeded random weights) in the layout of an optimum export or an onnxruntime-genai model-builder folder')
    .option('--style <style>', 'optimum (config.json, onnx/model.onnx, plain ops) or model-builder (genai_config.json, model.onnx + model.onnx.data, contrib ops)', 'optimum')
    .option('--dtype <dtype>', 'fp32 or fp16', 'fp32')
    .option('--seed <n>', 'weight seed', '1')
    .option('--merged', "optimum only: write optimum's merged decoder (onnx/decoder_model_merged.onnx: an If on use_cache_branch over the no-cache and with-cache graphs)")
    .option('--rotary <placement>', 'model-builder only: in-attention (GroupQueryAttention do_rotary, no position_ids) or separate (RotaryEmbedding nodes fed position_ids)', 'in-attention')
    .option('--local-window <n>', 'model-builder only: GroupQueryAttention local_window_size, a sliding window of n keys (default: none)')
    .requiredOption('--out <dir>', 'output folder')
    .action(async (opts: { style: string; dtype: string; seed: string; rotary: string; merged?: boolean; localWindow?: string; out: string }) => {
      const styles = { optimum: writeLlamaFixture, 'model-builder': writeModelBuilderFixture };
      const write = styles[opts.style as keyof typeof styles];
      if (!write) throw new UsageError(`--style: unknown style "${opts.style}"`, `Choose one of: ${Object.keys(styles).join(', ')}.`);
      const dtypes = { fp32: 'float32', fp16: 'float16' } as const;
      const dtype = dtypes[opts.dtype as keyof typeof dtypes];
      if (!dtype) throw new UsageError(`--dtype: unknown dtype "${opts.dtype}"`, 'Choose fp32 or fp16.');
      if (opts.rotary !== 'in-attention' && opts.rotary !== 'separate') throw new UsageError(`--rotary: unknown placement "${opts.rotary}"`, 'Choose in-attention or separate.');
      if (opts.rotary === 'separate' && opts.style !== 'model-builder') throw new UsageError('--rotary separate applies to --style model-builder only');
      if (opts.merged && opts.style !== 'optimum') throw new UsageError('--merged applies to --style optimum only', 'Model-builder folders have no merged form: their one graph always takes a (possibly empty) past.');
      if (opts.localWindow !== undefined && opts.style !== 'model-builder') throw new UsageError('--local-window applies to --style model-builder only', 'optimum exports apply a sliding window with a plain-ops mask, which llmbench refuses (see config.json sliding_window).');
      const localWindow = opts.localWindow === undefined ? null : parseIntOption('--local-window', opts.localWindow, 1);
      const r = await write({ outDir: opts.out, dtype, seed: parseIntOption('--seed', opts.seed, 0), rotary: opts.rotary, merged: opts.merged === true, localWindow });
      process.stdout.write(`wrote the ${opts.style} llama fixture (${opts.dtype}) to ${r.dir} (${r.onnxFile})\n`);
    });
}
