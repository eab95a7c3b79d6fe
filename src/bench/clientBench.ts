// `npm run bench:client`: how fast the streaming client is, on one core, against trivial local servers
// (each in its own process), beside autocannon against the same server in the same run. Not a test.
import { spawn, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import autocannon from 'autocannon';
import { drive } from '../runners/load/driver.js';
import { StreamClient } from '../runners/load/streamClient.js';
import type { WorkloadRequest } from '../runners/plan/workload.js';

// Servers that do nothing but answer: a JSON response, and an SSE stream of `chunks` content chunks.
const SERVER_JS = `
const http = require('http');
const chunks = Number(process.argv[1]);
const json = JSON.stringify({ text: 'ok', usage: { prompt_tokens: 1, completion_tokens: 1 } });
const piece = (i) => 'data: ' + JSON.stringify({ id: 'c', object: 'text_completion', choices: [{ index: 0, text: ' t' + i, finish_reason: null }] }) + '\\n\\n';
const body = Array.from({ length: chunks }, (_, i) => piece(i)).join('') +
  'data: ' + JSON.stringify({ choices: [], usage: { prompt_tokens: 1, completion_tokens: chunks } }) + '\\n\\ndata: [DONE]\\n\\n';
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    if (chunks === 0) {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
      res.end(json);
    } else {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(body);
    }
  });
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => process.stdout.write(String(server.address().port) + '\\n'));
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
`;

export interface TrivialServer {
  url: string;
  child: ChildProcess;
}

/** Starts a trivial server in its own process: plain JSON (chunks 0) or an SSE stream of `chunks` chunks. */
export function startServer(chunks: number): Promise<TrivialServer> {
  const child = spawn(process.execPath, ['-e', SERVER_JS, String(chunks)], { stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.stdout?.once('data', (c: Buffer) => resolve({ url: `http://127.0.0.1:${c.toString().trim()}`, child }));
  });
}

const REQUESTS: WorkloadRequest[] = [{ index: 0, prompt: 'hi', messages: [], promptTokens: 1, maxTokens: 1 }];
const BODY = JSON.stringify({ prompt: 'hi', max_tokens: 1, stream: true });

/** Closed-loop run of the streaming client; returns requests/s and content chunks/s. */
export async function clientRun(url: string, stream: boolean, connections: number, durationMs: number) {
  const client = new StreamClient({ baseUrl: url, apiKey: null, tokenizer: null }, performance.now());
  try {
    const r = await drive(
      { kind: 'closed', concurrency: connections, durationMs, maxRequests: 10_000_000 },
      { client, request: () => ({ req: REQUESTS[0] as WorkloadRequest, body: BODY }), path: '/v1/completions', stream, timeoutMs: 10_000, firstRequest: 0 },
    );
    const ok = r.samples.filter((s) => s.status === 'ok');
    const chunks = ok.reduce((a, s) => a + (s.ttftMs === null ? 0 : s.itlMs.length + 1), 0);
    const cpuMs = (r.clientCpuPct / 100) * r.wallMs;
    return {
      requestsPerSecond: (ok.length / r.wallMs) * 1000,
      chunksPerSecond: (chunks / r.wallMs) * 1000,
      failed: r.samples.length - ok.length,
      cpuPct: r.clientCpuPct,
      cpuUsPerRequest: ok.length > 0 ? (cpuMs * 1000) / ok.length : Number.NaN,
      cpuUsPerChunk: chunks > 0 ? (cpuMs * 1000) / chunks : Number.NaN,
    };
  } finally {
    client.close();
  }
}

function autocannonRun(url: string, connections: number, durationMs: number): Promise<{ requestsPerSecond: number; failed: number; cpuUsPerRequest: number }> {
  return new Promise((resolve, reject) => {
    const cpu0 = process.cpuUsage();
    autocannon(
      { url: `${url}/v1/completions`, method: 'POST', body: BODY, headers: { 'content-type': 'application/json' }, connections, duration: durationMs / 1000 },
      (err, r) => {
        if (err || !r) reject(err instanceof Error ? err : new Error(String(err)));
        else {
          const cpu = process.cpuUsage(cpu0);
          resolve({ requestsPerSecond: r['2xx'] / r.duration, failed: r.non2xx + r.errors, cpuUsPerRequest: (cpu.user + cpu.system) / Math.max(1, r['2xx']) });
        }
      },
    );
  });
}

export interface ClientBenchOptions {
  connections: number;
  durationMs: number;
  /** Content chunks per SSE response. */
  chunks: number;
  rounds: number;
  log: (line: string) => void;
}

export interface ClientBenchResult {
  clientRequestsPerSecond: number[];
  autocannonRequestsPerSecond: number[];
  clientCpuPct: number[];
  /** Process CPU per completed request (user + system), the cost that caps req/s on one core. */
  clientCpuUsPerRequest: number[];
  autocannonCpuUsPerRequest: number[];
  sseCpuUsPerChunk: number[];
  sseRequestsPerSecond: number[];
  sseChunksPerSecond: number[];
  failed: number;
}

/** Runs client and autocannon alternately (A B A B) against the JSON server, then the client on SSE. */
export async function runClientBench(o: ClientBenchOptions): Promise<ClientBenchResult> {
  const plain = await startServer(0);
  const sse = await startServer(o.chunks);
  const out: ClientBenchResult = {
    clientRequestsPerSecond: [],
    autocannonRequestsPerSecond: [],
    clientCpuPct: [],
    clientCpuUsPerRequest: [],
    autocannonCpuUsPerRequest: [],
    sseCpuUsPerChunk: [],
    sseRequestsPerSecond: [],
    sseChunksPerSecond: [],
    failed: 0,
  };
  try {
    // Warm both paths (JIT, sockets) before anything is counted.
    await clientRun(plain.url, false, o.connections, 500);
    await autocannonRun(plain.url, o.connections, 500);
    for (let i = 0; i < o.rounds; i++) {
      const c = await clientRun(plain.url, false, o.connections, o.durationMs);
      const a = await autocannonRun(plain.url, o.connections, o.durationMs);
      out.clientRequestsPerSecond.push(c.requestsPerSecond);
      out.clientCpuPct.push(c.cpuPct);
      out.clientCpuUsPerRequest.push(c.cpuUsPerRequest);
      out.autocannonRequestsPerSecond.push(a.requestsPerSecond);
      out.autocannonCpuUsPerRequest.push(a.cpuUsPerRequest);
      out.failed += c.failed + a.failed;
      o.log(
        `round ${i + 1}: client ${c.requestsPerSecond.toFixed(0)} req/s (${c.cpuUsPerRequest.toFixed(1)} us CPU/req), ` +
          `autocannon ${a.requestsPerSecond.toFixed(0)} req/s (${a.cpuUsPerRequest.toFixed(1)} us CPU/req)`,
      );
    }
    await clientRun(sse.url, true, o.connections, 500);
    for (let i = 0; i < o.rounds; i++) {
      const s = await clientRun(sse.url, true, o.connections, o.durationMs);
      out.sseRequestsPerSecond.push(s.requestsPerSecond);
      out.sseChunksPerSecond.push(s.chunksPerSecond);
      out.sseCpuUsPerChunk.push(s.cpuUsPerChunk);
      out.failed += s.failed;
      o.log(`round ${i + 1}: SSE ${s.requestsPerSecond.toFixed(0)} req/s, ${s.chunksPerSecond.toFixed(0)} chunks/s (${s.cpuUsPerChunk.toFixed(2)} us CPU/chunk)`);
    }
  } finally {
    plain.child.stdin?.end();
    sse.child.stdin?.end();
  }
  return out;
}
