import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import { StreamClient, type RequestSpec } from '../../src/runners/load/streamClient.js';
import type { TokenCounter } from '../../src/runners/load/tokenCounter.js';
import { chatChunk, sseSteps, startTestServer, textChunk, usageChunk, type TestServer } from '../helpers/testServer.js';

// Whitespace "tokenizer": enough to check which count the client used.
const wordCounter: TokenCounter = {
  source: 'words',
  encode: (t) => t.split(/\s+/).filter(Boolean).map((_, i) => i),
  decode: () => '',
  count: (t) => t.split(/\s+/).filter(Boolean).length,
};

let server: TestServer | null = null;
let client: StreamClient | null = null;
afterEach(async () => {
  client?.close();
  await server?.close();
  server = null;
  client = null;
});

function spec(path: string, extra: Partial<RequestSpec> = {}): RequestSpec {
  return { index: 0, warmup: false, path, body: '{}', stream: true, scheduledAt: performance.now(), timeoutMs: 5000, promptTokens: 7, ...extra };
}

// Timers on a busy shared machine fire late, never early: check lower bounds tightly, upper bounds loosely.
const SLACK_MS = 25;

describe('streaming client', () => {
  it('TTFT skips the role-only chunk; ITL per chunk; E2E to the last token; tokens from usage', async () => {
    server = await startTestServer((_req, res) =>
      sseSteps(res, [
        { delayMs: 0, data: chatChunk({ role: 'assistant' }) },
        { delayMs: 60, data: chatChunk({ content: 'Hello' }) },
        { delayMs: 40, data: chatChunk({ content: ' big' }) },
        { delayMs: 30, data: chatChunk({ content: ' world' }) },
        { delayMs: 0, data: usageChunk(3) },
      ]),
    );
    client = new StreamClient({ baseUrl: server.url, apiKey: null, tokenizer: null }, performance.now());
    // The first request also pays for connecting and JIT; measure on a warm keep-alive connection.
    await client.send(spec('/v1/chat/completions'));
    const s = await client.send(spec('/v1/chat/completions'));
    expect(s.status).toBe('ok');
    expect(s.httpStatus).toBe(200);
    expect(s.ttftMs).toBeGreaterThanOrEqual(59);
    expect(s.ttftMs).toBeLessThan(60 + SLACK_MS);
    expect(s.itlMs).toHaveLength(2);
    // Lower bounds on arrival times are causal (a chunk cannot arrive before the server sends it, at 60, 100 and
    // 130 ms); a single gap has none: a late first chunk (the client's loop busy for a moment) shortens the next.
    const [itl0, itl1] = s.itlMs as [number, number];
    expect((s.ttftMs as number) + itl0).toBeGreaterThanOrEqual(99);
    expect(itl0).toBeLessThan(40 + SLACK_MS);
    expect((s.ttftMs as number) + itl0 + itl1).toBeGreaterThanOrEqual(128);
    expect(itl1).toBeLessThan(30 + SLACK_MS);
    expect(s.e2eMs).toBeGreaterThanOrEqual(128);
    expect(s.e2eMs).toBeLessThan(130 + 2 * SLACK_MS);
    expect(s.e2eMs).toBeCloseTo((s.ttftMs as number) + (s.itlMs[0] as number) + (s.itlMs[1] as number), 6);
    expect(s.outputTokens).toBe(3);
    expect(s.outputTokensSource).toBe('usage');
    expect(s.promptTokens).toBe(5);
    expect(s.tpotMs).toBeCloseTo((s.e2eMs - (s.ttftMs as number)) / 2, 6);
    expect(s.replica).toBe('replica-7');
    expect(s.firstTokenMs).not.toBeNull();
    expect(s.endMs).toBeGreaterThanOrEqual(s.firstTokenMs as number);
  });

  it('latency counts from the scheduled time, not the actual send', async () => {
    server = await startTestServer((_req, res) => sseSteps(res, [{ delayMs: 0, data: textChunk('x') }]));
    client = new StreamClient({ baseUrl: server.url, apiKey: null, tokenizer: null }, performance.now());
    const s = await client.send(spec('/v1/completions', { scheduledAt: performance.now() - 200 }));
    expect(s.sentMs - s.scheduledMs).toBeGreaterThanOrEqual(200);
    expect(s.ttftMs).toBeGreaterThanOrEqual(200);
    expect(s.e2eMs).toBeGreaterThanOrEqual(200);
    expect(s.outputTokensSource).toBe('none');
    expect(s.tpotMs).toBeNull();
  });

  it('records a usage vs tokenizer mismatch, and falls back to the tokenizer without usage', async () => {
    let withUsage = true;
    server = await startTestServer((_req, res) =>
      sseSteps(res, [
        { delayMs: 0, data: textChunk('one two') },
        { delayMs: 0, data: textChunk(' three') },
        ...(withUsage ? [{ delayMs: 0, data: usageChunk(5) }] : []),
      ]),
    );
    client = new StreamClient({ baseUrl: server.url, apiKey: null, tokenizer: wordCounter }, performance.now());
    const a = await client.send(spec('/v1/completions'));
    expect(a.outputTokens).toBe(5);
    expect(a.outputTokensSource).toBe('usage');
    expect(a.tokenCountMismatch).toEqual({ usage: 5, tokenizer: 3 });
    withUsage = false;
    const b = await client.send(spec('/v1/completions'));
    expect(b.outputTokens).toBe(3);
    expect(b.outputTokensSource).toBe('tokenizer');
    expect(b.tokenCountMismatch).toBeNull();
    expect(b.promptTokens).toBe(7);
  });

  it('a one-token output has TPOT 0', async () => {
    server = await startTestServer((_req, res) => sseSteps(res, [{ delayMs: 5, data: textChunk('a') }, { delayMs: 0, data: usageChunk(1) }]));
    client = new StreamClient({ baseUrl: server.url, apiKey: null, tokenizer: null }, performance.now());
    const s = await client.send(spec('/v1/completions'));
    expect(s.tpotMs).toBe(0);
    expect(s.itlMs).toEqual([]);
  });

  it('non-streamed /v1/generate: E2E only, tokens from usage', async () => {
    server = await startTestServer(async (_req, res) => {
      await new Promise((r) => setTimeout(r, 30));
      res.writeHead(200, { 'content-type': 'application/json', 'x-llmbench-upstream-addr': '127.0.0.1:1, 127.0.0.1:2' });
      res.end(JSON.stringify({ text: 'a b c d', usage: { prompt_tokens: 4, completion_tokens: 4 } }));
    });
    client = new StreamClient({ baseUrl: server.url, apiKey: null, tokenizer: null }, performance.now());
    const s = await client.send(spec('/v1/generate', { stream: false }));
    expect(s.status).toBe('ok');
    expect(s.ttftMs).toBeNull();
    expect(s.tpotMs).toBeNull();
    expect(s.e2eMs).toBeGreaterThanOrEqual(29);
    expect(s.outputTokens).toBe(4);
    expect(s.retries).toBe(1);
  });

  it('failures are samples: HTTP error, error chunk, broken stream, timeout, refused connection, API key sent', async () => {
    let mode = 'http500';
    let auth: string | undefined;
    server = await startTestServer(async (req, res) => {
      auth = req.headers.authorization;
      if (mode === 'http500') {
        res.writeHead(503, { 'content-type': 'application/json', 'x-llmbench-retries': '2' });
        res.end('{"error":{"message":"overloaded"}}');
      } else if (mode === 'errorChunk') {
        await sseSteps(res, [{ delayMs: 0, data: { error: { message: 'boom' } } }]);
      } else if (mode === 'broken') {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(`data: ${JSON.stringify(textChunk('partial'))}\n\n`);
        setTimeout(() => res.socket?.destroy(), 20);
      } else {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(`data: ${JSON.stringify(textChunk('slow'))}\n\n`);
      }
    });
    client = new StreamClient({ baseUrl: server.url, apiKey: 'sekrit', tokenizer: null }, performance.now());
    const a = await client.send(spec('/v1/completions'));
    expect(a).toMatchObject({ status: 'error', httpStatus: 503, retries: 2, error: 'HTTP 503: {"error":{"message":"overloaded"}}' });
    expect(auth).toBe('Bearer sekrit');
    mode = 'errorChunk';
    expect(await client.send(spec('/v1/completions'))).toMatchObject({ status: 'error', error: 'server error in stream: boom' });
    mode = 'broken';
    const c = await client.send(spec('/v1/completions'));
    expect(c.status).toBe('error');
    expect(c.ttftMs).toBeNull();
    mode = 'hang';
    const d = await client.send(spec('/v1/completions', { timeoutMs: 150 }));
    expect(d).toMatchObject({ status: 'timeout', error: 'no complete response within 150 ms' });
    expect(d.e2eMs).toBeGreaterThanOrEqual(149);
    const url = server.url;
    client.close();
    await server.close();
    server = null;
    client = new StreamClient({ baseUrl: url, apiKey: null, tokenizer: null }, performance.now());
    const e = await client.send(spec('/v1/completions'));
    expect(e.status).toBe('error');
    expect(e.error).toMatch(/ECONNREFUSED/);
    expect(e.httpStatus).toBeNull();
  });

  it('reuses keep-alive connections, and retries once when a reused one was closed before answering', async () => {
    const perSocket = new WeakMap<object, number>();
    const srv = await startTestServer((req, res) => {
      const n = (perSocket.get(req.socket) ?? 0) + 1;
      perSocket.set(req.socket, n);
      // Every third request on a connection: hang up without a response, as a server closing an idle socket would.
      if (n === 3) {
        req.socket.destroy();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"text":"ok","usage":{"completion_tokens":1}}');
    });
    client = new StreamClient({ baseUrl: srv.url, apiKey: null, tokenizer: null }, performance.now());
    try {
      const results = [];
      for (let i = 0; i < 6; i++) results.push(await client.send(spec('/v1/generate', { stream: false })));
      expect(results.map((r) => r.status)).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', 'ok']);
      // 6 requests: 2 on the first connection, the 3rd is cut and retried on a second, and so on.
      expect(srv.stats.connections).toBe(3);
    } finally {
      client.close();
      client = null;
      await srv.close();
    }
  });
});


describe('fallback classification', () => {
  it('a stream whose chunks carry llmbench_fallback is a fallback answer, timed like any answer', async () => {
    const mark = { llmbench_fallback: { reason: 'deadline', source: 'canned', primary_tokens: 1 } };
    server = await startTestServer((_req, res) =>
      sseSteps(res, [
        { delayMs: 0, data: textChunk('Hel') },
        { delayMs: 10, data: { ...(textChunk('lo busy') as object), ...mark } },
        { delayMs: 0, data: { ...(usageChunk(3) as object), ...mark } },
      ]),
    );
    client = new StreamClient({ baseUrl: server.url, apiKey: null, tokenizer: wordCounter }, performance.now());
    const s = await client.send(spec('/v1/completions'));
    expect(s.status).toBe('fallback');
    expect(s.fallbackReason).toBe('deadline');
    expect(s.error).toBeNull();
    expect(s.ttftMs).not.toBeNull();
    expect(s.tpotMs).not.toBeNull();
    expect(s.outputTokens).toBe(3);
    // Another model may have written the tail: no token-count comparison for fallback answers.
    expect(s.tokenCountMismatch).toBeNull();
  });

  it('a JSON answer with the x-llmbench-fallback header (a balancer backup) is a fallback; one without is ok', async () => {
    let backup = true;
    server = await startTestServer((_req, res) => {
      const body = JSON.stringify({ choices: [{ index: 0, text: 'hi there', finish_reason: 'stop' }], usage: { prompt_tokens: 5, completion_tokens: 2 } });
      res.writeHead(200, { 'content-type': 'application/json', ...(backup ? { 'x-llmbench-fallback': 'backup' } : {}) });
      res.end(body);
    });
    client = new StreamClient({ baseUrl: server.url, apiKey: null, tokenizer: null }, performance.now());
    const a = await client.send(spec('/v1/completions', { stream: false }));
    backup = false;
    const b = await client.send(spec('/v1/completions', { stream: false }));
    expect([a.status, a.fallbackReason]).toEqual(['fallback', 'backup']);
    expect([b.status, b.fallbackReason]).toEqual(['ok', undefined]);
  });
});
