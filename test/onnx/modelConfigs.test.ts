// config.json of the llama family (llama, mistral, qwen2, qwen3, phi3, gemma) and genai_config.json of
// model-builder folders: the fields read, and the exact errors for what llmbench does not serve.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelError } from '../../src/errors.js';
import { readArchitectureFields } from '../../src/onnx/archConfig.js';
import { readModelFolder } from '../../src/onnx/loader.js';

const base = { vocab_size: 512, hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 4096 };
const W = 'config.json';

function caught(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return null;
}

describe('llama-family config.json fields', () => {
  it.each([
    ['llama', { rope_theta: 500000, rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8192 } }, { ropeTheta: 500000, ropeScalingType: 'llama3', slidingWindow: null }],
    ['mistral', { rope_theta: 1e6, sliding_window: null }, { ropeTheta: 1e6, ropeScalingType: null, slidingWindow: null }],
    ['mistral', { sliding_window: 4096 }, { slidingWindow: 4096 }],
    ['qwen2', { rope_theta: 1e6, use_sliding_window: false, sliding_window: 1024 }, { slidingWindow: null }],
    ['qwen3', { head_dim: 128, rope_scaling: { type: 'yarn', factor: 4 } }, { headDim: 128, ropeScalingType: 'yarn' }],
    ['phi3', { rope_scaling: null, sliding_window: 8192 }, { ropeScalingType: null, slidingWindow: 8192 }],
    ['gemma', { head_dim: 256, rope_theta: 10000 }, { headDim: 256, ropeTheta: 10000 }],
  ])('%s %j reads', (modelType, extra, want) => {
    expect(readArchitectureFields({ ...base, model_type: modelType, ...extra }, W, 4096)).toMatchObject({ modelType, ...want });
  });

  it.each([
    [{ model_type: 'gemma2' }, 'config.json: model_type "gemma2" is not supported'],
    [{ model_type: 'llama', rope_scaling: { rope_type: 'dynamic', factor: 2 } }, 'config.json: rope_scaling.rope_type "dynamic" is not supported'],
    [{ model_type: 'phi3', rope_scaling: { type: 'longrope', short_factor: [1], long_factor: [2] } }, 'config.json: rope_scaling.rope_type "longrope" is not supported'],
    [{ model_type: 'llama', rope_scaling: { rope_type: 'linear' } }, 'config.json: rope_scaling.factor must be a positive number for rope_type "linear", got undefined'],
    [{ model_type: 'llama', rope_scaling: 'linear' }, 'config.json: rope_scaling must be an object or null, got "linear"'],
    [{ model_type: 'llama', rope_theta: -1 }, 'config.json: rope_theta must be a positive number, got -1'],
    [{ model_type: 'qwen3', head_dim: 12.5 }, 'config.json: head_dim must be a positive integer, got 12.5'],
    [{ model_type: 'mistral', sliding_window: 2048 }, 'config.json: sliding_window 2048 is shorter than the context in use (4096 tokens)'],
    [{ model_type: 'qwen2', use_sliding_window: true, sliding_window: 1024 }, 'config.json: sliding_window 1024 is shorter than the context in use (4096 tokens)'],
  ])('%j is refused', (extra, message) => {
    const err = caught(() => readArchitectureFields({ ...base, ...extra }, W, 4096));
    expect(err).toBeInstanceOf(ModelError);
    expect((err as Error).message).toBe(message);
  });
});

let root = '';
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'llmbench-cfg-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A folder with genai_config.json (model.decoder fields overridable), an empty model.onnx and tokenizer.json. */
function genaiFolder(name: string, decoder: Record<string, unknown> = {}, model: Record<string, unknown> = {}): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  const cfg = {
    model: {
      type: 'qwen2',
      vocab_size: 151936,
      context_length: 32768,
      eos_token_id: [151645, 151643],
      bos_token_id: 151643,
      decoder: {
        filename: 'model.onnx',
        head_size: 64,
        hidden_size: 896,
        num_attention_heads: 14,
        num_key_value_heads: 2,
        num_hidden_layers: 24,
        inputs: { input_ids: 'input_ids', attention_mask: 'attention_mask', past_key_names: 'past_key_values.%d.key', past_value_names: 'past_key_values.%d.value' },
        outputs: { logits: 'logits', present_key_names: 'present.%d.key', present_value_names: 'present.%d.value' },
        ...decoder,
      },
      ...model,
    },
    search: { max_length: 32768, past_present_share_buffer: true },
  };
  writeFileSync(join(dir, 'genai_config.json'), JSON.stringify(cfg));
  writeFileSync(join(dir, 'model.onnx'), '');
  writeFileSync(join(dir, 'tokenizer.json'), '{}');
  return dir;
}

describe('genai_config.json folders', () => {
  it('reads the decoder shape, context length and every eos id (a Qwen2-0.5B-shaped config)', () => {
    const info = readModelFolder(genaiFolder('qwen'));
    expect(info).toMatchObject({ architecture: 'llama', numLayers: 24, numHeads: 14, numKvHeads: 2, headDim: 64, hiddenSize: 896, vocabSize: 151936, maxPositions: 32768, bosTokenId: 151643, eosTokenIds: [151645, 151643] });
  });

  it.each([
    ['embeds', { inputs: { inputs_embeds: 'inputs_embeds', attention_mask: 'attention_mask' } }, {}, /model\.decoder\.inputs\.inputs_embeds is not supported/],
    ['renamed', { inputs: { input_ids: 'input_ids', past_key_names: 'past_key_%d' } }, {}, /model\.decoder\.inputs\.past_key_names is "past_key_%d"; llmbench feeds "past_key_values\.%d\.key"/],
    ['nofile', { filename: 'decoder.onnx' }, {}, /model\.decoder\.filename "decoder\.onnx" does not exist/],
    ['badheads', { num_attention_heads: 0 }, {}, /model\.decoder\.num_attention_heads must be a positive integer, got 0/],
    ['whisper', {}, { type: 'whisper' }, /model\.type "whisper" is not supported/],
    ['noctx', {}, { context_length: null }, /model\.context_length must be a positive integer, got null/],
    ['npu', { sliding_window: { window_size: 64, pad_value: 0, alignment: 'left' } }, {}, /model\.decoder\.sliding_window is not supported/],
  ])('%s is refused with the field named', (name, decoder, model, message) => {
    const err = caught(() => readModelFolder(genaiFolder(name, decoder, model)));
    expect(err).toBeInstanceOf(ModelError);
    expect((err as Error).message).toMatch(message);
  });

  it('with config.json next to it (as in Phi-3 ONNX releases), genai_config.json names the file and the shape', () => {
    const dir = genaiFolder('both', { filename: 'phi3-mini-4k-instruct-cpu-int4-rtn-block-32-acc-level-4.onnx' });
    writeFileSync(join(dir, 'phi3-mini-4k-instruct-cpu-int4-rtn-block-32-acc-level-4.onnx'), '');
    // A config.json the optimum path would refuse (sliding window shorter than the context): GQA applies it per row.
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...base, model_type: 'phi3', sliding_window: 2047, num_hidden_layers: 32 }));
    const info = readModelFolder(dir);
    expect(info.onnxPath).toBe(join(dir, 'phi3-mini-4k-instruct-cpu-int4-rtn-block-32-acc-level-4.onnx'));
    expect(info.numLayers).toBe(24);
  });

  it('a folder with neither config says both names', () => {
    const dir = join(root, 'empty');
    mkdirSync(dir, { recursive: true });
    expect(() => readModelFolder(dir)).toThrow(/missing config\.json \(and no genai_config\.json\)/);
  });

  it('config.json of an unsupported architecture is refused when the folder is read', () => {
    const dir = join(root, 'gemma2');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...base, model_type: 'gemma2' }));
    writeFileSync(join(dir, 'model.onnx'), '');
    writeFileSync(join(dir, 'tokenizer.json'), '{}');
    const err = caught(() => readModelFolder(dir)) as ModelError;
    expect(err.message).toMatch(/model_type "gemma2" is not supported/);
    expect(err.hint).toBe('Supported: gpt2, llama, mistral, qwen2, qwen3, phi3, gemma.');
  });
});
