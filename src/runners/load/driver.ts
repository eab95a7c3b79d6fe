// Follows a DrivePlan: sends workload requests through the streaming client at the planned times
// (open loop) or as fast as N users can (closed loop), and collects one Sample per request.
import { performance } from 'node:perf_hooks';
import { HdrHistogram } from '../../stats/hdrHistogram.js';
import type { Sample } from '../../types.js';
import { ConcurrencyLimiter } from './limiter.js';
import type { DrivePlan } from '../plan/schedule.js';
import type { StreamClient } from './streamClient.js';
import type { WorkloadRequest } from '../plan/workload.js';

/** Live counters a progress line can read while a level runs. */
export interface DriveProgress {
  sent: number;
  done: number;
  failed: number;
}

/** What a driver needs besides the plan. */
export interface DriveOptions {
  client: StreamClient;
  /** The k-th request of this pipeline repeat (warm-up included) and its body. */
  request(k: number): { req: WorkloadRequest; body: string };
  path: string;
  stream: boolean;
  timeoutMs: number;
  /** Ordinal of this level's first request within the repeat (the workload decides whether prompts repeat). */
  firstRequest: number;
  signal?: AbortSignal;
  progress?: DriveProgress;
  /** Called with the level's start (performance.now()) before the first request goes out. */
  onStart?: (startAt: number) => void;
  /**
   * Takes each finished sample. With a sink the driver keeps no samples (a long run's memory stays flat: the
   * sink stores what it needs); without one they are returned in `samples`.
   */
  onSample?: (s: Sample) => void;
}

export interface DriveResult {
  /** Every sample, when no `onSample` sink took them; else empty. */
  samples: Sample[];
  /**
   * Per open-loop request, how late the dispatcher was relative to the schedule (not counting cap waits), in us:
   * a histogram, not a list, so memory does not grow per request (exact below 1.024 ms, then within 0.2%).
   */
  dispatchLag: HdrHistogram;
  /** Client process CPU over the level, % of one core. */
  clientCpuPct: number;
  wallMs: number;
  /** Workload requests consumed (for the next level's firstRequest). */
  consumed: number;
  aborted: boolean;
}

/** Where finished samples go: the caller's sink, or a list returned with the result. */
function sinkOf(o: DriveOptions): { samples: Sample[]; take: (s: Sample) => void } {
  const samples: Sample[] = [];
  return { samples, take: o.onSample ?? ((s) => samples.push(s)) };
}

/** Sends workload request j; the returned promise settles when its sample is complete (never rejects). */
function sendOne(o: DriveOptions, j: number, scheduledAt: number, warmup: boolean): Promise<Sample> {
  const { req, body } = o.request(o.firstRequest + j);
  if (o.progress) o.progress.sent++;
  return o.client.send({
    index: req.index,
    warmup,
    path: o.path,
    body,
    stream: o.stream,
    scheduledAt,
    timeoutMs: o.timeoutMs,
    promptTokens: req.promptTokens,
    maxTokens: req.maxTokens,
  });
}

function counted(o: DriveOptions, s: Sample): Sample {
  if (o.progress) {
    o.progress.done++;
    if (s.status === 'error' || s.status === 'timeout') o.progress.failed++;
  }
  return s;
}

async function runClosed(plan: Extract<DrivePlan, { kind: 'closed' }>, o: DriveOptions, t0: number, warmup: boolean) {
  const sink = sinkOf(o);
  const deadline = t0 + plan.durationMs;
  let next = 0;
  const user = async (): Promise<void> => {
    while (!o.signal?.aborted && next < plan.maxRequests && performance.now() < deadline) {
      const j = next++;
      // In a closed loop a user sends as soon as its previous request finished: scheduled = sent.
      sink.take(counted(o, await sendOne(o, j, performance.now(), warmup)));
    }
  };
  await Promise.all(Array.from({ length: plan.concurrency }, user));
  return { samples: sink.samples, dispatchLag: new HdrHistogram(), consumed: next };
}

function runOpen(plan: Extract<DrivePlan, { kind: 'open' }>, o: DriveOptions, t0: number) {
  return new Promise<{ samples: Sample[]; dispatchLag: HdrHistogram; consumed: number }>((resolve) => {
    const sink = sinkOf(o);
    const lags = new HdrHistogram();
    const limiter = plan.maxConcurrency !== null ? new ConcurrencyLimiter(plan.maxConcurrency) : null;
    const arrivals = plan.arrivalsMs;
    let i = 0;
    let timer: NodeJS.Timeout | null = null;
    /** Requests dispatched whose sample has not come back yet. */
    let outstanding = 0;
    let allDispatched = false;

    // Plain callbacks, not an async closure per request: at thousands of requests/s every promise and closure
    // on this path is CPU the dispatcher needs to keep time.
    const settle = (): void => {
      if (allDispatched && outstanding === 0) resolve({ samples: sink.samples, dispatchLag: lags, consumed: i });
    };
    const onSample = (s: Sample): void => {
      limiter?.release();
      sink.take(counted(o, s));
      outstanding--;
      settle();
    };
    // A request that waited for the cap keeps its scheduled time: the wait is latency.
    const send = (j: number, scheduledAt: number): void => {
      if (o.signal?.aborted) {
        limiter?.release();
        outstanding--;
        settle();
        return;
      }
      void sendOne(o, j, scheduledAt, false).then(onSample);
    };
    const dispatch = (j: number, now: number): void => {
      const scheduledAt = t0 + (arrivals[j] as number);
      lags.record((now - scheduledAt) * 1000);
      outstanding++;
      if (limiter) void limiter.acquire().then(() => send(j, scheduledAt));
      else send(j, scheduledAt);
    };

    const finishAll = (): void => {
      o.signal?.removeEventListener('abort', onAbort);
      allDispatched = true;
      settle();
    };
    const onAbort = (): void => {
      if (timer) clearTimeout(timer);
      timer = null;
      finishAll();
    };
    const pump = (): void => {
      timer = null;
      const now = performance.now();
      const rel = now - t0;
      while (i < arrivals.length && (arrivals[i] as number) <= rel) dispatch(i++, now);
      if (i < arrivals.length && !o.signal?.aborted) {
        timer = setTimeout(pump, Math.max(0, (arrivals[i] as number) - (performance.now() - t0)));
      } else if (!o.signal?.aborted) {
        finishAll();
      }
    };
    o.signal?.addEventListener('abort', onAbort, { once: true });
    pump();
  });
}

/** Runs one level of load; resolves when every request sent has a Sample. */
export async function drive(plan: DrivePlan, o: DriveOptions): Promise<DriveResult> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  o.onStart?.(t0);
  const onAbort = (): void => o.client.abortAll('run interrupted');
  o.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const r = plan.kind === 'closed' ? await runClosed(plan, o, t0, false) : await runOpen(plan, o, t0);
    const wallMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    return {
      ...r,
      clientCpuPct: wallMs > 0 ? ((cpu.user + cpu.system) / 1000 / wallMs) * 100 : 0,
      wallMs,
      aborted: o.signal?.aborted === true,
    };
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
  }
}

/** Sends `count` warm-up requests, `concurrency` at a time; their samples are marked warmup. */
export async function warmUp(count: number, concurrency: number, o: DriveOptions): Promise<Sample[]> {
  if (count <= 0) return [];
  const t0 = performance.now();
  const r = await runClosed({ kind: 'closed', concurrency: Math.min(count, concurrency), durationMs: Number.POSITIVE_INFINITY, maxRequests: count }, { ...o, onSample: undefined }, t0, true);
  return r.samples;
}
