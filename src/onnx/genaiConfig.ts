// Reads an onnxruntime-genai model-builder folder (genai_config.json next to the ONNX file, no config.json):
// the decoder's shape (heads, KV heads, head size, layers), context length, eos/bos ids, and the input/output
// name templates. llmbench's engine feeds the Hugging Face names the builder writes by default; a folder whose
// templates name other tensors is refused with the field and the supported value, rather than half-loaded.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ModelError } from '../errors.js';
import type { ModelInfo } from '../types.js';
import { checkArchitecture } from './archConfig.js';

type Json = Record<string, unknown>;

/** Input/output name templates llmbench feeds and fetches (the builder's defaults). */
export const GENAI_NAMES: Record<string, Record<string, string>> = {
  inputs: { input_ids: 'input_ids', attention_mask: 'attention_mask', position_ids: 'position_ids', past_key_names: 'past_key_values.%d.key', past_value_names: 'past_key_values.%d.value' },
  outputs: { logits: 'logits', present_key_names: 'present.%d.key', present_value_names: 'present.%d.value' },
};

/** Decoder inputs of genai_config.json that llmbench cannot feed (multimodal pipelines, embeddings in). */
const UNSUPPORTED_INPUTS = ['inputs_embeds', 'cache_indirection', 'current_sequence_length', 'past_sequence_length', 'total_sequence_length'];

/** The facts readModelFolder returns, from genai_config.json. */
export function readGenaiConfig(dir: string): Omit<ModelInfo, 'hasPositionIds' | 'kvDtype' | 'fileBytes' | 'onnxPath'> & { onnxRel: string } {
  const path = join(dir, 'genai_config.json');
  let root: Json;
  try {
    root = JSON.parse(readFileSync(path, 'utf8')) as Json;
  } catch (e) {
    throw new ModelError(`${path}: not valid JSON (${(e as Error).message})`);
  }
  const obj = (v: unknown, field: string): Json => {
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Json;
    throw new ModelError(`${path}: missing object "${field}"`, 'A model-builder folder has genai_config.json with model.decoder (see onnxruntime-genai config docs).');
  };
  const model = obj(root.model, 'model');
  const decoder = obj(model.decoder, 'model.decoder');
  const num = (o: Json, field: string, where: string): number => {
    const v = o[field];
    if (typeof v === 'number' && Number.isInteger(v) && v > 0) return v;
    throw new ModelError(`${path}: ${where}.${field} must be a positive integer, got ${JSON.stringify(v)}`);
  };
  for (const section of ['inputs', 'outputs'] as const) {
    const names = decoder[section] === undefined ? {} : obj(decoder[section], `model.decoder.${section}`);
    for (const [key, value] of Object.entries(names)) {
      const supported = GENAI_NAMES[section]?.[key];
      if (UNSUPPORTED_INPUTS.includes(key) || supported === undefined) {
        throw new ModelError(
          `${path}: model.decoder.${section}.${key} is not supported (llmbench drives text decoders fed input_ids)`,
          `Supported ${section}: ${Object.keys(GENAI_NAMES[section] ?? {}).join(', ')}.`,
        );
      }
      if (value !== supported) {
        throw new ModelError(`${path}: model.decoder.${section}.${key} is "${String(value)}"; llmbench feeds "${supported}"`, 'Re-export with the model builder\'s default names, or rename the graph\'s inputs/outputs.');
      }
    }
  }
  // Static-shape exports for NPUs (a fixed window fed chunk by chunk) and multi-session pipelines need a driver
  // of their own: refuse them by field rather than run them wrong.
  for (const field of ['sliding_window', 'pipeline']) {
    if (decoder[field] !== undefined) {
      throw new ModelError(`${path}: model.decoder.${field} is not supported (static-shape or multi-session exports)`, 'Export a single dynamic-shape decoder (the model builder\'s cpu, cuda or webgpu targets).');
    }
  }
  const modelType = typeof model.type === 'string' ? model.type : '';
  const architecture = checkArchitecture(modelType, path, 'model.type');
  const filename = typeof decoder.filename === 'string' && decoder.filename ? decoder.filename : 'model.onnx';
  if (!existsSync(join(dir, filename))) throw new ModelError(`${path}: model.decoder.filename "${filename}" does not exist in ${dir}`);
  const numHeads = num(decoder, 'num_attention_heads', 'model.decoder');
  const hiddenSize = num(decoder, 'hidden_size', 'model.decoder');
  const headDim = typeof decoder.head_size === 'number' ? num(decoder, 'head_size', 'model.decoder') : hiddenSize / numHeads;
  if (!Number.isInteger(headDim)) throw new ModelError(`${path}: model.decoder.hidden_size ${hiddenSize} is not divisible by ${numHeads} heads and head_size is missing`);
  const ids = (v: unknown): number[] => (Array.isArray(v) ? v.filter((x): x is number => typeof x === 'number') : typeof v === 'number' ? [v] : []);
  return {
    dir,
    onnxRel: filename,
    architecture,
    vocabSize: num(model, 'vocab_size', 'model'),
    numLayers: num(decoder, 'num_hidden_layers', 'model.decoder'),
    numHeads,
    numKvHeads: typeof decoder.num_key_value_heads === 'number' ? num(decoder, 'num_key_value_heads', 'model.decoder') : numHeads,
    headDim,
    hiddenSize,
    maxPositions: num(model, 'context_length', 'model'),
    bosTokenId: typeof model.bos_token_id === 'number' ? model.bos_token_id : null,
    eosTokenIds: ids(model.eos_token_id),
  };
}
