// The one fake upstream scaffold for tests: a real HTTP server on 127.0.0.1, port 0, a handler per test, request
// and connection counters, always closed (open connections included).
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TestServer {
  url: string;
  port: number;
  /** Requests in flight right now, the most seen at once, all requests, and TCP connections accepted. */
  stats: { inFlight: number; peak: number; total: number; connections: number };
  close(): Promise<void>;
}

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: string) => void | Promise<void>;

export async function startTestServer(handler: Handler): Promise<TestServer> {
  const stats = { inFlight: 0, peak: 0, total: 0, connections: 0 };
  const server = http.createServer((req, res) => {
    stats.inFlight++;
    stats.total++;
    stats.peak = Math.max(stats.peak, stats.inFlight);
    res.on('close', () => stats.inFlight--);
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => void handler(req, res, body));
  });
  server.on('connection', () => stats.connections++);
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    stats,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Writes an SSE stream: each step waits `delayMs` then sends `data: <json>`. */
export async function sseSteps(res: http.ServerResponse, steps: Array<{ delayMs: number; data: unknown }>, done = true): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'x-llmbench-replica': 'replica-7' });
  res.flushHeaders();
  for (const s of steps) {
    if (s.delayMs > 0) await sleep(s.delayMs);
    res.write(`data: ${typeof s.data === 'string' ? s.data : JSON.stringify(s.data)}\n\n`);
  }
  if (done) res.write('data: [DONE]\n\n');
  res.end();
}

export const textChunk = (text: string): unknown => ({ choices: [{ index: 0, text, finish_reason: null }] });
export const chatChunk = (delta: Record<string, unknown>): unknown => ({ choices: [{ index: 0, delta, finish_reason: null }] });
export const usageChunk = (completion: number, prompt = 5): unknown => ({
  choices: [],
  usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion },
});
