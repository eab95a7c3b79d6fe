// Writes a Llama-architecture model folder in the transformers.js / optimum layout (config.json with
// model_type llama and grouped KV heads, tokenizer.json, onnx/model.onnx or onnx/model_fp16.onnx): the shape
// of the exports users bring, generated here because nothing can be downloaded. The tokenizer is the tiny
// preset's corpus BPE; weights are seeded random (see llamaGraph.ts).
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { corpusTokenizer } from './corpusTokenizer.js';
import { buildLlamaModel, llamaHfConfig, llamaWeights, type LlamaConfig } from './llamaGraph.js';
import { buildMergedLlamaModel } from './llamaMerged.js';
import { encodeModel } from '../onnx/builder.js';
import { buildTokenizerConfig, buildTokenizerJson } from './tokenizerJson.js';

/** The fixture's shape: 4 query heads sharing 2 KV heads, head_dim 16, 2 layers. */
export function llamaTinyConfig(vocabSize: number, endOfTextId: number): LlamaConfig {
  return { vocabSize, hiddenSize: 64, intermediateSize: 160, numLayers: 2, numHeads: 4, numKvHeads: 2, headDim: 16, maxPositions: 512, ropeTheta: 10000, rmsNormEps: 1e-5, bosTokenId: endOfTextId, eosTokenId: endOfTextId };
}

/** Options of writeLlamaFixture. */
export interface LlamaFixtureOptions {
  outDir: string;
  dtype: 'float32' | 'float16';
  seed?: number;
  /** Context length (rotary tables and config.json); default 512. */
  maxPositions?: number;
  /** Other shape changes (benches use a wider model); default: llamaTinyConfig. */
  shape?: Partial<Pick<LlamaConfig, 'hiddenSize' | 'intermediateSize' | 'numLayers' | 'numHeads' | 'numKvHeads' | 'headDim'>>;
  /** Write optimum's merged decoder (onnx/decoder_model_merged[_fp16].onnx, an If on use_cache_branch) instead. */
  merged?: boolean;
}

/**
 * Writes the folder; fp32 as onnx/model.onnx, fp16 as onnx/model_fp16.onnx (transformers.js names), or with
 * `merged` as onnx/decoder_model_merged.onnx / decoder_model_merged_fp16.onnx.
 */
export async function writeLlamaFixture(opts: LlamaFixtureOptions): Promise<{ dir: string; onnxFile: string; config: LlamaConfig }> {
  const dir = resolve(opts.outDir);
  const tok = corpusTokenizer(512);
  const config = { ...llamaTinyConfig(tok.model.vocabSize, tok.model.endOfTextId), ...(opts.maxPositions ? { maxPositions: opts.maxPositions } : {}), ...opts.shape };
  const weights = llamaWeights(config, opts.seed ?? 1);
  const model = opts.merged ? buildMergedLlamaModel(config, weights, opts.dtype) : buildLlamaModel(config, weights, opts.dtype);
  const stem = opts.merged ? 'onnx/decoder_model_merged' : 'onnx/model';
  const onnxFile = opts.dtype === 'float16' ? `${stem}_fp16.onnx` : `${stem}.onnx`;
  await mkdir(join(dir, 'onnx'), { recursive: true });
  const json = (v: unknown): string => `${JSON.stringify(v, null, 2)}\n`;
  await writeFile(join(dir, 'config.json'), json(llamaHfConfig(config, opts.dtype)));
  await writeFile(join(dir, 'generation_config.json'), json({ bos_token_id: config.bosTokenId, eos_token_id: config.eosTokenId }));
  await writeFile(join(dir, 'tokenizer.json'), json(buildTokenizerJson(tok.model)));
  await writeFile(join(dir, 'tokenizer_config.json'), json(buildTokenizerConfig(tok.model, config.maxPositions)));
  await writeFile(join(dir, onnxFile), encodeModel(model));
  return { dir, onnxFile, config };
}
