// The staged runner against the unsplit session: same outputs step by step, same greedy tokens through the
// engine's own generate(), for fp32 and quantized models, 2 and 3 stages; workers end on dispose; misuse fails
// with a clear error.
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProviderError, UsageError } from '../../src/errors.js';
import { createDecoder, type Decoder } from '../../src/engine/decoder.js';
import { generate } from '../../src/engine/generate.js';
import { type DecoderSession, openDecoderSession } from '../../src/engine/session.js';
import { StagedSlotDecoder } from '../../src/engine/staged/stagedDecoder.js';
import { loadStagedRunner, type StagedDecoderSession } from '../../src/engine/staged/stagedLoad.js';
import { quantizeModelDir } from '../../src/quantize/quantize.js';
import { maxAbsDiff, makeModel, osThreadCount, stepFeeds, tempRoot } from './helpers.js';

const root = tempRoot('runner');
let tiny = '';
let small = '';
const open: { runner: { dispose(): Promise<void> } }[] = [];

beforeAll(async () => {
  tiny = await makeModel(root.dir, 'tiny');
  small = await makeModel(root.dir, 'small');
});
afterAll(async () => {
  for (const s of open) await s.runner.dispose();
  root.cleanup();
});

async function whole(dir: string, kvMode: 'slots' | 'dense' = 'slots'): Promise<DecoderSession> {
  const s = await openDecoderSession(dir, { threads: 1, kvMode });
  open.push(s);
  return s;
}

async function staged(dir: string, plan: Parameters<typeof loadStagedRunner>[1], kvMode: 'slots' | 'dense' = 'slots'): Promise<StagedDecoderSession> {
  const s = await loadStagedRunner(dir, plan, { threads: 1, kvMode });
  open.push(s);
  return s;
}

const PROMPT = [72, 101, 108, 108, 111, 44, 32, 119, 111, 114, 108, 100];

describe('StagedRunner', () => {
  it('returns the unsplit outputs for a prefill and a decode step, each stage fed only its own cache', async () => {
    const a = await whole(tiny, 'dense');
    const b = await staged(tiny, { stages: 2 }, 'dense');
    expect(b.runner.manifest.stages.map((s) => s.inputs.filter((n) => n.startsWith('past_key_values')))).toEqual([
      ['past_key_values.0.key', 'past_key_values.0.value'],
      ['past_key_values.1.key', 'past_key_values.1.value'],
    ]);
    const shape = { numLayers: 2, heads: 4, headDim: 16 };
    const names = [...a.runner.outputNames];
    expect([...b.runner.outputNames].sort()).toEqual([...names].sort());
    const p0 = await a.runner.run(stepFeeds(shape, PROMPT, 0, null), names);
    const p1 = await b.runner.run(stepFeeds(shape, PROMPT, 0, null), names);
    for (const n of names) expect(maxAbsDiff(p0[n], p1[n]), n).toBeLessThan(1e-5);
    const past = (out: Record<string, ort.Tensor>) => (l: number, k: 'key' | 'value') => out[`present.${l}.${k}`]?.data as Float32Array;
    const d0 = await a.runner.run(stepFeeds(shape, [5], PROMPT.length, past(p0)), names);
    const d1 = await b.runner.run(stepFeeds(shape, [5], PROMPT.length, past(p1)), names);
    for (const n of names) expect(maxAbsDiff(d0[n], d1[n]), n).toBeLessThan(1e-5);
    expect((d1.logits as ort.Tensor).dims).toEqual([1, 1, 512]);
    // Only what was asked for comes back.
    expect(Object.keys(await b.runner.run(stepFeeds(shape, [5], 0, null), ['logits']))).toEqual(['logits']);
  });

  it('generates the same greedy tokens as the unsplit model (engine generate, slot and dense caches, 2 and 3 stages)', async () => {
    const cases: [string, Parameters<typeof loadStagedRunner>[1], 'slots' | 'dense'][] = [
      [tiny, { stages: 2 }, 'slots'],
      [tiny, { stages: 2 }, 'dense'],
      [small, { stages: 3 }, 'slots'],
      [small, { ranges: [[0, 2], [3, 3]] }, 'dense'],
    ];
    for (const [dir, plan, kvMode] of cases) {
      const ref = await generate(await whole(dir, kvMode), PROMPT, { maxTokens: 24, stopTokenIds: [] });
      const s = await staged(dir, plan, kvMode);
      const got = await generate(s, PROMPT, { maxTokens: 24, stopTokenIds: [] });
      expect(got.tokenIds, `${dir} ${JSON.stringify(plan)} ${kvMode}`).toEqual(ref.tokenIds);
      expect(got.tokenIds).toHaveLength(24);
      expect(new Set(got.tokenIds).size).toBeGreaterThan(1);
      // Every stage ran every step.
      for (const t of s.runner.stageTimings()) expect(t.runs).toBe(s.runner.stats.runs);
    }
  });

  it('splits and runs quantized models (int8 dynamic and int4 MatMulNBits) with unsplit results', async () => {
    for (const method of ['int8', 'int4'] as const) {
      const q = await quantizeModelDir(small, method, { outDir: join(root.dir, `small-${method}`) });
      const ref = await generate(await whole(q.outDir), PROMPT, { maxTokens: 16, stopTokenIds: [] });
      const s = await staged(q.outDir, { stages: 2 });
      // Residual stream + attention bias (float), and the engine patch's past length (int64).
      expect(s.manifest.tensors.map((t) => t.elemType).sort()).toEqual([1, 1, 7]);
      const got = await generate(s, PROMPT, { maxTokens: 16, stopTokenIds: [] });
      expect(got.tokenIds, method).toEqual(ref.tokenIds);
    }
  });

  it('keeps overlapping runs apart (they pipeline through the stages in order)', async () => {
    const s = await staged(small, { stages: 2 }, 'dense');
    const shape = { numLayers: 4, heads: 4, headDim: 64 };
    const prompts = [PROMPT, [1, 2, 3], [400, 300, 200, 100], [9]];
    const one = [];
    for (const p of prompts) one.push(await s.runner.run(stepFeeds(shape, p, 0, null), ['logits']));
    const together = await Promise.all(prompts.map((p) => s.runner.run(stepFeeds(shape, p, 0, null), ['logits'])));
    for (const [i, out] of together.entries()) expect(maxAbsDiff(out.logits, one[i]?.logits)).toBe(0);
  });

  it('ends every worker thread on dispose', async () => {
    await (await whole(tiny)).runner.run(stepFeeds({ numLayers: 2, heads: 4, headDim: 16 }, [1], 0, null), ['logits']);
    const before = await osThreadCount();
    const s = await loadStagedRunner(tiny, { stages: 2 }, { threads: 2 });
    await s.runner.run(stepFeeds({ numLayers: 2, heads: 4, headDim: 16 }, [1, 2], 0, null), ['logits']);
    expect(s.runner.liveWorkers).toBe(2);
    const during = await osThreadCount();
    await s.runner.dispose();
    expect(s.runner.liveWorkers).toBe(0);
    if (before !== null && during !== null) {
      expect(during).toBeGreaterThan(before);
      // Thread exit is reported a moment after the worker's 'exit' event.
      let after = await osThreadCount();
      for (let i = 0; i < 50 && after !== null && after > before; i++) {
        await new Promise((r) => setTimeout(r, 20));
        after = await osThreadCount();
      }
      expect(after).toBeLessThanOrEqual(before);
    }
    await expect(s.runner.run({}, ['logits'])).rejects.toThrow('staged runner is disposed');
    await s.runner.dispose();
  });

  it('reports misuse clearly', async () => {
    const s = await staged(tiny, { stages: 2 });
    await expect(s.runner.run({}, ['logits'])).rejects.toThrow('staged runner: missing input input_ids (stage 0)');
    await expect(s.runner.run(stepFeeds({ numLayers: 2, heads: 4, headDim: 16 }, [1], 0, null), ['nope'])).rejects.toThrow('staged runner: unknown output nope');
    // A failing stage fails the run, and the runner keeps working afterwards.
    const bad = stepFeeds({ numLayers: 2, heads: 4, headDim: 16 }, [1], 0, null);
    bad['past_key_values.1.key'] = new ort.Tensor('float32', new Float32Array(3), [1, 1, 1, 3]);
    await expect(s.runner.run(bad, ['logits'])).rejects.toThrow(/^stage 1: /);
    const ok = await s.runner.run(stepFeeds({ numLayers: 2, heads: 4, headDim: 16 }, [1], 0, null), ['logits']);
    expect((ok.logits as ort.Tensor).dims).toEqual([1, 1, 512]);

    await expect(loadStagedRunner(tiny, { stages: 2 }, { stages: [{ device: 'tpu' }] })).rejects.toBeInstanceOf(UsageError);
    await expect(loadStagedRunner(tiny, { stages: 2 }, { stages: [{}, {}, {}] })).rejects.toThrow('stage options given for 3 stages, but the split has 2');
    const cuda = loadStagedRunner(tiny, { stages: 2 }, { stages: [{}, { device: 'cuda' }] });
    if (ort.listSupportedBackends().some((b) => b.name === 'cuda')) await cuda.then((x) => x.runner.dispose(), () => undefined);
    else await expect(cuda).rejects.toBeInstanceOf(ProviderError);
  });
});

/** Argmax of row r of [rows x vocab] logits. */
function argmax(logits: Float32Array, r: number, vocab: number): number {
  let best = 0;
  for (let i = 1; i < vocab; i++) if ((logits[r * vocab + i] ?? -Infinity) > (logits[r * vocab + best] ?? -Infinity)) best = i;
  return best;
}

/**
 * A batch-engine-like sequence of decoder calls: two rows prefilled in chunks, decoded together, one row
 * retired (clear + move), a third prompt admitted, then all decoded; the stride grows and shrinks on the
 * way. Returns every logits array produced, in order.
 */
async function script(d: Decoder): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  const V = d.vocabSize;
  const a = PROMPT;
  const b = Array.from({ length: 40 }, (_, i) => 40 + ((i * 7) % 50));
  out.push(await d.extend(0, a.slice(0, 8)), await d.extend(0, a.slice(8)));
  out.push(await d.extend(1, b.slice(0, 32)), await d.extend(1, b.slice(32)));
  let next = [argmax(out[1] as Float32Array, 0, V), argmax(out[3] as Float32Array, 0, V)];
  for (let step = 0; step < 6; step++) {
    const logits = await d.decode(next);
    out.push(logits);
    next = next.map((_, r) => argmax(logits, r, V));
  }
  d.clearRow(0);
  d.moveRow(1, 0);
  out.push(await d.extend(1, [5, 6, 7]));
  next = [next[1] as number, argmax(out[out.length - 1] as Float32Array, 0, V)];
  for (let step = 0; step < 6; step++) {
    const logits = await d.decode(next);
    out.push(logits);
    next = next.map((_, r) => argmax(logits, r, V));
  }
  return out;
}

describe('StagedSlotDecoder (KV cache kept in the stages)', () => {
  it('produces the same logits as the engine SlotDecoder through prefill, batched decode, row moves and stride changes', async () => {
    for (const [dir, plan, microBatches] of [
      [tiny, { stages: 2 }, 1],
      [small, { stages: 3 }, 1],
      // Decode rows cut into two groups that overlap in the stages.
      [small, { stages: 2 }, 2],
    ] as const) {
      const ref = await script(createDecoder(await whole(dir), 3, 128));
      const s = await loadStagedRunner(dir, plan, { threads: 1, microBatches });
      open.push(s);
      const runsBefore = s.runner.stats.runs;
      const d = s.createDecoder(3, 128);
      expect(d).toBeInstanceOf(StagedSlotDecoder);
      const got = await script(d);
      expect(got).toHaveLength(ref.length);
      for (const [i, l] of got.entries()) {
        const r = ref[i] as Float32Array;
        expect(l.length).toBe(r.length);
        let diff = 0;
        for (let j = 0; j < l.length; j++) diff = Math.max(diff, Math.abs((l[j] ?? 0) - (r[j] ?? 0)));
        expect(diff, `call ${i}`).toBeLessThan(1e-4);
      }
      // 5 prefill runs + 12 decode steps, each decode step one run per micro-batch.
      expect(s.runner.stats.runs - runsBefore).toBe(5 + 12 * microBatches);
      // The decoder never feeds past_key_values (the runner would reject a run missing them): the stages did.
      (d as StagedSlotDecoder).release();
      await expect(d.decode([1])).rejects.toThrow('decoder released');
    }
  });
});
