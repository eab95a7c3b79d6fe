// A table of malformed requests: each gets its documented 4xx with an OpenAI-style error object and the replica
// header, and the server is still healthy and generating afterwards.
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InferenceServerHandle } from '../../src/server/inferenceServer.js';
import { createTinyModel, metricValue, scrape, startTinyServer, type TinyModel } from '../helpers/tinyServer.js';

let model: TinyModel;
let server: InferenceServerHandle;

beforeAll(async () => {
  model = await createTinyModel();
  server = await startTinyServer(model, { replicaName: 'r-bad' });
});
afterAll(async () => {
  await server?.close();
  model?.remove();
});

interface Case {
  name: string;
  method?: string;
  path?: string;
  /** Sent as is when a string, else JSON-encoded. */
  body?: unknown;
  status: number;
  code: string;
  param?: string | null;
}

const json = (o: unknown): string => JSON.stringify(o);
const C = '/v1/completions';
const CHAT = '/v1/chat/completions';

const CASES: Case[] = [
  { name: 'malformed JSON', body: '{"prompt": "hi",', status: 400, code: 'invalid_json', param: null },
  { name: 'empty body', body: '', status: 400, code: 'invalid_json', param: null },
  { name: 'JSON array body', body: json([1, 2]), status: 400, code: 'invalid_json', param: null },
  { name: 'JSON null body', body: 'null', status: 400, code: 'invalid_json', param: null },
  { name: 'missing prompt', body: { max_tokens: 3 }, status: 400, code: 'missing_required_parameter', param: 'prompt' },
  { name: 'prompt of wrong type', body: { prompt: 42 }, status: 400, code: 'invalid_value', param: 'prompt' },
  { name: 'two prompts', body: { prompt: ['a', 'b'] }, status: 400, code: 'invalid_value', param: 'prompt' },
  { name: 'token id outside the vocabulary', body: { prompt: [1, 99999] }, status: 400, code: 'invalid_value', param: 'prompt' },
  { name: 'max_tokens as string', body: { prompt: 'a', max_tokens: '5' }, status: 400, code: 'invalid_value', param: 'max_tokens' },
  { name: 'max_tokens 0', body: { prompt: 'a', max_tokens: 0 }, status: 400, code: 'invalid_value', param: 'max_tokens' },
  { name: 'max_tokens negative', body: { prompt: 'a', max_tokens: -3 }, status: 400, code: 'invalid_value', param: 'max_tokens' },
  { name: 'max_tokens fractional', body: { prompt: 'a', max_tokens: 2.5 }, status: 400, code: 'invalid_value', param: 'max_tokens' },
  { name: 'prompt + max_tokens beyond the context', body: { prompt: 'a', max_tokens: 256 }, status: 400, code: 'context_length_exceeded', param: 'max_tokens' },
  { name: 'prompt alone fills the context', body: { prompt: Array.from({ length: 300 }, () => 5) }, status: 400, code: 'context_length_exceeded', param: 'prompt' },
  { name: 'temperature out of range', body: { prompt: 'a', temperature: 3 }, status: 400, code: 'invalid_value', param: 'temperature' },
  { name: 'top_p 0', body: { prompt: 'a', top_p: 0 }, status: 400, code: 'invalid_value', param: 'top_p' },
  { name: 'seed not an integer', body: { prompt: 'a', seed: 'abc' }, status: 400, code: 'invalid_value', param: 'seed' },
  { name: 'stop of wrong type', body: { prompt: 'a', stop: 7 }, status: 400, code: 'invalid_value', param: 'stop' },
  { name: 'stream not a boolean', body: { prompt: 'a', stream: 'yes' }, status: 400, code: 'invalid_value', param: 'stream' },
  { name: 'n = 2', body: { prompt: 'a', n: 2 }, status: 400, code: 'unsupported_value', param: 'n' },
  { name: 'echo', body: { prompt: 'a', echo: true }, status: 400, code: 'unsupported_parameter', param: 'echo' },
  { name: 'unknown model', body: { model: 'gpt-9', prompt: 'a' }, status: 404, code: 'model_not_found', param: 'model' },
  { name: 'chat without messages', path: CHAT, body: { max_tokens: 3 }, status: 400, code: 'missing_required_parameter', param: 'messages' },
  { name: 'chat with empty messages', path: CHAT, body: { messages: [] }, status: 400, code: 'invalid_value', param: 'messages' },
  { name: 'chat with a bad role', path: CHAT, body: { messages: [{ role: 'robot', content: 'x' }] }, status: 400, code: 'invalid_value', param: 'messages[0].role' },
  { name: 'chat content of wrong type', path: CHAT, body: { messages: [{ role: 'user', content: 5 }] }, status: 400, code: 'invalid_value', param: 'messages[0].content' },
  { name: 'generate without prompt', path: '/v1/generate', body: { max_tokens: 3 }, status: 400, code: 'missing_required_parameter', param: 'prompt' },
  { name: 'oversized body', body: json({ prompt: 'a'.repeat(1024 * 1024 + 10) }), status: 413, code: 'request_too_large', param: null },
  { name: 'GET on a POST route', method: 'GET', status: 405, code: 'method_not_allowed', param: null },
  { name: 'POST on a GET route', method: 'POST', path: '/v1/models', body: {}, status: 405, code: 'method_not_allowed', param: null },
  { name: 'unknown route', path: '/v1/embeddings', body: {}, status: 404, code: 'not_found', param: null },
  { name: 'unknown top-level route', method: 'GET', path: '/admin', status: 404, code: 'not_found', param: null },
];

describe('malformed requests', () => {
  it.each(CASES)('$name -> $status $code', async (c) => {
    const method = c.method ?? 'POST';
    const init: RequestInit = { method, headers: { 'content-type': 'application/json' } };
    if (c.body !== undefined) init.body = typeof c.body === 'string' ? c.body : json(c.body);
    const r = await fetch(`${server.url}${c.path ?? C}`, init);
    expect(r.status).toBe(c.status);
    expect(r.headers.get('x-llmbench-replica')).toBe('r-bad');
    if (c.status === 405) expect(r.headers.get('allow')).toBe(method === 'GET' ? 'POST' : 'GET');
    const body = (await r.json()) as { error: Record<string, unknown> };
    expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
    expect(body.error.code).toBe(c.code);
    expect(typeof body.error.message).toBe('string');
    expect(body.error.type).toBe('invalid_request_error');
    if (c.param !== undefined) expect(body.error.param).toBe(c.param);
  });

  it('answers a malformed HTTP request line with 400 and the replica header', async () => {
    const raw = await new Promise<string>((resolve, reject) => {
      const url = new URL(server.url);
      const sock = connect(Number(url.port), url.hostname, () => sock.write('THIS IS NOT HTTP\r\n\r\n'));
      let data = '';
      sock.on('data', (d) => (data += d.toString()));
      sock.on('end', () => resolve(data));
      sock.on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 400 /);
    expect(raw).toMatch(/x-llmbench-replica: r-bad/);
    expect(raw).toMatch(/"error":\{"message":/);
  });

  it('is still healthy and generating afterwards', async () => {
    expect((await fetch(`${server.url}/health`)).status).toBe(200);
    const r = await fetch(`${server.url}/v1/generate`, { method: 'POST', body: json({ prompt: 'The sea', max_tokens: 5 }) });
    expect(r.status).toBe(200);
    const body = (await r.json()) as { text: string; usage: { completion_tokens: number }; finish_reason: string };
    expect(body.usage.completion_tokens).toBeGreaterThan(0);
    expect(typeof body.text).toBe('string');
    const m = await scrape(server.url);
    expect(metricValue(m, 'llmbench_requests_total{endpoint="/v1/completions",status="400"}')).toBe(CASES.filter((c) => !c.path && c.status === 400).length);
    expect(metricValue(m, 'llmbench_engine_errors_total')).toBe(0);
  });
});
