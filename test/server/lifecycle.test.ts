// Server lifecycle in-process: 503 from /health and the generation routes while the model loads, 200 once
// ready, and a close() that drains a running request, answers newcomers 503, and stops listening.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInferenceServer } from '../../src/server/inferenceServer.js';
import { resolveServeOptions } from '../../src/server/serveOptions.js';
import { createTinyModel, type TinyModel } from '../helpers/tinyServer.js';

let model: TinyModel;
beforeAll(async () => {
  model = await createTinyModel();
});
afterAll(() => model?.remove());

describe('server lifecycle', () => {
  it('answers 503 while loading and 200 once ready', async () => {
    const seen: Record<string, number | string | null> = {};
    const server = await startInferenceServer(resolveServeOptions({ model: model.dir, port: 0 }), {
      async onListening(url) {
        const h = await fetch(`${url}/health`);
        seen.health = h.status;
        seen.retryAfter = h.headers.get('retry-after');
        seen.completion = (await fetch(`${url}/v1/completions`, { method: 'POST', body: '{"prompt":"a"}' })).status;
        seen.metrics = (await fetch(`${url}/metrics`)).status;
      },
    });
    try {
      expect(seen).toEqual({ health: 503, retryAfter: '1', completion: 503, metrics: 200 });
      expect((await fetch(`${server.url}/health`)).status).toBe(200);
    } finally {
      await server.close();
    }
  });

  it('close() lets a running request finish, refuses new work, and stops listening', async () => {
    const server = await startInferenceServer(resolveServeOptions({ model: model.dir, port: 0, drainMs: 5000 }));
    const running = fetch(`${server.url}/v1/completions`, { method: 'POST', body: JSON.stringify({ prompt: 'The', max_tokens: 120, temperature: 0 }) });
    // Wait until it is inside the scheduler, then start the drain.
    for (let i = 0; i < 500 && server.state.model?.scheduler.active !== 1; i++) await new Promise((r) => setTimeout(r, 5));
    const closed = server.close();
    expect(server.state.phase).toBe('draining');
    // New connections are refused at once; the running request carries on.
    await expect(fetch(`${server.url}/health`)).rejects.toThrow();
    const r = await running;
    expect(r.status).toBe(200);
    expect(((await r.json()) as { usage: { completion_tokens: number } }).usage.completion_tokens).toBe(120);
    await closed;
    await expect(fetch(`${server.url}/health`)).rejects.toThrow();
  });
});
