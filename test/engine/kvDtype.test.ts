// --kv-dtype float16 on float32 models: the graph takes and returns float16 keys/values (Cast nodes), the arena
// holds half the bytes, greedy tokens stay those of the float32 cache, and eval measures the rounding's cost.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchEngine } from '../../src/engine/batchEngine.js';
import { openDecoderSession } from '../../src/engine/session.js';
import { evaluateModel } from '../../src/eval/eval.js';
import { writeLlamaFixture } from '../../src/modelgen/llamaFixture.js';
import { makeTinyModel } from './helpers.js';

let tiny: Awaited<ReturnType<typeof makeTinyModel>>;
let root: string;
let llama32: string;
let llama16: string;

beforeAll(async () => {
  tiny = await makeTinyModel();
  root = mkdtempSync(join(tmpdir(), 'llmbench-kvdtype-'));
  llama32 = (await writeLlamaFixture({ outDir: join(root, 'l32'), dtype: 'float32' })).dir;
  llama16 = (await writeLlamaFixture({ outDir: join(root, 'l16'), dtype: 'float16' })).dir;
}, 120_000);

afterAll(() => {
  tiny?.cleanup();
  rmSync(root, { recursive: true, force: true });
});

async function greedy(dir: string, kvDtype: 'float16' | null): Promise<{ tokens: number[]; kvBytes: number }> {
  const engine = await BatchEngine.load({ modelDir: dir, maxBatch: 2, threads: 1, kvDtype });
  try {
    engine.add({ id: 'a', promptIds: [5, 17, 40, 3, 99, 12], maxTokens: 24, stopTokenIds: [], sampling: { temperature: 0, topP: 1, seed: null } });
    const tokens: number[] = [];
    let kvBytes = 0;
    while (engine.running + engine.waiting > 0) {
      for (const e of await engine.step()) tokens.push(e.tokenId);
      kvBytes = Math.max(kvBytes, engine.kvBytes()?.allocated ?? 0);
    }
    return { tokens, kvBytes };
  } finally {
    await engine.dispose();
  }
}

describe('--kv-dtype float16', () => {
  it('patches a float32 graph to float16 KV inputs and outputs', async () => {
    const s = await openDecoderSession(tiny.dir, { threads: 1, kvDtype: 'float16' });
    try {
      expect(s.info.kvDtype).toBe('float16');
      expect(s.kvCast).toBe(true);
      expect(s.kvMode).toBe('slots');
    } finally {
      await s.runner.dispose();
    }
  });

  it('halves the arena for the same sequence, with the same greedy tokens (tiny and the Llama fixture)', async () => {
    for (const dir of [tiny.dir, llama32]) {
      const f32 = await greedy(dir, null);
      const f16 = await greedy(dir, 'float16');
      expect(f16.kvBytes * 2).toBe(f32.kvBytes);
      expect(f32.kvBytes).toBeGreaterThan(0);
      const same = f16.tokens.filter((t, i) => t === f32.tokens[i]).length;
      expect(same).toBeGreaterThanOrEqual(f32.tokens.length - 2);
    }
  }, 60_000);

  it('eval scores the float16 cache against the float32 reference: close, but measurably not identical', async () => {
    const r = await evaluateModel(llama32, llama32, { maxEvalTokens: 96, windowTokens: 96, maxTokens: 8, sessionOptions: { threads: 1, kvDtype: 'float16' } });
    expect(r.meanKl ?? 0).toBeGreaterThan(0);
    expect(r.meanKl ?? 1).toBeLessThan(0.01);
    expect(r.top1Agreement ?? 0).toBeGreaterThanOrEqual(0.95);
  }, 60_000);

  it('refuses float32 KV for a float16 graph', async () => {
    await expect(openDecoderSession(llama16, { threads: 1, kvDtype: 'float32' })).rejects.toThrow(/computes keys\/values in float16/);
  });
});
