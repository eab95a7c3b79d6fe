// `npm run bench:server`: aggregate output tokens/s of one `llmbench serve` process at increasing numbers of
// concurrent streaming clients (closed loop), with p50 TTFT, so continuous batching shows up as throughput that
// grows with concurrency. Every server it starts is on 127.0.0.1 and is stopped at the end or on error.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createParser } from 'eventsource-parser';
import { median, quantileSorted } from '../stats/quantile.js';
import { READY_PREFIX } from '../commands/serve.js';

/** What to measure. */
export interface ServerBenchOptions {
  /** Path of bin/llmbench.js. */
  bin: string;
  model: string;
  /** null = fp32 (the model as is). */
  variants: Array<string | null>;
  clients: number[];
  requestsPerClient: number;
  /** Interleaved repetitions of the whole level sequence. */
  rounds: number;
  maxTokens: number;
  maxBatch: number;
  threads: number | null;
  log: (line: string) => void;
}

/** One concurrency level of one variant. */
export interface ServerBenchRow {
  variant: string;
  clients: number;
  requests: number;
  errors: number;
  outputTokens: number;
  windowMs: number;
  outputTokensPerSecond: number;
  /** Median over rounds of output tokens / window. */
  speedup: number | null;
  ttftP50Ms: number | null;
  /** Mean sequences per engine step while this level ran (median over rounds), from /metrics. */
  meanBatch: number | null;
}

interface RequestResult {
  ok: boolean;
  ttftMs: number | null;
  outputTokens: number;
}

const PROMPTS = [
  'The history of the river valley begins with',
  'In the small workshop behind the station, the engineer',
  'Every morning the market opens before sunrise and',
  'The committee met again to discuss the new bridge, and',
  'She read the letter twice, then walked to the window and',
  'Long before the railway reached the town, people travelled',
  'The recipe calls for flour, water and salt, but the secret is',
  'When the storm finally passed, the fishermen',
];

async function streamCompletion(url: string, prompt: string, maxTokens: number): Promise<RequestResult> {
  const t0 = performance.now();
  let ttftMs: number | null = null;
  let outputTokens = 0;
  let ok = false;
  try {
    const r = await fetch(`${url}/v1/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt, max_tokens: maxTokens, temperature: 0, stream: true, stream_options: { include_usage: true } }),
    });
    if (r.status !== 200 || !r.body) return { ok: false, ttftMs: null, outputTokens: 0 };
    const parser = createParser({
      onEvent(ev) {
        if (ev.data === '[DONE]') return;
        const chunk = JSON.parse(ev.data) as { choices?: Array<{ text?: string; finish_reason?: string | null }>; usage?: { completion_tokens: number } | null; error?: unknown };
        if (chunk.error) return;
        if (ttftMs === null && chunk.choices?.[0]?.text) ttftMs = performance.now() - t0;
        if (chunk.usage) {
          outputTokens = chunk.usage.completion_tokens;
          ok = true;
        }
      },
    });
    const decoder = new TextDecoder();
    for await (const part of r.body) parser.feed(decoder.decode(part, { stream: true }));
  } catch {
    ok = false;
  }
  return { ok, ttftMs, outputTokens };
}

interface Server {
  url: string;
  child: ChildProcessWithoutNullStreams;
  stop(): Promise<void>;
}

async function startServer(o: ServerBenchOptions, variant: string | null, maxBatch: number): Promise<Server> {
  const args = [o.bin, 'serve', '--model', o.model, '--port', '0', '--max-batch', String(maxBatch), '--max-queue', '256', '--timeout-ms', '0'];
  if (variant) args.push('--quantize', variant);
  if (o.threads !== null) args.push('--threads', String(o.threads));
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    for (const l of d.toString().split('\n')) if (l.trim()) o.log(`  [serve] ${l.trim()}`);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const line = buf.split('\n').find((l) => l.startsWith(READY_PREFIX));
      if (line) resolve((JSON.parse(line.slice(READY_PREFIX.length)) as { url: string }).url);
    });
    void exited.then(() => reject(new Error(`llmbench serve exited before it was ready:\n${stderr}`)));
  });
  return {
    url,
    child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
    },
  };
}

/** Closed loop: `clients` workers, each sending `requestsPerClient` streaming requests back to back. */
async function measureLevel(url: string, o: ServerBenchOptions, clients: number): Promise<{ results: RequestResult[]; windowMs: number }> {
  const t0 = performance.now();
  const results: RequestResult[] = [];
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      for (let i = 0; i < o.requestsPerClient; i++) {
        results.push(await streamCompletion(url, PROMPTS[(c + i * clients) % PROMPTS.length] as string, o.maxTokens));
      }
    }),
  );
  return { results, windowMs: performance.now() - t0 };
}

interface LevelRound {
  results: RequestResult[];
  windowMs: number;
  /** Mean sequences per engine step during the round (from /metrics deltas). */
  meanBatch: number | null;
}

async function batchCounters(url: string): Promise<{ sum: number; count: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const get = (name: string): number => Number(text.split('\n').find((l) => l.startsWith(`${name} `))?.split(' ')[1] ?? NaN);
  return { sum: get('llmbench_batch_size_sum'), count: get('llmbench_batch_size_count') };
}


/**
 * Runs every variant at every concurrency level. One server per variant; the levels are interleaved over
 * `rounds` (1, 2, 4, 8, 1, 2, 4, 8, ...) so load drift from other processes hits every level alike, and each
 * level reports the median throughput of its rounds.
 */
export async function runServerBench(o: ServerBenchOptions): Promise<ServerBenchRow[]> {
  const rows: ServerBenchRow[] = [];
  for (const variant of o.variants) {
    const name = variant ?? 'fp32';
    const server = await startServer(o, variant, o.maxBatch);
    try {
      await streamCompletion(server.url, PROMPTS[0] as string, 8);
      const rounds = new Map<number, LevelRound[]>(o.clients.map((c) => [c, []]));
      for (let r = 0; r < o.rounds; r++) {
        for (const clients of o.clients) {
          const before = await batchCounters(server.url);
          const { results, windowMs } = await measureLevel(server.url, o, clients);
          const after = await batchCounters(server.url);
          const steps = after.count - before.count;
          const meanBatch = steps > 0 ? (after.sum - before.sum) / steps : null;
          rounds.get(clients)?.push({ results, windowMs, meanBatch });
          const tokens = results.reduce((n, x) => n + x.outputTokens, 0);
          o.log(`${name} round ${r + 1}: ${clients} client(s): ${(tokens / (windowMs / 1000)).toFixed(1)} tok/s, mean batch ${meanBatch?.toFixed(2) ?? '-'}`);
        }
      }
      let base: number | null = null;
      for (const clients of o.clients) {
        const rs = rounds.get(clients) ?? [];
        const all = rs.flatMap((x) => x.results);
        const ok = all.filter((x) => x.ok);
        const tpsPerRound = rs.map((x) => x.results.reduce((n, y) => n + y.outputTokens, 0) / (x.windowMs / 1000));
        const tps = median(tpsPerRound);
        if (clients === 1) base = tps;
        const ttfts = ok.map((x) => x.ttftMs).filter((x): x is number => x !== null).sort((a, b) => a - b);
        const batches = rs.map((x) => x.meanBatch).filter((x): x is number => x !== null);
        rows.push({
          variant: name,
          clients,
          requests: all.length,
          errors: all.length - ok.length,
          outputTokens: ok.reduce((n, x) => n + x.outputTokens, 0),
          windowMs: rs.reduce((n, x) => n + x.windowMs, 0),
          outputTokensPerSecond: tps,
          speedup: base ? tps / base : null,
          ttftP50Ms: ttfts.length ? quantileSorted(ttfts, 0.5) : null,
          meanBatch: batches.length ? median(batches) : null,
        });
      }
    } finally {
      await server.stop();
    }
  }
  return rows;
}

/** Markdown table of the rows. */
export function renderServerBench(rows: readonly ServerBenchRow[]): string {
  const head = '| variant | clients | requests (errors) | output tokens | measured s | output tok/s | vs 1 client | p50 TTFT ms | mean batch |';
  const sep = '|---|---:|---:|---:|---:|---:|---:|---:|---:|';
  const lines = rows.map(
    (r) =>
      `| ${r.variant} | ${r.clients} | ${r.requests} (${r.errors}) | ${r.outputTokens} | ${(r.windowMs / 1000).toFixed(2)} | ${r.outputTokensPerSecond.toFixed(1)} | ` +
      `${r.speedup === null ? '-' : `${r.speedup.toFixed(2)}x`} | ${r.ttftP50Ms === null ? '-' : r.ttftP50Ms.toFixed(0)} | ${r.meanBatch === null ? '-' : r.meanBatch.toFixed(2)} |`,
  );
  return [head, sep, ...lines].join('\n');
}
