// A sliding-window model as the model builder writes one (GroupQueryAttention's local_window_size: position p
// attends the window keys p - window + 1 .. p, as onnxruntime 1.30's CPU kernel does; a reference one key wider
// decodes other tokens, checked below). GQA applies the window from each row's own length (the mask's sum), so
// llmbench's slot KV cache (rows padded to a shared stride) decodes it exactly: rows of different lengths in
// one batch must give the tokens of a full-sequence, plain-ops reference with the same window and weights.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDecoder } from '../../src/engine/decoder.js';
import { openDecoderSession } from '../../src/engine/session.js';
import { buildLlamaModel, llamaWeights, type LlamaConfig } from '../../src/modelgen/llamaGraph.js';
import { writeModelBuilderFixture } from '../../src/modelgen/modelBuilderFixture.js';
import { decodeModel, encodeModel } from '../../src/onnx/builder.js';

const WINDOW = 4;
const PROMPTS = [
  [5, 17, 42, 99, 7, 3, 11, 250, 64, 9],
  [9, 8, 7],
  [300, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13, 14],
];
const STEPS = 6;

let root = '';
let windowed = '';
let config: LlamaConfig;
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'llmbench-window-'));
  const w = await writeModelBuilderFixture({ outDir: join(root, 'mb-window'), dtype: 'float32', localWindow: WINDOW });
  windowed = w.dir;
  config = w.config;
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function argmax(a: Float32Array, from: number, n: number): number {
  let best = 0;
  for (let j = 1; j < n; j++) if ((a[from + j] as number) > (a[from + best] as number)) best = j;
  return best;
}

/** Greedy tokens of a plain-ops graph run on the whole sequence each step (no cache: exact positions). */
async function referenceGreedy(window: number | null, prompt: number[]): Promise<number[]> {
  const bytes = encodeModel(buildLlamaModel(config, llamaWeights(config, 1), 'float32', { localWindow: window }));
  const s = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  try {
    const ids = [...prompt];
    const out: number[] = [];
    for (let step = 0; step < STEPS; step++) {
      const n = ids.length;
      const feeds: Record<string, ort.Tensor> = {
        input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, n]),
        attention_mask: new ort.Tensor('int64', new BigInt64Array(n).fill(1n), [1, n]),
        position_ids: new ort.Tensor('int64', BigInt64Array.from(ids.map((_, i) => BigInt(i))), [1, n]),
      };
      for (let i = 0; i < config.numLayers; i++) {
        for (const kind of ['key', 'value']) feeds[`past_key_values.${i}.${kind}`] = new ort.Tensor('float32', new Float32Array(0), [1, config.numKvHeads, 0, config.headDim]);
      }
      const logits = (await s.run(feeds)).logits as ort.Tensor;
      const next = argmax(logits.data as Float32Array, (n - 1) * config.vocabSize, config.vocabSize);
      out.push(next);
      ids.push(next);
    }
    return out;
  } finally {
    await s.release();
  }
}

describe('sliding window (GroupQueryAttention local_window_size) on the slot KV cache', () => {
  it('the fixture carries the window in every GroupQueryAttention node', () => {
    const nodes = (decodeModel(readFileSync(join(windowed, 'model.onnx'))).graph?.node ?? []).filter((n) => n.opType === 'GroupQueryAttention');
    expect(nodes).toHaveLength(config.numLayers);
    expect(nodes.map((n) => Number(n.attribute?.find((a) => a.name === 'local_window_size')?.i))).toEqual([WINDOW, WINDOW]);
  });

  it('rows of different lengths decoded in one batch equal a full-sequence reference with the same window (not no window, not one key wider)', async () => {
    const expected: number[][] = [];
    const unwindowed: number[][] = [];
    const wider: number[][] = [];
    for (const p of PROMPTS) {
      expected.push(await referenceGreedy(WINDOW, p));
      unwindowed.push(await referenceGreedy(null, p));
      wider.push(await referenceGreedy(WINDOW + 1, p));
    }
    // The window changes what the model says, and its exact width does too (else this test could not tell a
    // dropped or off-by-one window apart).
    expect(unwindowed).not.toEqual(expected);
    expect(wider).not.toEqual(expected);

    const s = await openDecoderSession(windowed, { threads: 1 });
    try {
      expect([s.kvMode, s.info.groupQueryAttention]).toEqual(['slots', true]);
      const dec = createDecoder(s, PROMPTS.length, 128);
      const V = s.info.vocabSize;
      let next: number[] = [];
      for (let r = 0; r < PROMPTS.length; r++) next.push(argmax(await dec.extend(r, PROMPTS[r] as number[]), 0, V));
      const got: number[][] = next.map((t) => [t]);
      for (let step = 1; step < STEPS; step++) {
        const logits = await dec.decode(next);
        next = next.map((_, r) => argmax(logits, r * V, V));
        next.forEach((t, r) => got[r]?.push(t));
      }
      expect(got).toEqual(expected);
    } finally {
      await s.runner.dispose();
    }
  });
});
