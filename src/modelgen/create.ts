// `llmbench model create`: writes a generated GPT-2 style model folder in the Hugging Face ONNX layout.
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { PresetName } from '../types.js';
import type { Gpt2Config, Gpt2Weights } from './gpt2Spec.js';
import { buildGpt2Model } from './gpt2Graph.js';
import { encodeModel } from '../onnx/builder.js';
import { PRESETS } from './presets.js';
import { fitPresetModel } from './fitPreset.js';

/** Version of the generator; part of the cache key so a changed generator never reuses old files. */
export const GENERATOR_VERSION = 3;

export interface CreateModelOptions {
  preset: PresetName;
  seed: number;
  outDir: string;
}

export interface CreatedModel {
  dir: string;
  onnxBytes: number;
  parameters: number;
  elapsedMs: number;
}

/** Builds the preset's weights and graph and writes the folder (atomically: temp folder, then rename). */
export async function createModel(opts: CreateModelOptions): Promise<CreatedModel> {
  const t0 = performance.now();
  const spec = PRESETS[opts.preset];
  const { config, weights, tokenizer } = await fitPresetModel(spec, opts.seed);
  const onnxBytes = encodeModel(buildGpt2Model(config, weights));
  const outDir = resolve(opts.outDir);
  const tmp = `${outDir}.tmp-${process.pid}-${Date.now()}`;
  await mkdir(join(tmp, 'onnx'), { recursive: true });
  const files: Record<string, string> = {
    'config.json': json(hfConfig(config, opts)),
    'generation_config.json': json({ bos_token_id: config.bosTokenId, eos_token_id: config.eosTokenId, _from_model_config: true }),
    'tokenizer.json': json(tokenizer.tokenizerJson),
    'tokenizer_config.json': json(tokenizer.tokenizerConfig),
  };
  for (const [name, text] of Object.entries(files)) await writeFile(join(tmp, name), text);
  await writeFile(join(tmp, 'onnx', 'model.onnx'), onnxBytes);
  await mkdir(dirname(outDir), { recursive: true });
  await rm(outDir, { recursive: true, force: true });
  await rename(tmp, outDir);
  return { dir: outDir, onnxBytes: onnxBytes.byteLength, parameters: countParameters(weights), elapsedMs: performance.now() - t0 };
}

function hfConfig(c: Gpt2Config, opts: CreateModelOptions): Record<string, unknown> {
  return {
    architectures: ['GPT2LMHeadModel'],
    model_type: 'gpt2',
    vocab_size: c.vocabSize,
    n_layer: c.nLayer,
    n_head: c.nHead,
    n_embd: c.nEmbd,
    n_positions: c.nPositions,
    n_inner: c.nInner,
    layer_norm_epsilon: c.layerNormEps,
    activation_function: 'gelu_new',
    bos_token_id: c.bosTokenId,
    eos_token_id: c.eosTokenId,
    tie_word_embeddings: false,
    llmbench: { generator: GENERATOR_VERSION, preset: opts.preset, seed: opts.seed },
  };
}

function countParameters(w: Gpt2Weights): number {
  let n = w.wte.length + w.wpe.length + w.lnFGamma.length + w.lnFBeta.length + w.lmHead.length;
  for (const l of w.layers) for (const a of Object.values(l)) n += a.length;
  return n;
}

function json(v: unknown): string {
  return `${JSON.stringify(v, null, 2)}\n`;
}
