// Proxy overhead benchmark (`npm run bench:balance`): the same streaming requests sent straight to an upstream,
// through the built-in balancer (as a child process, the way pipelines run it) and through nginx, interleaved
// in rounds so machine drift hits every target alike. Reports TTFT/E2E distributions and requests/s.
import http from 'node:http';
import autocannon from 'autocannon';
import { isLlmbenchError } from '../errors.js';
import { distribution } from '../stats/distribution.js';
import type { BalancerPolicy, Distribution } from '../types.js';
import { startNginx } from '../balancer/nginx.js';
import type { BalancerHandle } from '../balancer/options.js';
import { spawnBuiltinBalancer } from '../balancer/spawn.js';

export type BenchTargetKind = 'direct' | 'builtin' | 'nginx';

/** What to measure and against which upstreams. */
export interface OverheadBenchOptions {
  upstreams: Array<{ name: string; url: string }>;
  /** Request path and JSON body of the streaming requests (OpenAI completions or chat). */
  path: string;
  body: string;
  /** Path used for the throughput phase (the synthetic upstream answers `?instant=1` without delays). */
  throughputPath: string;
  /** Sequential streaming requests per target, split over `rounds`. */
  latencyRequests: number;
  rounds: number;
  warmupRequests: number;
  /** 0 skips the throughput phase. */
  throughputSeconds: number;
  throughputConnections: number;
  policy: BalancerPolicy;
  targets: BenchTargetKind[];
  log(line: string): void;
}

/** Measurements for one target. */
export interface TargetMeasurement {
  target: BenchTargetKind;
  /** Why a target was not measured (e.g. nginx missing); null when it was. */
  skipped: string | null;
  ttftMs: Distribution;
  e2eMs: Distribution;
  errors: number;
  requestsPerSecond: number | null;
  throughputLatencyP50Ms: number | null;
  throughputNon2xx: number;
}

interface Target {
  kind: BenchTargetKind;
  url: string;
  handle: BalancerHandle | null;
  agent: http.Agent;
  ttft: number[];
  e2e: number[];
  errors: number;
}

/** TTFT: first SSE event carrying non-empty generated text (completions `text` or chat `delta.content`). */
function hasContent(event: string): boolean {
  for (const line of event.split('\n')) {
    if (!line.startsWith('data:')) continue;
    const data = line.slice(5).trim();
    if (data === '' || data === '[DONE]') continue;
    try {
      const j = JSON.parse(data) as { choices?: Array<{ text?: string; delta?: { content?: string } }> };
      const c = j.choices?.[0];
      if ((c?.text ?? c?.delta?.content ?? '') !== '') return true;
    } catch {
      // not JSON: not content
    }
  }
  return false;
}

function streamOnce(t: Target, path: string, body: string): Promise<{ ttftMs: number; e2eMs: number } | null> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    let ttftMs: number | null = null;
    let buf = '';
    const req = http.request(`${t.url}${path}`, {
      method: 'POST',
      agent: t.agent,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
    });
    req.setNoDelay(true);
    req.on('error', () => resolve(null));
    req.on('response', (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        res.on('end', () => resolve(null));
        return;
      }
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        if (ttftMs !== null) return;
        buf += c;
        const events = buf.split('\n\n');
        buf = events.pop() ?? '';
        if (events.some(hasContent)) ttftMs = performance.now() - t0;
      });
      res.on('end', () => resolve(ttftMs === null ? null : { ttftMs, e2eMs: performance.now() - t0 }));
      res.on('error', () => resolve(null));
    });
    req.end(body);
  });
}

async function sendSequential(t: Target, n: number, o: OverheadBenchOptions, record: boolean): Promise<void> {
  for (let i = 0; i < n; i++) {
    const r = await streamOnce(t, o.path, o.body);
    if (!record) continue;
    if (r === null) t.errors += 1;
    else {
      t.ttft.push(r.ttftMs);
      t.e2e.push(r.e2eMs);
    }
  }
}

async function startTarget(kind: BenchTargetKind, o: OverheadBenchOptions): Promise<{ handle: BalancerHandle | null; url: string }> {
  const first = o.upstreams[0];
  if (!first) throw new Error('no upstream to benchmark');
  if (kind === 'direct') return { handle: null, url: first.url };
  const handle = kind === 'builtin' ? await spawnBuiltinBalancer({ upstreams: o.upstreams, policy: o.policy }) : await startNginx({ upstreams: o.upstreams });
  return { handle, url: handle.url };
}

/** Runs the benchmark; every process it starts is stopped before it returns or throws. */
export async function runOverheadBench(o: OverheadBenchOptions): Promise<TargetMeasurement[]> {
  const targets: Target[] = [];
  const skipped = new Map<BenchTargetKind, string>();
  try {
    for (const kind of o.targets) {
      try {
        const { handle, url } = await startTarget(kind, o);
        targets.push({ kind, url, handle, agent: new http.Agent({ keepAlive: true, maxSockets: 1 }), ttft: [], e2e: [], errors: 0 });
        o.log(`${kind}: ${url}`);
      } catch (e) {
        if (kind === 'nginx' && isLlmbenchError(e) && e.code === 'NGINX') {
          skipped.set(kind, e.message.split('\n')[0] ?? 'nginx unavailable');
          o.log(`nginx skipped: ${skipped.get(kind)}`);
        } else throw e;
      }
    }
    for (const t of targets) await sendSequential(t, o.warmupRequests, o, false);

    const perRound = Math.max(1, Math.ceil(o.latencyRequests / o.rounds));
    for (let r = 0; r < o.rounds; r++) {
      // Rotate the order each round so no target always runs first (or right after another).
      for (let k = 0; k < targets.length; k++) {
        const t = targets[(r + k) % targets.length];
        if (t) await sendSequential(t, perRound, o, true);
      }
      o.log(`latency round ${r + 1}/${o.rounds} done`);
    }

    const throughput = new Map<BenchTargetKind, { rps: number; p50: number; non2xx: number }>();
    if (o.throughputSeconds > 0) {
      for (const t of targets) {
        const res = await autocannon({
          url: `${t.url}${o.throughputPath}`,
          method: 'POST',
          body: o.body,
          headers: { 'content-type': 'application/json' },
          connections: o.throughputConnections,
          duration: o.throughputSeconds,
        });
        throughput.set(t.kind, { rps: res.requests.average, p50: res.latency.p50, non2xx: res.non2xx + res.errors });
        o.log(`${t.kind}: ${res.requests.average.toFixed(0)} req/s`);
      }
    }

    return o.targets.map((kind) => {
      const t = targets.find((x) => x.kind === kind);
      const tp = throughput.get(kind);
      return {
        target: kind,
        skipped: skipped.get(kind) ?? null,
        ttftMs: distribution(t?.ttft ?? []),
        e2eMs: distribution(t?.e2e ?? []),
        errors: t?.errors ?? 0,
        requestsPerSecond: tp?.rps ?? null,
        throughputLatencyP50Ms: tp?.p50 ?? null,
        throughputNon2xx: tp?.non2xx ?? 0,
      };
    });
  } finally {
    for (const t of targets) {
      t.agent.destroy();
      await t.handle?.stop();
    }
  }
}

const fmt = (v: number | null, digits = 2): string => (v === null ? '—' : v.toFixed(digits));

/** Markdown table of the results; overhead columns are relative to the `direct` row. */
export function renderOverheadTable(results: readonly TargetMeasurement[], connections: number): string {
  const direct = results.find((r) => r.target === 'direct');
  const lines = [
    `| target | requests | errors | p50 TTFT ms | p99 TTFT ms | p50 TTFT added ms | p50 E2E ms | p50 E2E added ms | req/s (${connections} conns) | p50 ms under load |`,
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of results) {
    if (r.skipped !== null) {
      lines.push(`| ${r.target} | skipped: ${r.skipped} | | | | | | | | |`);
      continue;
    }
    const added = (a: number | null, b: number | null | undefined): string => (a === null || b == null ? '—' : (a - b).toFixed(2));
    lines.push(
      `| ${r.target} | ${r.ttftMs.count} | ${r.errors} | ${fmt(r.ttftMs.p50)} | ${fmt(r.ttftMs.p99)} | ` +
        `${r.target === 'direct' ? '0' : added(r.ttftMs.p50, direct?.ttftMs.p50)} | ${fmt(r.e2eMs.p50)} | ` +
        `${r.target === 'direct' ? '0' : added(r.e2eMs.p50, direct?.e2eMs.p50)} | ${fmt(r.requestsPerSecond, 0)} | ${fmt(r.throughputLatencyP50Ms, 1)} |`,
    );
  }
  const notes = results.flatMap((r) => r.ttftMs.notes.map((n) => `${r.target} TTFT ${n}`));
  return [...lines, ...(notes.length > 0 ? ['', ...notes.map((n) => `- ${n}`)] : [])].join('\n');
}
