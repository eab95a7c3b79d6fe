// Continuous batching must not change any sequence's tokens: a sequence gives the same output alone and in a
// batch (different prompt lengths, a sequence joining mid-way, one cancelled), greedy and seeded sampling.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchEngine } from '../../src/engine/batchEngine.js';
import { generate } from '../../src/engine/generate.js';
import { UsageError } from '../../src/errors.js';
import type { SamplingParams, SequenceRequest, TokenEvent } from '../../src/types.js';
import { makeTinyModel } from './helpers.js';

let fixture: Awaited<ReturnType<typeof makeTinyModel>>;
let engine: BatchEngine;

beforeAll(async () => {
  fixture = await makeTinyModel();
  // A small chunk makes the longer prompts take several steps to prefill, interleaved with decoding.
  engine = await BatchEngine.load({ modelDir: fixture.dir, maxBatch: 4, threads: 1, prefillChunk: 8 });
});
afterAll(async () => {
  await engine.dispose();
  fixture.cleanup();
});

const greedy: SamplingParams = { temperature: 0, topP: 1, seed: null };
const hot = (seed: number): SamplingParams => ({ temperature: 1, topP: 1, seed });
const prompts: number[][] = [
  [10, 20, 30],
  Array.from({ length: 37 }, (_, i) => (i * 31 + 7) % 256),
  Array.from({ length: 11 }, (_, i) => (i * 13 + 100) % 256),
  Array.from({ length: 60 }, (_, i) => (i * 7 + 1) % 256),
  [1, 2],
  Array.from({ length: 23 }, (_, i) => (i * 17 + 3) % 256),
];

function request(i: number, sampling: SamplingParams = greedy, maxTokens = 12 + i * 3): SequenceRequest {
  return { id: `s${i}`, promptIds: prompts[i] as number[], maxTokens, sampling, stopTokenIds: [] };
}

/** Steps until the engine is idle (bounded), collecting tokens per id; `onStep` may add or cancel between steps. */
async function drain(onStep: (step: number) => void = () => {}): Promise<{ tokens: Map<string, number[]>; finish: Map<string, string>; maxRunning: number }> {
  const tokens = new Map<string, number[]>();
  const finish = new Map<string, string>();
  let maxRunning = 0;
  for (let step = 0; step < 500; step++) {
    onStep(step);
    if (engine.running + engine.waiting === 0) break;
    const events: TokenEvent[] = await engine.step();
    maxRunning = Math.max(maxRunning, engine.running);
    for (const e of events) {
      tokens.set(e.id, [...(tokens.get(e.id) ?? []), e.tokenId]);
      if (e.finishReason) finish.set(e.id, e.finishReason);
    }
  }
  expect(engine.running + engine.waiting).toBe(0);
  return { tokens, finish, maxRunning };
}

async function alone(i: number, sampling: SamplingParams = greedy, maxTokens = 12 + i * 3): Promise<number[]> {
  engine.add(request(i, sampling, maxTokens));
  const { tokens } = await drain();
  return tokens.get(`s${i}`) ?? [];
}

describe('BatchEngine', () => {
  for (const mode of ['greedy', 'sampled'] as const) {
  it(`batched ${mode} decoding equals one-by-one decoding (mixed prompt lengths, late joiners)`, async () => {
    const params = (i: number): SamplingParams => (mode === 'greedy' ? greedy : hot(100 + i));
    const request = (i: number): SequenceRequest => ({ id: `s${i}`, promptIds: prompts[i] as number[], maxTokens: 12 + i * 3, sampling: params(i), stopTokenIds: [] });
    const solo: number[][] = [];
    for (let i = 0; i < prompts.length; i++) {
      engine.add(request(i));
      solo.push((await drain()).tokens.get(`s${i}`) ?? []);
    }
    // generate() on the idle engine agrees with the engine run alone.
    const g = await generate(engine, prompts[1] as number[], { maxTokens: 15, stopTokenIds: [], sampling: params(1) });
    expect(g.tokenIds).toEqual(solo[1]);

    for (let i = 0; i < 4; i++) engine.add(request(i));
    const { tokens, finish, maxRunning } = await drain((step) => {
      if (step === 3) engine.add(request(4));
      if (step === 9) engine.add(request(5));
    });
    expect(maxRunning).toBe(4);
    for (let i = 0; i < prompts.length; i++) {
      expect(tokens.get(`s${i}`), `sequence ${i}`).toEqual(solo[i]);
      expect(finish.get(`s${i}`)).toBe('length');
    }
  });
  }

  it('a sequence leaving while another is half-prefilled keeps both caches intact', async () => {
    // Sampled at temperature 1, tokens depend on the whole distribution, so a wrong cache shows up even where
    // this random model's argmax would not move.
    const long = Array.from({ length: 60 }, (_, i) => (i * 5 + 9) % 256);
    const soloA = await alone(0, hot(1), 3);
    const soloB = await alone(2, hot(2), 30);
    engine.add({ id: 'C', promptIds: long, maxTokens: 10, sampling: hot(3), stopTokenIds: [] });
    const soloC = (await drain()).tokens.get('C');
    // A (3 tokens) and B start; C's 60-token prompt needs 8 chunks of 8, so A finishes mid-prefill.
    engine.add(request(0, hot(1), 3));
    engine.add(request(2, hot(2), 30));
    const { tokens } = await drain((step) => {
      if (step === 1) engine.add({ id: 'C', promptIds: long, maxTokens: 10, sampling: hot(3), stopTokenIds: [] });
    });
    expect(tokens.get('s0')).toEqual(soloA);
    expect(tokens.get('s2')).toEqual(soloB);
    expect(tokens.get('C')).toEqual(soloC);
  });

  it('seeded sampling: same seed gives the same tokens alone and batched; other seeds differ', async () => {
    const a = await alone(3, hot(11), 30);
    const again = await alone(3, hot(11), 30);
    expect(again).toEqual(a);
    const other = await alone(3, hot(12), 30);
    expect(other).not.toEqual(a);
    engine.add(request(0));
    engine.add(request(3, hot(11), 30));
    engine.add(request(1, hot(5), 30));
    const { tokens } = await drain();
    expect(tokens.get('s3')).toEqual(a);
  });

  it('cancel removes a sequence from the queue or the running batch; the rest are unaffected', async () => {
    const solo2 = await alone(2);
    engine.add(request(0, greedy, 40));
    engine.add(request(2));
    engine.add(request(5));
    expect(engine.cancel('s5')).toBe(true); // still waiting
    expect(engine.waiting).toBe(2);
    const { tokens } = await drain((step) => {
      if (step === 2) {
        expect(engine.running).toBe(2);
        expect(engine.cancel('s0')).toBe(true); // running
        expect(engine.running).toBe(1);
      }
    });
    expect(tokens.has('s5')).toBe(false);
    expect((tokens.get('s0') ?? []).length).toBeLessThan(40);
    expect(tokens.get('s2')).toEqual(solo2);
    expect(engine.cancel('s0')).toBe(false);
    expect(engine.cancel('nope')).toBe(false);
  });

  it('stops on a stop token, at maxTokens, and at the context limit', async () => {
    const solo = await alone(0, greedy, 10);
    const stopAt = solo[4] as number;
    const firstIdx = solo.indexOf(stopAt);
    engine.add({ ...request(0, greedy, 10), stopTokenIds: [stopAt] });
    const r = await drain();
    expect(r.tokens.get('s0')).toEqual(solo.slice(0, firstIdx + 1));
    expect(r.finish.get('s0')).toBe('stop');

    const small = await BatchEngine.load({ modelDir: fixture.dir, maxBatch: 2, threads: 1, maxContext: 20 });
    try {
      small.add({ id: 'c', promptIds: (prompts[5] as number[]).slice(0, 15), maxTokens: 50, sampling: greedy, stopTokenIds: [] });
      small.add({ id: 'e', promptIds: (prompts[5] as number[]).slice(0, 20), maxTokens: 50, sampling: greedy, stopTokenIds: [] });
      expect(() => small.add({ id: 'd', promptIds: prompts[1] as number[], maxTokens: 5, sampling: greedy, stopTokenIds: [] })).toThrow(UsageError);
      const events: TokenEvent[] = [];
      for (let i = 0; i < 40 && small.running + small.waiting > 0; i++) events.push(...(await small.step()));
      // Prompt + output never exceeds the context of 20 tokens.
      expect(events.filter((e) => e.id === 'c').length).toBe(5);
      expect(events.filter((e) => e.id === 'e').length).toBe(1);
      expect(events.filter((e) => e.finishReason === 'length').map((e) => e.id).sort()).toEqual(['c', 'e']);
    } finally {
      await small.dispose();
    }
  });

  it('rejects requests that can never run', () => {
    expect(() => engine.add({ ...request(0), promptIds: [] })).toThrow(/empty prompt/);
    expect(() => engine.add({ ...request(0), maxTokens: 0 })).toThrow(/maxTokens/);
    expect(() => engine.add({ ...request(0), promptIds: [1, 99999] })).toThrow(/outside the vocabulary/);
    expect(() => engine.add({ ...request(0), sampling: { temperature: 1, topP: 0, seed: 1 } })).toThrow(/topP/);
    engine.add(request(0));
    expect(() => engine.add(request(0))).toThrow(/already/);
    expect(engine.cancel('s0')).toBe(true);
    expect(engine.waiting).toBe(0);
  });
});
