// Upstreams for balancer tests (on the shared test server scaffold): they stream SSE chunks with delays, answer with an error
// status on demand, and record what they received. Each request body may override the timing:
// {"chunks": N, "chunkDelayMs": D, "headerDelayMs": H}. chunks = 0 answers one JSON body.
import http from 'node:http';
import { startTestServer } from './testServer.js';

/** Wall-clock ms with sub-ms resolution; the same clock in every module of this process. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

export interface TestUpstream {
  name: string;
  url: string;
  port: number;
  /** Requests received. */
  requests: number;
  inFlight: number;
  /** Requests whose connection closed before the response was complete. */
  abortedByPeer: number;
  bodies: string[];
  /** When set, every request is answered with this status instead. */
  failWith: number | null;
  close(): Promise<void>;
}

export interface UpstreamDefaults {
  chunks?: number;
  chunkDelayMs?: number;
  headerDelayMs?: number;
}

interface Timing {
  chunks: number;
  chunkDelayMs: number;
  headerDelayMs: number;
}

function timingOf(body: string, d: Timing): Timing {
  try {
    const j = JSON.parse(body) as Partial<Timing>;
    return {
      chunks: j.chunks ?? d.chunks,
      chunkDelayMs: j.chunkDelayMs ?? d.chunkDelayMs,
      headerDelayMs: j.headerDelayMs ?? d.headerDelayMs,
    };
  } catch {
    return d;
  }
}

/** Starts a real upstream on 127.0.0.1, port 0. */
export async function startTestUpstream(name: string, defaults: UpstreamDefaults = {}): Promise<TestUpstream> {
  const d: Timing = { chunks: defaults.chunks ?? 0, chunkDelayMs: defaults.chunkDelayMs ?? 0, headerDelayMs: defaults.headerDelayMs ?? 0 };
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, fn: () => void): void => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };
  const state = {
    requests: 0,
    inFlight: 0,
    abortedByPeer: 0,
    bodies: [] as string[],
    failWith: null as number | null,
  };
  const server = await startTestServer((req, res, body) => {
    state.requests += 1;
    state.inFlight += 1;
    res.on('close', () => {
      state.inFlight -= 1;
      if (!res.writableFinished) state.abortedByPeer += 1;
    });
    state.bodies.push(body);
    if (state.failWith !== null) {
      res.writeHead(state.failWith, { 'content-type': 'application/json', 'x-llmbench-replica': name });
      res.end(JSON.stringify({ error: { message: `${name} fails on purpose` } }));
      return;
    }
    const t = timingOf(body, d);
    later(t.headerDelayMs, () => {
      if (res.destroyed) return;
      if (t.chunks === 0) {
        const out = JSON.stringify({ replica: name, body });
        res.writeHead(200, { 'content-type': 'application/json', 'x-llmbench-replica': name });
        res.end(out);
        return;
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-llmbench-replica': name });
      res.flushHeaders();
      let i = 0;
      const tick = (): void => {
        if (res.destroyed) return;
        res.write(`data: ${JSON.stringify({ i, replica: name, sentAtMs: nowMs() })}\n\n`);
        i += 1;
        if (i < t.chunks) later(t.chunkDelayMs, tick);
        else later(t.chunkDelayMs, () => res.end('data: [DONE]\n\n'));
      };
      tick();
    });
  });
  let closed: Promise<void> | null = null;
  return Object.assign(state, {
    name,
    url: server.url,
    port: server.port,
    close(): Promise<void> {
      closed ??= (async () => {
        for (const t of timers) clearTimeout(t);
        await server.close();
      })();
      return closed;
    },
  });
}

export interface ClientResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  /** Arrival time of each received chunk, ms since the request was sent. */
  chunkTimesMs: number[];
  /** Each received chunk with its arrival time on the `nowMs()` clock. */
  chunks: Array<{ atMs: number; text: string }>;
  /** Time until response headers, ms since send. */
  headersMs: number;
  /** Set when the response was cut before its end. */
  error: string | null;
}

/** POSTs `body` and records when each chunk of the response arrives. Never throws for HTTP-level failures. */
export function post(url: string, body: unknown, opts: { path?: string; signal?: AbortSignal } = {}): Promise<ClientResult> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = http.request(`${url}${opts.path ?? '/v1/completions'}`, {
      method: 'POST',
      agent: false,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      signal: opts.signal,
    });
    req.on('error', reject);
    req.on('response', (res) => {
      const headersMs = performance.now() - t0;
      const chunkTimesMs: number[] = [];
      const chunks: Array<{ atMs: number; text: string }> = [];
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        chunkTimesMs.push(performance.now() - t0);
        chunks.push({ atMs: nowMs(), text: c });
        text += c;
      });
      res.on('error', () => undefined);
      res.on('close', () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, chunkTimesMs, chunks, headersMs, error: res.complete ? null : 'response cut' });
      });
    });
    req.end(payload);
  });
}

/**
 * For every SSE event that carries the upstream's `sentAtMs`, how long after it was written it reached the
 * client. Small delays for every event mean nothing in between held chunks back.
 */
export function eventDelaysMs(r: ClientResult): number[] {
  const delays: number[] = [];
  for (const c of r.chunks) {
    for (const m of c.text.matchAll(/"sentAtMs":([\d.]+)/g)) delays.push(c.atMs - Number(m[1]));
  }
  return delays;
}

/** Waits until `cond` holds, polling every 5 ms, for at most `timeoutMs`. */
export async function waitFor(cond: () => boolean, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
