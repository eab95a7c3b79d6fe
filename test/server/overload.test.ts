// Load the server cannot take: a full queue answers 503 + Retry-After, a request past --timeout-ms ends with 504
// or a final SSE error event, and a client that disconnects gets its generation cancelled. All counted in /metrics.
import { afterEach, beforeAll, afterAll, describe, expect, it } from 'vitest';
import type { InferenceServerHandle } from '../../src/server/inferenceServer.js';
import { createTinyModel, eventually, metricValue, scrape, startTinyServer, type TinyModel } from '../helpers/tinyServer.js';

let model: TinyModel;
let server: InferenceServerHandle | null = null;

beforeAll(async () => {
  model = await createTinyModel();
});
afterEach(async () => {
  await server?.close();
  server = null;
});
afterAll(() => model?.remove());

/** Long enough that a request is still running while the test acts (tiny context is 256). */
const LONG = { prompt: 'The', max_tokens: 250, temperature: 0 };

function post(url: string, path: string, body: unknown, signal?: AbortSignal): Promise<Response> {
  return fetch(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal });
}

/** Reads an SSE body to the end and returns its `data:` payloads. */
async function sseEvents(r: Response): Promise<string[]> {
  const text = await r.text();
  return text
    .split('\n\n')
    .map((e) => e.trim())
    .filter((e) => e.startsWith('data: '))
    .map((e) => e.slice('data: '.length));
}

describe('overload and failure paths', () => {
  it('answers 503 with Retry-After when the queue is full, and serves again once it drains', async () => {
    server = await startTinyServer(model, { maxBatch: 1, maxQueue: 1 });
    const url = server.url;
    const controller = new AbortController();
    const first = await post(url, '/v1/completions', { ...LONG, stream: true }, controller.signal);
    const second = await post(url, '/v1/completions', { ...LONG, stream: true }, controller.signal);
    expect([first.status, second.status]).toEqual([200, 200]);
    const third = await post(url, '/v1/completions', { prompt: 'x', max_tokens: 2 });
    expect(third.status).toBe(503);
    expect(third.headers.get('retry-after')).toBe('1');
    expect(third.headers.get('x-llmbench-replica')).toBe('replica-0');
    expect(await third.json()).toMatchObject({ error: { type: 'overloaded_error', code: 'queue_full', param: null } });
    const m = await scrape(url);
    expect(metricValue(m, 'llmbench_queue_rejections_total')).toBe(1);
    expect(metricValue(m, 'llmbench_requests_total{endpoint="/v1/completions",status="503"}')).toBe(1);
    expect(metricValue(m, 'llmbench_queue_depth')).toBe(1);
    expect(metricValue(m, 'llmbench_running_requests')).toBe(1);
    controller.abort();
    expect(await eventually(() => server?.state.model?.scheduler.active === 0)).toBe(true);
    const later = await post(url, '/v1/completions', { prompt: 'x', max_tokens: 2 });
    expect(later.status).toBe(200);
  });

  it('times out with 504 (JSON) and a final SSE error event (stream), never a normal answer', async () => {
    server = await startTinyServer(model, { timeoutMs: 5 });
    const url = server.url;
    const plain = await post(url, '/v1/completions', LONG);
    expect(plain.status).toBe(504);
    expect(await plain.json()).toMatchObject({ error: { type: 'timeout_error', code: 'timeout' } });

    const streamed = await post(url, '/v1/chat/completions', { messages: [{ role: 'user', content: 'Hi' }], max_tokens: 200, temperature: 0, stream: true });
    expect(streamed.status).toBe(200);
    const events = await sseEvents(streamed);
    expect(events.at(-1)).toBe('[DONE]');
    const last = JSON.parse(events.at(-2) as string) as { error?: { code: string }; choices?: unknown };
    expect(last.error?.code).toBe('timeout');
    // No chunk claimed a normal finish.
    for (const e of events.slice(0, -2)) expect(e).not.toMatch(/"finish_reason":"(stop|length)"/);

    const gen = await post(url, '/v1/generate', { prompt: 'The', max_tokens: 250 });
    expect(gen.status).toBe(504);
    const m = await scrape(url);
    expect(metricValue(m, 'llmbench_request_timeouts_total')).toBe(3);
    expect(metricValue(m, 'llmbench_requests_total{endpoint="/v1/completions",status="504"}')).toBe(1);
    expect(metricValue(m, 'llmbench_requests_total{endpoint="/v1/generate",status="504"}')).toBe(1);
    expect(await eventually(() => server?.state.model?.scheduler.active === 0)).toBe(true);
    // The cancelled sequences stopped early rather than running to max_tokens.
    expect(metricValue(await scrape(url), 'llmbench_generation_tokens_total')).toBeLessThan(250 * 3);
  });

  it('cancels the generation when a streaming client disconnects', async () => {
    server = await startTinyServer(model);
    const url = server.url;
    const controller = new AbortController();
    const r = await post(url, '/v1/completions', { ...LONG, stream: true }, controller.signal);
    const reader = (r.body as ReadableStream<Uint8Array>).getReader();
    await reader.read();
    controller.abort();
    const cancelled = await eventually(async () => metricValue(await scrape(url), 'llmbench_request_cancellations_total{reason="client_disconnect"}') === 1);
    expect(cancelled).toBe(true);
    expect(await eventually(() => server?.state.model?.scheduler.active === 0)).toBe(true);
    const m = await scrape(url);
    expect(metricValue(m, 'llmbench_generation_tokens_total')).toBeLessThan(250);
    expect(metricValue(m, 'llmbench_requests_total{endpoint="/v1/completions",status="499"}')).toBe(1);
    expect(metricValue(m, 'llmbench_running_requests')).toBe(0);
  });

  it('cancels a non-streaming request whose client went away', async () => {
    server = await startTinyServer(model);
    const url = server.url;
    const controller = new AbortController();
    const pending = post(url, '/v1/completions', LONG, controller.signal).catch((e: unknown) => e);
    expect(await eventually(() => server?.state.model?.scheduler.active === 1)).toBe(true);
    controller.abort();
    expect(await pending).toBeInstanceOf(Error);
    expect(await eventually(async () => metricValue(await scrape(url), 'llmbench_request_cancellations_total{reason="client_disconnect"}') === 1)).toBe(true);
    expect(server.state.model?.scheduler.active).toBe(0);
  });
});
