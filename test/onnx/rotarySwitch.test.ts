// A Phi-3 128k-style model-builder folder (longrope: an If picks long- or short-factor rotary caches by the
// attention mask's width) runs in onnxruntime as written, and llmbench refuses it by name: in the slot KV cache
// the mask's width is the batch's padded stride, so the switch would rotate rows with the wrong frequencies.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/program.js';
import { openDecoderSession } from '../../src/engine/session.js';
import { ModelError } from '../../src/errors.js';
import { writeModelBuilderFixture } from '../../src/modelgen/modelBuilderFixture.js';

let root = '';
let dir = '';
let plain = '';
const ORIGINAL = 8;
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'llmbench-longrope-'));
  const half = 8;
  dir = (
    await writeModelBuilderFixture({
      outDir: join(root, 'phi3-longrope'),
      dtype: 'float32',
      longrope: { originalMaxPositions: ORIGINAL, shortFactor: Array.from({ length: half }, () => 1), longFactor: Array.from({ length: half }, (_, d) => 1 + d) },
    })
  ).dir;
  plain = (await writeModelBuilderFixture({ outDir: join(root, 'plain'), dtype: 'float32' })).dir;
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Last-position logits of one cache-less run over `n` tokens. */
async function lastLogits(s: ort.InferenceSession, n: number): Promise<Float32Array> {
  const feeds: Record<string, ort.Tensor> = {
    input_ids: new ort.Tensor('int64', BigInt64Array.from({ length: n }, (_, i) => BigInt(5 + i)), [1, n]),
    attention_mask: new ort.Tensor('int64', new BigInt64Array(n).fill(1n), [1, n]),
  };
  for (let i = 0; i < 2; i++) for (const kind of ['key', 'value']) feeds[`past_key_values.${i}.${kind}`] = new ort.Tensor('float32', new Float32Array(0), [1, 2, 0, 16]);
  const logits = (await s.run(feeds)).logits as ort.Tensor;
  const V = logits.dims[2] as number;
  return (logits.data as Float32Array).slice((n - 1) * V, n * V);
}

describe('longrope rotary switch (model-builder phi3)', () => {
  it('onnxruntime runs the folder as written: up to the original context it computes the unscaled model, past it the long caches change the logits', async () => {
    const s = await ort.InferenceSession.create(join(dir, 'model.onnx'), { intraOpNumThreads: 1 });
    const ref = await ort.InferenceSession.create(join(plain, 'model.onnx'), { intraOpNumThreads: 1 });
    try {
      // Short factors are all 1: the same caches as the plain folder (same weights).
      expect(await lastLogits(s, ORIGINAL)).toEqual(await lastLogits(ref, ORIGINAL));
      const long = await lastLogits(s, ORIGINAL + 1);
      expect(long.every(Number.isFinite)).toBe(true);
      expect(long).not.toEqual(await lastLogits(ref, ORIGINAL + 1));
    } finally {
      await s.release();
      await ref.release();
    }
  });

  it('openDecoderSession refuses it, naming the If node, the cache input and why', async () => {
    const err = await openDecoderSession(dir, { threads: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ModelError);
    expect((err as Error).message).toMatch(/model\.onnx: If node "If_\d+" chooses the cos_cache of GroupQueryAttention "GroupQueryAttention_\d+" by sequence length \(longrope rotary scaling/);
    expect((err as ModelError).hint).toContain("llmbench's KV cache is the batch's padded stride");
  });

  it('llmbench generate exits non-zero with that one line', async () => {
    let err = '';
    const e = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((err += String(s)), true));
    const o = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      expect(await main(['node', 'llmbench', 'generate', '--model', dir, '--prompt', 'The river', '--max-tokens', '2', '--threads', '1'])).not.toBe(0);
    } finally {
      e.mockRestore();
      o.mockRestore();
    }
    expect(err).toContain('longrope rotary scaling');
  });
});
