// `load.rateFromCapacity`: before the run, drive the baseline pipeline closed-loop for a few seconds, take the
// requests/s it completed as its capacity on this machine, and set the open-loop rate to a multiple of it.
// A fixed rate means "2x capacity" on one machine and "0.8x" on another; a measured one travels.
import type { Scenario } from '../../scenarios/types.js';
import { summarizeColumns } from '../../stats/summarize.js';
import { pooledRequests } from '../pipelineResult.js';
import { runPipelineOnce } from '../pipelineRun.js';
import type { PreparedPipeline } from './prepare.js';
import type { TokenCounter } from '../load/tokenCounter.js';
import type { Workload } from './workload.js';

/** What the probe measured and the rate it chose. */
export interface CapacityProbe {
  pipeline: string;
  concurrency: number;
  durationMs: number;
  completed: number;
  /** Completed requests/s of the probe (its capacity estimate). */
  requestsPerSecond: number;
  factor: number;
  /** factor x requestsPerSecond. */
  rate: number;
  /** KV bound (tokens per sequence) the probed local servers were started with; null for a remote target. */
  maxContext: number | null;
}

/** Probe users by default: enough to fill every batch row of every replica twice over. */
export function probeConcurrency(scenario: Scenario, baseline: PreparedPipeline): number {
  const given = scenario.load.rateFromCapacity?.concurrency;
  if (given) return given;
  const s = baseline.spec;
  return s.kind === 'local' ? 2 * s.serving.maxBatch * s.serving.replicas : 8;
}

/** Runs the probe; throws when the baseline completed nothing (no capacity to scale). */
export async function probeCapacity(
  scenario: Scenario,
  baseline: PreparedPipeline,
  workload: Workload,
  tokenizer: TokenCounter | null,
  o: { signal: AbortSignal; onProgress: (line: string) => void; readyTimeoutMs: number; monitorIntervalMs: number },
): Promise<CapacityProbe> {
  const rc = scenario.load.rateFromCapacity;
  if (!rc) throw new Error('probeCapacity needs load.rateFromCapacity');
  const concurrency = probeConcurrency(scenario, baseline);
  o.onProgress(`capacity probe: ${baseline.spec.name}, ${concurrency} closed-loop users for ${rc.probeMs / 1000} s`);
  const probeScenario: Scenario = {
    ...scenario,
    repeat: 1,
    load: { ...scenario.load, profile: 'concurrency', concurrency, rate: null, rateFromCapacity: null, maxConcurrency: null, durationMs: rc.probeMs, requests: null, warmupRequests: Math.max(1, scenario.load.warmupRequests) },
  };
  // No faults in a probe: it measures what the pipeline can do when healthy.
  const prepared: PreparedPipeline = baseline.spec.kind === 'local' ? { ...baseline, spec: { ...baseline.spec, faults: [] } } : baseline;
  const out = await runPipelineOnce({
    prepared,
    scenario: probeScenario,
    workload,
    tokenizer,
    repeat: 0,
    signal: o.signal,
    onProgress: (l) => o.onProgress(`capacity probe ${l}`),
    monitorIntervalMs: o.monitorIntervalMs,
    readyTimeoutMs: o.readyTimeoutMs,
  });
  const summary = summarizeColumns(pooledRequests([], out.levels), [], {
    profile: 'concurrency',
    slo: null,
    intendedRate: null,
    dispatchLagMs: [],
    clientCpuPct: null,
    modelFileBytes: null,
    faultsInjected: false,
  });
  if (out.error !== null || summary.counts.ok === 0) {
    throw new Error(`capacity probe of "${baseline.spec.name}" measured nothing${out.error ? `: ${out.error}` : ''}`);
  }
  const requestsPerSecond = summary.requestsPerSecond;
  const probe: CapacityProbe = {
    pipeline: baseline.spec.name,
    concurrency,
    durationMs: rc.probeMs,
    completed: summary.counts.ok,
    requestsPerSecond,
    factor: rc.factor,
    rate: rc.factor * requestsPerSecond,
    maxContext: baseline.spec.kind === 'local' ? baseline.spec.serving.maxContext : null,
  };
  o.onProgress(`capacity probe: ${requestsPerSecond.toFixed(2)} req/s completed; open-loop rate set to ${probe.rate.toFixed(2)} req/s (${rc.factor}x)`);
  return probe;
}
