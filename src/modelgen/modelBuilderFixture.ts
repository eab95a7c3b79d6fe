// Writes the llama fixture as an onnxruntime-genai model-builder folder: genai_config.json (no config.json),
// model.onnx with its weights in model.onnx.data, tokenizer.json and tokenizer_config.json: the layout of
// Microsoft's Phi / Llama / Qwen ONNX releases. Same tokenizer, config and seeded weights as
// writeLlamaFixture, so both styles compute the same function.
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { corpusTokenizer } from './corpusTokenizer.js';
import { llamaTinyConfig } from './llamaFixture.js';
import { llamaWeights, type LlamaConfig } from './llamaGraph.js';
import { buildModelBuilderLlama, type LongRope, type RotaryPlacement } from './modelBuilderGraph.js';
import { encodeModel } from '../onnx/builder.js';
import { externalizeData } from '../onnx/tensorData.js';
import { buildTokenizerConfig, buildTokenizerJson } from './tokenizerJson.js';

/** Options of writeModelBuilderFixture. */
export interface ModelBuilderFixtureOptions {
  outDir: string;
  dtype: 'float32' | 'float16';
  seed?: number;
  /** Rotary inside GroupQueryAttention (default, no position_ids) or as RotaryEmbedding nodes fed position_ids. */
  rotary?: RotaryPlacement;
  /** GroupQueryAttention local_window_size: a sliding window (position p attends the window keys up to p); default none. */
  localWindow?: number | null;
  /** Phi-3 128k-style longrope caches switched by an If on the context length (model.type phi3). */
  longrope?: LongRope;
}

/** genai_config.json as the model builder writes it (fields onnxruntime-genai reads for a decoder-only model). */
export function genaiConfig(c: LlamaConfig, filename: string, withPositionIds = false, modelType = 'llama'): Record<string, unknown> {
  return {
    model: {
      bos_token_id: c.bosTokenId,
      context_length: c.maxPositions,
      decoder: {
        session_options: { log_id: 'onnxruntime-genai', provider_options: [] },
        filename,
        head_size: c.headDim,
        hidden_size: c.hiddenSize,
        inputs: {
          input_ids: 'input_ids',
          attention_mask: 'attention_mask',
          ...(withPositionIds ? { position_ids: 'position_ids' } : {}),
          past_key_names: 'past_key_values.%d.key',
          past_value_names: 'past_key_values.%d.value',
        },
        outputs: { logits: 'logits', present_key_names: 'present.%d.key', present_value_names: 'present.%d.value' },
        num_attention_heads: c.numHeads,
        num_hidden_layers: c.numLayers,
        num_key_value_heads: c.numKvHeads,
      },
      eos_token_id: c.eosTokenId,
      pad_token_id: c.eosTokenId,
      type: modelType,
      vocab_size: c.vocabSize,
    },
    search: {
      diversity_penalty: 0,
      do_sample: false,
      early_stopping: true,
      length_penalty: 1,
      max_length: c.maxPositions,
      min_length: 0,
      no_repeat_ngram_size: 0,
      num_beams: 1,
      num_return_sequences: 1,
      past_present_share_buffer: true,
      repetition_penalty: 1,
      temperature: 1,
      top_k: 1,
      top_p: 1,
    },
  };
}

/** Writes the folder; weights go to model.onnx.data (external data, as the builder writes them). */
export async function writeModelBuilderFixture(opts: ModelBuilderFixtureOptions): Promise<{ dir: string; onnxFile: string; config: LlamaConfig }> {
  const dir = resolve(opts.outDir);
  const tok = corpusTokenizer(512);
  const config = llamaTinyConfig(tok.model.vocabSize, tok.model.endOfTextId);
  const rotary = opts.rotary ?? 'in-attention';
  const window = opts.localWindow ?? null;
  if (window !== null && !(Number.isInteger(window) && window > 0)) throw new Error(`localWindow must be a positive integer, got ${window}`);
  const model = buildModelBuilderLlama(config, llamaWeights(config, opts.seed ?? 1), opts.dtype, { rotary, localWindow: window ?? -1, longrope: opts.longrope });
  await mkdir(dir, { recursive: true });
  externalizeData(model.graph?.initializer ?? [], join(dir, 'model.onnx.data'), 'model.onnx.data');
  const json = (v: unknown): string => `${JSON.stringify(v, null, 2)}\n`;
  await writeFile(join(dir, 'genai_config.json'), json(genaiConfig(config, 'model.onnx', rotary === 'separate', opts.longrope ? 'phi3' : 'llama')));
  await writeFile(join(dir, 'tokenizer.json'), json(buildTokenizerJson(tok.model)));
  await writeFile(join(dir, 'tokenizer_config.json'), json(buildTokenizerConfig(tok.model, config.maxPositions)));
  await writeFile(join(dir, 'model.onnx'), encodeModel(model));
  return { dir, onnxFile: 'model.onnx', config };
}
