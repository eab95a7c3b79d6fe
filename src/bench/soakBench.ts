// `npm run bench:soak`: long open-loop `llmbench run`s against a trivial local SSE server (its own process, 4 chunks
// per response), then `report` and `gate` on the result, each timed with its peak RSS. While a run drives load the
// bench reads the client's RSS from /proc every 100 ms, between the run's "load started" and "load done" progress
// lines: the RSS at the start, the peak during load and their difference per request say whether the client's
// memory grows per request. Two durations give the growth per request between them. Not a test.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

/** One timed command. */
export interface TimedCommand {
  label: string;
  code: number | null;
  seconds: number;
  cpuSeconds: number;
  /** Peak RSS of the whole process (getrusage), bytes. */
  peakRssBytes: number;
  stdout: string;
  stderr: string;
  /** Only for runs: RSS when load started, and its peak until load was done (bytes); measured requests. */
  load: { startRssBytes: number; peakRssBytes: number; requests: number } | null;
}

function rssOf(pid: number): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** Runs `node --require probe bin args`, sampling its RSS during load when it is a run. */
export function timedCommand(label: string, bin: string, probe: string, args: string[]): Promise<TimedCommand> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, ['--require', probe, bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let phase: 'before' | 'load' | 'after' = 'before';
    let startRss = Number.NaN;
    let peakLoad = 0;
    let requests = 0;
    const sample = (): void => {
      if (phase !== 'load' || child.pid === undefined) return;
      const rss = rssOf(child.pid);
      if (rss === null) return;
      if (Number.isNaN(startRss)) startRss = rss;
      peakLoad = Math.max(peakLoad, rss);
    };
    const timer = setInterval(sample, 100);
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => {
      const text = b.toString();
      stderr += text;
      if (phase === 'before' && /load started/.test(text)) {
        phase = 'load';
        sample();
      }
      const done = /load done: (\d+) requests/.exec(text);
      if (done && phase === 'load') {
        sample();
        requests = Number(done[1]);
        phase = 'after';
      }
    });
    child.once('error', reject);
    child.once('close', (code) => {
      clearInterval(timer);
      resolve({
        label,
        code,
        seconds: (performance.now() - t0) / 1000,
        cpuSeconds: Number(/LLMBENCH_CPU_US=(\d+)/.exec(stderr)?.[1] ?? Number.NaN) / 1e6,
        peakRssBytes: Number(/LLMBENCH_MAX_RSS_KB=(\d+)/.exec(stderr)?.[1] ?? Number.NaN) * 1024,
        stdout,
        stderr,
        load: requests > 0 ? { startRssBytes: startRss, peakRssBytes: peakLoad, requests } : null,
      });
    });
  });
}

const mb = (b: number): string => (b / 1e6).toFixed(0);

/** The client-memory lines of one run: RSS at load start, peak during load, growth per request. */
export function loadRssLine(r: TimedCommand): string {
  if (!r.load) return `${r.label}: no "load done" line seen; client RSS during load not measured`;
  const l = r.load;
  const perRequest = (l.peakRssBytes - l.startRssBytes) / l.requests;
  return (
    `client RSS ${r.label}: ${mb(l.startRssBytes)} MB at load start, peak ${mb(l.peakRssBytes)} MB during load (${l.requests} requests: ` +
    `${perRequest.toFixed(0)} bytes/request of growth); whole-process peak ${mb(r.peakRssBytes)} MB (includes the report run prints after load)`
  );
}

/** Growth of the load-phase peak between two runs, per extra request. */
export function growthLine(a: TimedCommand, b: TimedCommand): string {
  if (!a.load || !b.load || b.load.requests === a.load.requests) return 'growth between runs: not measured';
  const perRequest = (b.load.peakRssBytes - a.load.peakRssBytes) / (b.load.requests - a.load.requests);
  const whole = (b.peakRssBytes - a.peakRssBytes) / (b.load.requests - a.load.requests);
  return (
    `client RSS growth from ${a.load.requests} to ${b.load.requests} requests: ${perRequest.toFixed(0)} bytes/request during load ` +
    `(peak ${mb(a.load.peakRssBytes)} -> ${mb(b.load.peakRssBytes)} MB); whole process ${whole.toFixed(0)} bytes/request (${mb(a.peakRssBytes)} -> ${mb(b.peakRssBytes)} MB)`
  );
}
