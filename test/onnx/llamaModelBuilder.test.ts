// The llama fixture written as an onnxruntime-genai model-builder folder (genai_config.json, model.onnx +
// model.onnx.data, no config.json; SimplifiedLayerNormalization / SkipSimplifiedLayerNormalization, packed
// Q/K/V into GroupQueryAttention with rotary inside, seqlens from attention_mask, no position_ids) in fp32
// and fp16. Same seeded weights as the optimum-style folder, so greedy decoding must agree token for token;
// batched decoding of rows of different lengths must equal each row alone (GQA's per-row lengths over the
// slot cache). Quantize / split / serve / eval of both precisions: fixtureMatrix.test.ts.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDecoder } from '../../src/engine/decoder.js';
import { forwardLogits, generate } from '../../src/engine/generate.js';
import { openDecoderSession } from '../../src/engine/session.js';
import { writeLlamaFixture } from '../../src/modelgen/llamaFixture.js';
import { readModelFolder } from '../../src/onnx/loader.js';
import { writeModelBuilderFixture } from '../../src/modelgen/modelBuilderFixture.js';
import { decodeModel } from '../../src/onnx/builder.js';

let root = '';
let mb32 = '';
let mb16 = '';
let opt32 = '';
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'llmbench-mb-'));
  mb32 = (await writeModelBuilderFixture({ outDir: join(root, 'mb-fp32'), dtype: 'float32' })).dir;
  mb16 = (await writeModelBuilderFixture({ outDir: join(root, 'mb-fp16'), dtype: 'float16' })).dir;
  opt32 = (await writeLlamaFixture({ outDir: join(root, 'opt-fp32'), dtype: 'float32' })).dir;
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const PROMPT = [5, 17, 42, 99, 7, 3];

function argmax(a: Float32Array, from: number, n: number): number {
  let best = 0;
  for (let j = 1; j < n; j++) if ((a[from + j] as number) > (a[from + best] as number)) best = j;
  return best;
}

describe('model-builder-style Llama fixture', () => {
  it('is the builder layout: genai_config.json and external data, contrib ops, no config.json, no position_ids', () => {
    for (const f of ['genai_config.json', 'model.onnx', 'model.onnx.data', 'tokenizer.json']) expect(existsSync(join(mb32, f))).toBe(true);
    expect(existsSync(join(mb32, 'config.json'))).toBe(false);
    const g = decodeModel(readFileSync(join(mb32, 'model.onnx'))).graph;
    const ops = new Set((g?.node ?? []).map((n) => `${n.domain ?? ''}:${n.opType ?? ''}`));
    for (const op of ['com.microsoft:GroupQueryAttention', 'com.microsoft:SkipSimplifiedLayerNormalization', ':SimplifiedLayerNormalization', ':ReduceSum']) expect(ops.has(op)).toBe(true);
    expect((g?.input ?? []).map((v) => v.name)).not.toContain('position_ids');
    const gqa = (g?.node ?? []).find((n) => n.opType === 'GroupQueryAttention');
    expect(Number(gqa?.attribute?.find((a) => a.name === 'do_rotary')?.i)).toBe(1);
  });

  it('genai_config.json gives the shape: 4 query heads over 2 KV heads, head size 16, context 512, eos', () => {
    const info = readModelFolder(mb32);
    expect(info.architecture).toBe('llama');
    expect([info.numLayers, info.numHeads, info.numKvHeads, info.headDim, info.maxPositions]).toEqual([2, 4, 2, 16, 512]);
    expect(info.onnxPath).toBe(join(mb32, 'model.onnx'));
    // The weights live in model.onnx.data, counted in the file size.
    expect(info.fileBytes).toBeGreaterThan(readFileSync(join(mb32, 'model.onnx')).length * 10);
    expect(info.eosTokenIds).toHaveLength(1);
  });

  it('fp32: slot-cache greedy tokens equal the optimum-style folder with the same weights, and full-sequence logits agree', async () => {
    const mb = await openDecoderSession(mb32, { threads: 1 });
    const opt = await openDecoderSession(opt32, { threads: 1 });
    try {
      expect(mb.kvMode).toBe('slots');
      expect(mb.info.groupQueryAttention).toBe(true);
      expect(mb.info.hasPositionIds).toBe(false);
      const a = await generate(mb, PROMPT, { maxTokens: 12, stopTokenIds: [] });
      const b = await generate(opt, PROMPT, { maxTokens: 12, stopTokenIds: [] });
      expect(a.tokenIds).toHaveLength(12);
      expect(a.tokenIds).toEqual(b.tokenIds);
      expect(new Set(a.tokenIds).size).toBeGreaterThan(1);
      // The fallback loop (ORT's own present tensors fed back, all-ones mask) agrees too.
      const dense = await openDecoderSession(mb32, { threads: 1, kvMode: 'dense' });
      try {
        expect((await generate(dense, PROMPT, { maxTokens: 12, stopTokenIds: [] })).tokenIds).toEqual(a.tokenIds);
      } finally {
        await dense.runner.dispose();
      }
      const ids = [...PROMPT, ...a.tokenIds];
      const [la, lb] = [await forwardLogits(mb, ids), await forwardLogits(opt, ids)];
      let maxAbs = 0;
      let maxDiff = 0;
      for (let i = 0; i < lb.length; i++) {
        maxAbs = Math.max(maxAbs, Math.abs(lb[i] as number));
        maxDiff = Math.max(maxDiff, Math.abs((la[i] as number) - (lb[i] as number)));
      }
      expect(maxDiff).toBeLessThan(1e-3 * maxAbs);
    } finally {
      await mb.runner.dispose();
      await opt.runner.dispose();
    }
  });

  it('with RotaryEmbedding nodes fed position_ids (GQA do_rotary=0, the DirectML layout) it decodes the same tokens', async () => {
    const dir = (await writeModelBuilderFixture({ outDir: join(root, 'mb-rope'), dtype: 'float32', rotary: 'separate' })).dir;
    const ops = new Set((decodeModel(readFileSync(join(dir, 'model.onnx'))).graph?.node ?? []).map((n) => n.opType));
    expect(ops.has('RotaryEmbedding')).toBe(true);
    const s = await openDecoderSession(dir, { threads: 1 });
    const opt = await openDecoderSession(opt32, { threads: 1 });
    try {
      expect([s.kvMode, s.info.hasPositionIds, s.info.groupQueryAttention]).toEqual(['slots', true, true]);
      const prompts = [PROMPT, [9, 8, 7]];
      const dec = createDecoder(s, 2, 64);
      const V = s.info.vocabSize;
      let next = [];
      for (let r = 0; r < 2; r++) next.push(argmax(await dec.extend(r, prompts[r] as number[]), 0, V));
      const got: number[][] = next.map((t) => [t]);
      for (let step = 1; step < 6; step++) {
        const logits = await dec.decode(next);
        next = next.map((_, r) => argmax(logits, r * V, V));
        next.forEach((t, r) => got[r]?.push(t));
      }
      for (let r = 0; r < 2; r++) expect(got[r]).toEqual((await generate(opt, prompts[r] as number[], { maxTokens: 6, stopTokenIds: [] })).tokenIds);
    } finally {
      await s.runner.dispose();
      await opt.runner.dispose();
    }
  });

  it('rows of different lengths decoded in one batch equal each row decoded alone (per-row GQA lengths over the slot cache)', async () => {
    const s = await openDecoderSession(mb32, { threads: 1 });
    const opt = await openDecoderSession(opt32, { threads: 1 });
    try {
      const prompts = [PROMPT, [9, 8, 7], [300, 1, 2, 3, 4, 5, 6, 7, 8, 9]];
      // Each row alone, decoded by the optimum-style graph (plain ops, explicit position_ids).
      const alone = [];
      for (const p of prompts) alone.push((await generate(opt, p, { maxTokens: 6, stopTokenIds: [] })).tokenIds);
      const dec = createDecoder(s, prompts.length, 128);
      const V = s.info.vocabSize;
      let next = [];
      for (let r = 0; r < prompts.length; r++) next.push(argmax(await dec.extend(r, prompts[r] as number[]), 0, V));
      const got: number[][] = next.map((t) => [t]);
      for (let step = 1; step < 6; step++) {
        const logits = await dec.decode(next);
        next = next.map((_, r) => argmax(logits, r * V, V));
        next.forEach((t, r) => got[r]?.push(t));
      }
      expect(got).toEqual(alone);
    } finally {
      await s.runner.dispose();
      await opt.runner.dispose();
    }
  });

  it('fp16: float16 KV and logits through GroupQueryAttention on CPU, close to fp32 on the same tokens', async () => {
    const s16 = await openDecoderSession(mb16, { threads: 1 });
    const s32 = await openDecoderSession(mb32, { threads: 1 });
    try {
      expect(s16.info.kvDtype).toBe('float16');
      expect(s16.kvMode).toBe('slots');
      const g16 = await generate(s16, PROMPT, { maxTokens: 8, stopTokenIds: [] });
      expect(g16.tokenIds).toHaveLength(8);
      const ids = [...PROMPT, ...g16.tokenIds];
      const [l16, l32] = [await forwardLogits(s16, ids), await forwardLogits(s32, ids)];
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
