// The KV cache must not change the model's answer: logits from cached decoding (slot cache and dense cache,
// any prefill chunking) match one full forward pass without a cache.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDecoder } from '../../src/engine/decoder.js';
import { forwardLogits } from '../../src/engine/generate.js';
import { argmax } from '../../src/engine/sampler.js';
import { type DecoderSession, openDecoderSession } from '../../src/engine/session.js';
import { makeTinyModel, maxAbsDiff, writeVariant } from './helpers.js';

let fixture: Awaited<ReturnType<typeof makeTinyModel>>;
const sessions: DecoderSession[] = [];

beforeAll(async () => {
  fixture = await makeTinyModel();
});
afterAll(async () => {
  for (const s of sessions) await s.runner.dispose();
  fixture.cleanup();
});

async function open(dir: string, kvMode: 'auto' | 'dense' = 'auto'): Promise<DecoderSession> {
  const s = await openDecoderSession(dir, { threads: 1, kvMode });
  sessions.push(s);
  return s;
}

/** Greedy-decodes `steps` tokens after `prompt` with a cache; returns the tokens and each step's logits. */
async function cachedRun(session: DecoderSession, prompt: number[], steps: number, chunk: number): Promise<{ tokens: number[]; logits: Float32Array[] }> {
  const dec = createDecoder(session, 2, session.info.maxPositions);
  const V = session.info.vocabSize;
  let logits = new Float32Array(0);
  // Use row 1 so the test also covers a row that is not the first in the cache.
  for (let p = 0; p < prompt.length; p += chunk) logits = Float32Array.from(await dec.extend(1, prompt.slice(p, p + chunk)));
  const tokens: number[] = [];
  const all: Float32Array[] = [logits];
  for (let i = 0; i < steps; i++) {
    const t = argmax(logits, 0, V);
    tokens.push(t);
    logits = Float32Array.from(await dec.extend(1, [t]));
    all.push(logits);
  }
  expect(dec.length(1)).toBe(prompt.length + steps);
  return { tokens, logits: all };
}

const prompt = [5, 17, 99, 3, 250, 64, 12, 8, 200, 41, 7, 77, 150];

describe('KV-cache decoding vs full forward pass', () => {
  for (const [label, mode, chunk] of [
    ['slot cache, one prefill run', 'auto', 64],
    ['slot cache, prefill in chunks of 4', 'auto', 4],
    ['dense cache', 'dense', 5],
  ] as const) {
    it(`${label}: same logits at every position`, async () => {
      const session = await open(fixture.dir, mode);
      expect(session.kvMode).toBe(mode === 'dense' ? 'dense' : 'slots');
      const V = session.info.vocabSize;
      const { tokens, logits } = await cachedRun(session, prompt, 12, chunk);
      const full = await forwardLogits(session, [...prompt, ...tokens]);
      for (let i = 0; i < logits.length; i++) {
        const pos = prompt.length - 1 + i;
        const ref = full.subarray(pos * V, (pos + 1) * V);
        expect(maxAbsDiff(logits[i] as Float32Array, ref)).toBeLessThan(1e-4);
        expect(argmax(ref, 0, V)).toBe(argmax(logits[i] as Float32Array, 0, V));
      }
    });
  }

  it('graphs without num_logits_to_keep or position_ids (older exports) decode correctly', async () => {
    const noKeep = await open(writeVariant(fixture.dir, `${fixture.root}/nokeep`, { dropNumLogitsToKeep: true }));
    expect(noKeep.info.hasNumLogitsToKeep).toBe(false);
    expect(noKeep.kvMode).toBe('slots');
    const noPos = await open(writeVariant(fixture.dir, `${fixture.root}/nopos`, { dropPositionIds: true }));
    expect(noPos.info.hasPositionIds).toBe(false);
    expect(noPos.kvMode).toBe('dense');
    const reference = await open(fixture.dir);
    const ref = await cachedRun(reference, prompt, 8, 4);
    for (const s of [noKeep, noPos]) {
      const run = await cachedRun(s, prompt, 8, 4);
      expect(run.tokens).toEqual(ref.tokens);
      for (let i = 0; i < run.logits.length; i++) expect(maxAbsDiff(run.logits[i] as Float32Array, ref.logits[i] as Float32Array)).toBeLessThan(1e-4);
    }
  });
});
