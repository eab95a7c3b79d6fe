// `driver: autocannon`: plain (non-streaming) HTTP load with autocannon, for requests/s and latency of a
// route such as /v1/generate. autocannon aggregates into its own histograms, so there are no per-request
// samples (no TTFT, TPOT or ITL) from this driver.
import type { AutocannonStats } from '../../types.js';
import type { DrivePlan } from '../plan/schedule.js';

export interface AutocannonOptions {
  baseUrl: string;
  path: string;
  /** Request bodies, used in turn across all connections. */
  bodies: readonly string[];
  apiKey: string | null;
  plan: DrivePlan;
  timeoutMs: number;
  signal?: AbortSignal;
}

/** Connections for an open-loop plan when the scenario sets no cap. */
const DEFAULT_OPEN_CONNECTIONS = 64;

export const AUTOCANNON_NOTE =
  'autocannon driver: aggregate requests/s and response latency from autocannon histograms; no per-request ' +
  'samples, so no TTFT/TPOT/ITL, and latency is measured from when autocannon sent each request';

/** Runs autocannon for one plan and returns its aggregates. */
export async function runAutocannon(o: AutocannonOptions): Promise<AutocannonStats> {
  // Loaded on use: importing autocannon costs every llmbench command (report, gate) a few hundred ms at start.
  const { default: autocannon } = await import('autocannon');
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (o.apiKey) headers.authorization = `Bearer ${o.apiKey}`;
  const closed = o.plan.kind === 'closed';
  const connections = o.plan.kind === 'closed' ? o.plan.concurrency : (o.plan.maxConcurrency ?? DEFAULT_OPEN_CONNECTIONS);
  const intendedRate = o.plan.kind === 'open' ? o.plan.intendedRatePerSec : null;
  const amount = o.plan.kind === 'closed' ? o.plan.maxRequests : o.plan.arrivalsMs.length;
  let next = 0;
  let outputTokens = 0;
  const n = o.bodies.length;
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: o.baseUrl + o.path,
        connections,
        duration: o.plan.durationMs / 1000,
        ...(amount < 1_000_000 ? { amount } : {}),
        ...(closed ? {} : { overallRate: intendedRate as number }),
        timeout: Math.max(1, Math.ceil(o.timeoutMs / 1000)),
        headers,
        requests: [
          {
            method: 'POST',
            setupRequest: (req) => ({ ...req, body: o.bodies[next++ % n] as string }),
            onResponse: (status, body) => {
              if (status < 200 || status >= 300) return;
              try {
                const usage = (JSON.parse(body) as { usage?: { completion_tokens?: unknown } }).usage;
                if (typeof usage?.completion_tokens === 'number') outputTokens += usage.completion_tokens;
              } catch {
                // A 2xx body that is not JSON still counts as a response; it just reports no tokens.
              }
            },
          },
        ],
      },
      (err, r) => {
        o.signal?.removeEventListener('abort', onAbort);
        if (err || !r) {
          reject(err instanceof Error ? err : new Error(String(err)));
          return;
        }
        const ok = r['2xx'];
        resolve({
          durationMs: r.duration * 1000,
          connections: r.connections,
          intendedRate,
          requestsPerSecond: { mean: r.requests.mean, stddev: r.requests.stddev, min: r.requests.min, max: r.requests.max },
          latencyMs: {
            mean: r.latency.mean,
            stddev: r.latency.stddev,
            min: r.latency.min,
            max: r.latency.max,
            p50: r.latency.p50,
            p90: r.latency.p90,
            p97_5: r.latency.p97_5,
            p99: r.latency.p99,
          },
          total: ok + r.non2xx + r.errors,
          ok,
          non2xx: r.non2xx,
          errors: r.errors - r.timeouts,
          timeouts: r.timeouts,
          outputTokens,
          note: AUTOCANNON_NOTE,
        });
      },
    );
    const onAbort = (): void => instance.stop();
    o.signal?.addEventListener('abort', onAbort, { once: true });
  });
}
