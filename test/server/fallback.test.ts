// Deadlines with a fallback, on real tiny-model servers: a primary kept past its deadline (one batch row and a
// long generation, or a queue behind it) is cancelled and the fallback answers. The answers are marked (header
// and body field), counted in /metrics and classified as fallbacks in result.json; the cancelled generation
// frees its batch slot; nothing ends as an error.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LlmbenchError } from '../../src/errors.js';
import { readResultFile } from '../../src/result/readResult.js';
import { runScenario } from '../../src/runners/run.js';
import { parseScenario } from '../../src/scenarios/load.js';
import type { InferenceServerHandle } from '../../src/server/inferenceServer.js';
import { createTinyModel, eventually, metricValue, scrape, startTinyServer, type TinyModel } from '../helpers/tinyServer.js';

let model: TinyModel;
let server: InferenceServerHandle | null = null;
let dir: string;

/** A total deadline a quarter into a LONG request on this machine (an idle one decodes the tiny model fast). */
let totalDeadlineMs = 150;
beforeAll(async () => {
  model = await createTinyModel();
  dir = mkdtempSync(join(tmpdir(), 'llmbench-fallback-test-'));
  const probe = await startTinyServer(model, { maxBatch: 1 });
  try {
    await post(probe.url, { ...LONG, max_tokens: 4 });
    const t0 = performance.now();
    await (await post(probe.url, LONG)).json();
    totalDeadlineMs = Math.max(10, Math.round((performance.now() - t0) / 4));
  } finally {
    await probe.close();
  }
});
afterEach(async () => {
  await server?.close();
  server = null;
});
afterAll(() => {
  model?.remove();
  rmSync(dir, { recursive: true, force: true });
});

/** About 250 tokens of greedy decoding: four times the total deadline set in beforeAll. */
const LONG = { prompt: 'The', max_tokens: 250, temperature: 0 };

function post(url: string, body: unknown): Promise<Response> {
  return fetch(`${url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

describe('deadline with a fallback', () => {
  it('cancels a primary past its total deadline, answers with the canned text (marked, counted) and reuses the batch slot', async () => {
    server = await startTinyServer(model, {
      maxBatch: 1,
      deadline: { deadlineMs: totalDeadlineMs, scope: 'total', fallback: { kind: 'canned', text: 'Sorry, try again later.' }, fallbackMaxBatch: 1 },
    });
    const url = server.url;
    const r = await post(url, LONG);
    expect(r.status).toBe(200);
    expect(r.headers.get('x-llmbench-fallback')).toBe('deadline');
    const body = (await r.json()) as { choices: Array<{ text: string; finish_reason: string }>; usage: { completion_tokens: number }; llmbench_fallback: { reason: string; source: string; primary_tokens: number } };
    // It was running in the batch (it generated tokens) when the deadline cancelled it.
    expect(body.llmbench_fallback.reason).toBe('deadline');
    expect(body.llmbench_fallback.source).toBe('canned');
    expect(body.llmbench_fallback.primary_tokens).toBeGreaterThan(0);
    expect(body.llmbench_fallback.primary_tokens).toBeLessThan(250);
    expect(body.choices[0]?.text.endsWith('Sorry, try again later.')).toBe(true);
    expect(body.choices[0]?.finish_reason).toBe('stop');

    // The primary really stopped: its slot is free and no more tokens are generated for it.
    expect(await eventually(() => server?.state.model?.scheduler.active === 0 && server.state.model.scheduler.runningCount === 0)).toBe(true);
    const tokens = metricValue(await scrape(url), 'llmbench_generation_tokens_total');
    await new Promise((res) => setTimeout(res, 200));
    expect(metricValue(await scrape(url), 'llmbench_generation_tokens_total')).toBe(tokens);

    // With one batch row, a short request is served by the primary in time: the cancelled one left the slot.
    const short = await post(url, { prompt: 'The', max_tokens: 2, temperature: 0 });
    expect(short.status).toBe(200);
    expect(short.headers.get('x-llmbench-fallback')).toBeNull();
    expect(((await short.json()) as Record<string, unknown>).llmbench_fallback).toBeUndefined();

    const m = await scrape(url);
    expect(metricValue(m, 'llmbench_fallback_total{reason="deadline"}')).toBe(1);
    expect(metricValue(m, 'llmbench_fallback_total{reason="queue_full"}')).toBe(0);
    expect(metricValue(m, 'llmbench_request_cancellations_total{reason="deadline"}')).toBe(1);
    expect(metricValue(m, 'llmbench_requests_total{endpoint="/v1/completions",status="200"}')).toBe(2);
    expect(metricValue(m, 'llmbench_request_timeouts_total')).toBe(0);
  });

  it('switches a running stream to the fallback model without a seam: marked chunks, no error event, usage adds up', async () => {
    server = await startTinyServer(model, {
      maxBatch: 1,
      deadline: { deadlineMs: totalDeadlineMs, scope: 'total', fallback: { kind: 'model', model: model.dir, quantize: null }, fallbackMaxBatch: 2 },
    });
    const r = await post(server.url, { ...LONG, max_tokens: 200, stream: true, stream_options: { include_usage: true } });
    expect(r.status).toBe(200);
    const events = (await r.text())
      .split('\n\n')
      .map((e) => e.trim())
      .filter((e) => e.startsWith('data: '))
      .map((e) => e.slice('data: '.length));
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e) as { error?: unknown; choices: Array<{ text?: string; finish_reason: string | null }>; usage?: { completion_tokens: number } | null; llmbench_fallback?: { reason: string; source: string; primary_tokens: number } });
    expect(chunks.some((c) => c.error !== undefined)).toBe(false);
    const firstMarked = chunks.findIndex((c) => c.llmbench_fallback !== undefined);
    // Primary text first (unmarked), then the fallback's (every chunk marked), then finish and usage.
    expect(firstMarked).toBeGreaterThan(0);
    expect(chunks.slice(firstMarked).every((c) => c.llmbench_fallback?.reason === 'deadline')).toBe(true);
    const mark = chunks[firstMarked]?.llmbench_fallback;
    expect(mark?.primary_tokens).toBeGreaterThan(0);
    expect(mark?.source).toBe('tiny');
    const textChunks = chunks.filter((c) => (c.choices[0]?.text ?? '') !== '');
    expect(textChunks.length).toBeGreaterThan(firstMarked);
    const usage = chunks.at(-1)?.usage;
    expect(usage?.completion_tokens).toBe(200);
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe('length');
    const m = await scrape(server.url);
    expect(metricValue(m, 'llmbench_fallback_total{reason="deadline"}')).toBe(1);
    expect(metricValue(m, 'llmbench_request_cancellations_total{reason="deadline"}')).toBe(1);
  });

  it('refuses to start when the fallback model cannot load, naming it (exit code 2), and frees the port', async () => {
    const missing = join(dir, 'no-such-model');
    const err = await startTinyServer(model, {
      deadline: { deadlineMs: 100, scope: 'first-token', fallback: { kind: 'model', model: missing, quantize: null }, fallbackMaxBatch: 1 },
    }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(LlmbenchError);
    expect((err as LlmbenchError).exitCode).toBe(2);
    expect((err as LlmbenchError).message).toBe(`--fallback model:${missing}: model "${missing}" is neither an existing folder nor a preset`);
  });

  it('a run against a server whose queue keeps requests past a first-token deadline records fallbacks in result.json, no errors', async () => {
    // One batch row and four closed-loop users: whoever waits behind a running request misses the 120 ms
    // first-token deadline and is answered from the queue by the canned text.
    server = await startTinyServer(model, {
      maxBatch: 1,
      deadline: { deadlineMs: 120, scope: 'first-token', fallback: { kind: 'canned', text: 'busy' }, fallbackMaxBatch: 1 },
    });
    const scenario = parseScenario(
      `name: fb
workload: { api: completions, distinctRequests: 16, promptTokens: 8, outputTokens: 120 }
load: { profile: concurrency, concurrency: 4, duration: 2s, warmupRequests: 1 }
slo: { ttftMs: 5000 }
pipelines:
  - { name: guarded, target: { url: "${server.url}", tokenizer: "${model.dir}" } }
`,
      { source: 'fb.yaml', baseDir: dir },
    );
    const { path } = await runScenario(scenario, { outDir: join(dir, 'run'), quality: false });
    const result = await readResultFile(path);
    const p = result.pipelines[0];
    if (!p) throw new Error('no pipeline');
    const measured = p.samples.filter((s) => !s.warmup);
    const fallbacks = measured.filter((s) => s.status === 'fallback');
    expect(fallbacks.length).toBeGreaterThan(0);
    expect(measured.filter((s) => s.status === 'ok').length).toBeGreaterThan(0);
    expect(p.summary.counts.error + p.summary.counts.timeout).toBe(0);
    expect(fallbacks.every((s) => s.fallbackReason === 'deadline')).toBe(true);
    expect(p.summary.fallback?.count).toBe(fallbacks.length);
    expect(p.summary.fallback?.reasons).toEqual({ deadline: fallbacks.length });
    expect(p.summary.fallback?.share).toBeCloseTo(fallbacks.length / measured.length, 9);
    // Latency counts every answer; goodput only primary ones (all of which met the loose SLO here).
    expect(p.summary.e2eMs.count).toBe(measured.length);
    expect(p.summary.goodputRequestsPerSecond).toBeCloseTo((p.summary.counts.ok / p.summary.windowMs) * 1000, 9);
    // The server counted exactly the fallbacks the client saw (warm-up included).
    const seen = p.samples.filter((s) => s.status === 'fallback').length;
    expect(metricValue(await scrape(server.url), 'llmbench_fallback_total{reason="deadline"}')).toBe(seen);
  });
});
