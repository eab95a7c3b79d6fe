// A Llama-style folder as optimum / transformers.js export it (plain ops: RMSNorm, rotary tables, grouped KV
// heads, SwiGLU), in fp32 (onnx/model.onnx) and fp16 (onnx/model_fp16.onnx, fp16 KV cache and logits). It
// loads through the same engine as the generated GPT-2 presets, cached decoding agrees with full-sequence
// logits, and fp16 agrees with fp32. Quantize / split / serve / eval of this folder: fixtureMatrix.test.ts.
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forwardLogits, generate } from '../../src/engine/generate.js';
import { openDecoderSession } from '../../src/engine/session.js';
import { writeLlamaFixture } from '../../src/modelgen/llamaFixture.js';
import { readModelFolder } from '../../src/onnx/loader.js';

let root = '';
let dir32 = '';
let dir16 = '';
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'llmbench-llama-'));
  dir32 = (await writeLlamaFixture({ outDir: join(root, 'llama-fp32'), dtype: 'float32' })).dir;
  dir16 = (await writeLlamaFixture({ outDir: join(root, 'llama-fp16'), dtype: 'float16' })).dir;
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function argmax(a: Float32Array, from: number, n: number): number {
  let best = 0;
  for (let j = 1; j < n; j++) if ((a[from + j] as number) > (a[from + best] as number)) best = j;
  return best;
}

const PROMPT = [5, 17, 42, 99, 7, 3];

describe('optimum-style Llama fixture', () => {
  it('config.json reads as llama with 2 KV heads for 4 query heads; the single fp16 variant is found', () => {
    const info = readModelFolder(dir32);
    expect(info.architecture).toBe('llama');
    expect([info.numHeads, info.numKvHeads, info.headDim]).toEqual([4, 2, 16]);
    expect(readModelFolder(dir16).onnxPath.endsWith(join('onnx', 'model_fp16.onnx'))).toBe(true);
  });

  it('several variants and no model.onnx: an error that lists them', () => {
    const both = join(root, 'both');
    mkdirSync(join(both, 'onnx'), { recursive: true });
    for (const f of ['config.json', 'tokenizer.json']) copyFileSync(join(dir32, f), join(both, f));
    copyFileSync(join(dir16, 'onnx', 'model_fp16.onnx'), join(both, 'onnx', 'model_fp16.onnx'));
    copyFileSync(join(dir32, 'onnx', 'model.onnx'), join(both, 'onnx', 'model_q4.onnx'));
    expect(() => readModelFolder(both)).toThrow(/several ONNX variants and no onnx\/model\.onnx: model_fp16\.onnx, model_q4\.onnx/);
  });

  it('fp32: greedy decoding with the slot KV cache equals argmax of full-sequence logits, and the dense loop agrees', async () => {
    const slots = await openDecoderSession(dir32, { threads: 1 });
    const dense = await openDecoderSession(dir32, { threads: 1, kvMode: 'dense' });
    try {
      expect(slots.kvMode).toBe('slots');
      const a = await generate(slots, PROMPT, { maxTokens: 8, stopTokenIds: [] });
      const b = await generate(dense, PROMPT, { maxTokens: 8, stopTokenIds: [] });
      expect(a.tokenIds).toHaveLength(8);
      expect(b.tokenIds).toEqual(a.tokenIds);
      const V = slots.info.vocabSize;
      const ids = [...PROMPT];
      for (const t of a.tokenIds) {
        const logits = await forwardLogits(dense, ids);
        expect(argmax(logits, (ids.length - 1) * V, V)).toBe(t);
        ids.push(t);
      }
      // Not a degenerate model: the continuation is not one token repeated.
      expect(new Set(a.tokenIds).size).toBeGreaterThan(1);
    } finally {
      await slots.runner.dispose();
      await dense.runner.dispose();
    }
  });

  it('fp16 end to end: float16 KV cache and logits, sampled from float32 copies; close to fp32 on the same tokens', async () => {
    const s16 = await openDecoderSession(dir16, { threads: 1 });
    const s32 = await openDecoderSession(dir32, { threads: 1 });
    try {
      expect(s16.info.kvDtype).toBe('float16');
      expect(s16.kvMode).toBe('slots');
      const g16 = await generate(s16, PROMPT, { maxTokens: 8, stopTokenIds: [] });
      expect(g16.tokenIds).toHaveLength(8);
      // Teacher-forced on the same ids: fp16 logits track fp32 (weights rounded to fp16, fp16 activations).
      const ids = [...PROMPT, ...g16.tokenIds];
      const [l16, l32] = [await forwardLogits(s16, ids), await forwardLogits(s32, ids)];
      expect(l16).toBeInstanceOf(Float32Array);
      const V = s32.info.vocabSize;
      let maxAbs = 0;
      let maxDiff = 0;
      let agree = 0;
      for (let p = 0; p < ids.length; p++) {
        if (argmax(l16, p * V, V) === argmax(l32, p * V, V)) agree += 1;
        for (let j = 0; j < V; j++) {
          maxAbs = Math.max(maxAbs, Math.abs(l32[p * V + j] as number));
          maxDiff = Math.max(maxDiff, Math.abs((l16[p * V + j] as number) - (l32[p * V + j] as number)));
        }
      }
      expect(maxDiff).toBeLessThan(0.05 * maxAbs);
      expect(agree).toBeGreaterThanOrEqual(ids.length - 2);
    } finally {
      await s16.runner.dispose();
      await s32.runner.dispose();
    }
  });

});
