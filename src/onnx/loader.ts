// Reads a decoder model folder in the Hugging Face ONNX layout (generated here or brought by a user):
// config.json for the shape, the ONNX file, and (once a session exists) the graph's inputs and outputs.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ModelError, UsageError } from '../errors.js';
import type { ModelInfo } from '../types.js';
import { checkArchitecture, readArchitectureFields } from './archConfig.js';
import { readGenaiConfig } from './genaiConfig.js';

/** ONNX file names tried, in order, inside a model folder. */
export const ONNX_CANDIDATES = ['onnx/model.onnx', 'model.onnx', 'onnx/decoder_model_merged.onnx', 'decoder_model_merged.onnx'];

/** Precision variants a folder offers: the <variant> of every onnx/model_<variant>.onnx (and merged decoders). */
export function listVariants(dir: string): string[] {
  const onnxDir = join(dir, 'onnx');
  if (!existsSync(onnxDir)) return [];
  const found = readdirSync(onnxDir)
    .map((f) => /^(?:model|decoder_model_merged)_([A-Za-z0-9]+)\.onnx$/.exec(f)?.[1])
    .filter((v): v is string => v !== undefined);
  return [...new Set(found)].sort();
}

/**
 * Checks a `--variant` value (letters and digits: the <variant> of onnx/model_<variant>.onnx) and returns it;
 * null stays null. Every command that takes --variant checks it here, so they all say the same thing.
 */
export function checkVariantName(variant: string | null, flag = '--variant'): string | null {
  if (variant !== null && !/^[A-Za-z0-9]+$/.test(variant)) throw new UsageError(`${flag}: letters and digits only (the <variant> of onnx/model_<variant>.onnx), got "${variant}"`);
  return variant;
}

/** The ONNX file of a chosen variant (model.variant / --variant); "fp32" or "default" is onnx/model.onnx. */
function variantFile(dir: string, variant: string): string {
  if (variant === 'fp32' || variant === 'default') {
    const plain = ONNX_CANDIDATES.find((p) => existsSync(join(dir, p)));
    if (plain) return plain;
  }
  for (const p of [`onnx/model_${variant}.onnx`, `onnx/decoder_model_merged_${variant}.onnx`, `model_${variant}.onnx`]) if (existsSync(join(dir, p))) return p;
  const have = listVariants(dir);
  const plain = ONNX_CANDIDATES.some((p) => existsSync(join(dir, p)));
  throw new ModelError(
    `${dir}: no variant "${variant}" (looked for onnx/model_${variant}.onnx, onnx/decoder_model_merged_${variant}.onnx)`,
    `Variants in this folder: ${[...(plain ? ['fp32 (onnx/model.onnx)'] : []), ...have].join(', ') || 'none'}.`,
  );
}

/**
 * transformers.js folders may hold only precision variants (onnx/model_fp16.onnx, model_q4.onnx, ...): a
 * single one is used; several are an error listing them, since the choice changes what is measured.
 */
function onlyVariant(dir: string): string {
  const onnxDir = join(dir, 'onnx');
  const variants = existsSync(onnxDir) ? readdirSync(onnxDir).filter((f) => /^(model|decoder_model_merged)_[A-Za-z0-9]+\.onnx$/.test(f)).sort() : [];
  if (variants.length === 1) return join('onnx', variants[0] as string);
  if (variants.length > 1) {
    throw new ModelError(`${dir}: several ONNX variants and no onnx/model.onnx: ${variants.join(', ')}`, `Pick one with --variant (model.variant in a scenario): ${listVariants(dir).join(', ')}.`);
  }
  throw new ModelError(`${dir}: no ONNX file (looked for ${ONNX_CANDIDATES.join(', ')}, onnx/model_<variant>.onnx)`, 'Export the model to ONNX with KV cache (e.g. optimum-cli export onnx --task text-generation-with-past).');
}

/** Graph-level facts the engine needs beyond config.json. */
export interface GraphIO {
  hasPositionIds: boolean;
  hasNumLogitsToKeep: boolean;
  /**
   * Attention is onnxruntime's GroupQueryAttention (model-builder exports): it takes each row's length from
   * attention_mask's sum and derives rotary positions from it, so the graph needs no position_ids.
   */
  groupQueryAttention?: boolean;
  kvDtype: 'float32' | 'float16';
}

/** Everything the loader learned about a folder. */
export type LoadedModelInfo = ModelInfo & { hasNumLogitsToKeep: boolean; groupQueryAttention?: boolean };

type Json = Record<string, unknown>;

/** Reads config.json and locates the ONNX file; throws ModelError naming what is missing. */
export function readModelFolder(dirIn: string, variant: string | null = null): Omit<ModelInfo, 'hasPositionIds' | 'kvDtype'> {
  const dir = resolve(dirIn);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new ModelError(`model folder not found: ${dir}`, 'Pass a folder with config.json and onnx/model.onnx, or a preset name (tiny, small, gpt2).');
  }
  const cfgPath = join(dir, 'config.json');
  // Model-builder releases often carry the Hugging Face config.json too, but genai_config.json names the ONNX
  // file (e.g. phi3-mini-4k-instruct-cpu-int4-rtn-block-32-acc-level-4.onnx) and describes the graph as built.
  if (existsSync(join(dir, 'genai_config.json'))) return readGenaiFolder(dir);
  if (!existsSync(cfgPath)) {
    throw new ModelError(`${dir}: missing config.json (and no genai_config.json)`, 'A model folder needs config.json (Hugging Face / optimum layout) or genai_config.json (onnxruntime-genai model builder).');
  }
  let cfg: Json;
  try {
    cfg = JSON.parse(readFileSync(cfgPath, 'utf8')) as Json;
  } catch (e) {
    throw new ModelError(`${cfgPath}: not valid JSON (${(e as Error).message})`);
  }
  const onnxRel = variant !== null ? variantFile(dir, variant) : (ONNX_CANDIDATES.find((p) => existsSync(join(dir, p))) ?? onlyVariant(dir));
  if (!existsSync(join(dir, 'tokenizer.json'))) throw new ModelError(`${dir}: missing tokenizer.json`, 'The tokenizer is needed to encode prompts and count tokens.');

  const modelType = String(cfg.model_type ?? '');
  const num = (field: string, ...alts: string[]): number => {
    for (const f of [field, ...alts]) {
      const v = cfg[f];
      if (typeof v === 'number' && Number.isFinite(v)) return v;
    }
    throw new ModelError(`${cfgPath}: missing numeric field "${field}"${alts.length ? ` (or ${alts.join(', ')})` : ''}`);
  };
  const architecture = checkArchitecture(modelType, cfgPath);
  const numLayers = num('num_hidden_layers', 'n_layer');
  const numHeads = num('num_attention_heads', 'n_head');
  const hiddenSize = num('hidden_size', 'n_embd');
  const numKvHeads = typeof cfg.num_key_value_heads === 'number' ? cfg.num_key_value_heads : numHeads;
  const headDim = typeof cfg.head_dim === 'number' ? cfg.head_dim : hiddenSize / numHeads;
  if (!Number.isInteger(headDim)) throw new ModelError(`${cfgPath}: hidden size ${hiddenSize} is not divisible by ${numHeads} heads`);
  const eos = cfg.eos_token_id;
  const eosTokenIds = Array.isArray(eos) ? eos.filter((x): x is number => typeof x === 'number') : typeof eos === 'number' ? [eos] : [];
  const maxPositions = num('max_position_embeddings', 'n_positions', 'n_ctx');
  if (architecture === 'llama') readArchitectureFields(cfg, cfgPath, maxPositions);
  const onnxPath = join(dir, onnxRel);
  return {
    dir,
    onnxPath,
    architecture,
    vocabSize: num('vocab_size'),
    numLayers,
    numHeads,
    numKvHeads,
    headDim,
    hiddenSize,
    maxPositions,
    bosTokenId: typeof cfg.bos_token_id === 'number' ? cfg.bos_token_id : null,
    eosTokenIds,
    fileBytes: onnxFileBytes(onnxPath),
  };
}

/** An onnxruntime-genai model-builder folder: genai_config.json names the ONNX file and the decoder's shape. */
function readGenaiFolder(dir: string): Omit<ModelInfo, 'hasPositionIds' | 'kvDtype'> {
  const { onnxRel, ...facts } = readGenaiConfig(dir);
  if (!existsSync(join(dir, 'tokenizer.json'))) throw new ModelError(`${dir}: missing tokenizer.json`, 'The tokenizer is needed to encode prompts and count tokens.');
  const onnxPath = join(dir, onnxRel);
  return { ...facts, onnxPath, fileBytes: onnxFileBytes(onnxPath) };
}

/** Bytes of the ONNX file plus external data files next to it (`model.onnx_data` and friends). */
export function onnxFileBytes(onnxPath: string): number {
  let total = statSync(onnxPath).size;
  for (const ext of ['_data', '.data']) {
    const p = onnxPath + ext;
    if (existsSync(p)) total += statSync(p).size;
  }
  return total;
}

/**
 * Checks a session's input/output names against what a KV-cache decoder must have and returns the
 * graph facts. Throws ModelError naming the first missing input or output.
 */
export function checkGraphIO(
  info: Pick<ModelInfo, 'numLayers' | 'onnxPath'>,
  inputNames: readonly string[],
  outputNames: readonly string[],
  inputTypes: ReadonlyMap<string, string> = new Map(),
): GraphIO {
  const need = (names: readonly string[], n: string, kind: string): void => {
    if (!names.includes(n)) {
      throw new ModelError(
        `${info.onnxPath}: graph has no ${kind} "${n}" (has: ${names.slice(0, 8).join(', ')}${names.length > 8 ? ', ...' : ''})`,
        'llmbench needs a decoder exported with KV cache: inputs input_ids, attention_mask, past_key_values.{i}.key|value; outputs logits, present.{i}.key|value.',
      );
    }
  };
  need(inputNames, 'input_ids', 'input');
  need(inputNames, 'attention_mask', 'input');
  need(outputNames, 'logits', 'output');
  for (let i = 0; i < info.numLayers; i++) {
    need(inputNames, `past_key_values.${i}.key`, 'input');
    need(inputNames, `past_key_values.${i}.value`, 'input');
    need(outputNames, `present.${i}.key`, 'output');
    need(outputNames, `present.${i}.value`, 'output');
  }
  const kvType = inputTypes.get('past_key_values.0.key');
  return {
    hasPositionIds: inputNames.includes('position_ids'),
    hasNumLogitsToKeep: inputNames.includes('num_logits_to_keep'),
    kvDtype: kvType === 'float16' ? 'float16' : 'float32',
  };
}
