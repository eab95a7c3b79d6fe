// `serve --replicas N`: several replicas in one process over one onnxruntime session, each on its own port with
// its own KV cache and scheduler; the memory breakdown counts the weights once and the KV of every replica.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDecoderSession } from '../../src/engine/session.js';
import { SharedRunner } from '../../src/engine/sharedRunner.js';
import type { InferenceServerHandle } from '../../src/server/inferenceServer.js';
import { resolveServeOptions } from '../../src/server/serveOptions.js';
import type { MemoryBreakdown } from '../../src/types.js';
import { createTinyModel, startTinyServer, type TinyModel } from '../helpers/tinyServer.js';

let model: TinyModel;
beforeAll(async () => {
  model = await createTinyModel();
});
afterAll(() => model?.remove());

async function complete(url: string, prompt: string): Promise<{ text: string; replica: string | null }> {
  const res = await fetch(`${url}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ prompt, max_tokens: 12, temperature: 0 }),
  });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { choices: Array<{ text: string }> };
  return { text: body.choices[0]?.text ?? '', replica: res.headers.get('x-llmbench-replica') };
}

describe('shared-weight replicas in one server process', () => {
  let server: InferenceServerHandle;
  beforeAll(async () => {
    server = await startTinyServer(model, { replicas: 2, replicaName: 'replica', maxBatch: 2 });
  });
  afterAll(async () => {
    await server?.close();
  });

  it('listens once per replica and answers each with its own name, concurrently, with the same greedy text', async () => {
    expect(server.urls).toHaveLength(2);
    expect(new Set(server.urls).size).toBe(2);
    const prompts = ['The mill by the river', 'A quiet morning in', 'The mill by the river', 'A quiet morning in'];
    const out = await Promise.all(prompts.map((p, i) => complete(server.urls[i % 2] as string, p)));
    expect(out.map((o) => o.replica)).toEqual(['replica-0', 'replica-1', 'replica-0', 'replica-1']);
    // The same prompt gives the same tokens on either replica: they run the same weights, each with its own cache.
    expect(out[2]?.text).toBe(out[0]?.text);
    expect(out[3]?.text).toBe(out[1]?.text);
    expect(out[0]?.text.length).toBeGreaterThan(0);
  });

  it('reports one process: weights counted once, KV summed over the replicas, the same pid from every replica', async () => {
    const got = await Promise.all(server.urls.map(async (u) => (await (await fetch(`${u}/memory`)).json()) as { pid: number; replica: string; breakdown: MemoryBreakdown }));
    expect(got.map((g) => g.replica)).toEqual(['replica-0', 'replica-1']);
    expect(got[0]?.pid).toBe(process.pid);
    expect(got[1]?.pid).toBe(process.pid);
    const b = got[0]?.breakdown as MemoryBreakdown;
    expect(b.replicas).toBe(2);
    expect(b.weightFileBytes).toBe(statSync(join(model.dir, 'onnx', 'model.onnx')).size);
    // Both replicas generated above: each engine's cache holds rows, and the sum is reported.
    expect(b.kvAllocatedBytes).toBeGreaterThan(0);
  });
});

describe('SharedRunner', () => {
  it('keeps the session open until the last view is disposed, and counts runs per view', async () => {
    const session = await openDecoderSession(model.dir, { threads: 1 });
    const shared = new SharedRunner(session.runner);
    const a = shared.view();
    const b = shared.view();
    const feeds = session.runner.inputNames;
    expect(a.inputNames).toEqual(feeds);
    await a.dispose();
    await expect(a.run({}, [])).rejects.toThrow('already disposed');
    // The inner session is still open for b: a run with missing feeds fails inside onnxruntime, not as disposed.
    await expect(b.run({}, [])).rejects.not.toThrow('already disposed');
    await b.dispose();
    await expect(session.runner.run({}, [])).rejects.toThrow('already disposed');
    expect(a.stats.runs + b.stats.runs).toBe(0);
  });

  it('rejects --replicas with --stages and out-of-range counts', () => {
    expect(() => resolveServeOptions({ model: model.dir, replicas: 2, stages: { plan: null, stages: 2 } as never })).toThrow('cannot be combined with --stages');
    expect(() => resolveServeOptions({ model: model.dir, replicas: 17 })).toThrow('--replicas: expected an integer 1..16, got 17');
  });
});
