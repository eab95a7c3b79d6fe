// Synthetic large runs for `npm run bench:scale`: seeded samples for several pipelines, written through the
// same request log, summaries and result writer a real run uses, so report/compare/gate can be timed on them.
// The latencies are synthetic (lognormal TTFT and gaps); the point is the size, not the numbers.
import { statSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { compactSample } from '../result/requestRows.js';
import { RequestLog, requestsFileName } from '../result/requestLog.js';
import { storedRunResult } from '../result/storedResult.js';
import { writeResultFile } from '../result/resultFile.js';
import { collectProvenance } from '../runners/provenance.js';
import { HdrHistogram } from '../stats/hdrHistogram.js';
import { createRng, randomNormal } from '../stats/rng.js';
import { summarizePipeline } from '../stats/summarize.js';
import type { PipelineResult, ResultFile, Sample } from '../types.js';

/** Shape of a synthetic run. */
export interface SyntheticRunOptions {
  /** Measured requests over all pipelines. */
  requests: number;
  pipelines: number;
  seed: number;
  /** Requests/s of each pipeline's open-loop schedule. */
  ratePerSec: number;
}

/** What writing it cost. */
export interface SyntheticRunWritten {
  dir: string;
  requests: number;
  folderBytes: number;
  writeMs: number;
}

const lognormal = (rng: () => number, median: number, sigma: number): number => median * Math.exp(sigma * randomNormal(rng));

function synthSample(rng: () => number, i: number, ratePerSec: number, speed: number, itl: HdrHistogram): Sample {
  const scheduledMs = (i / ratePerSec) * 1000;
  const outputTokens = 8 + Math.floor(rng() * 33);
  const ttftMs = lognormal(rng, 40 * speed, 0.35);
  let sum = 0;
  let max = 0;
  const failed = rng() < 0.002;
  for (let t = 1; t < outputTokens && !failed; t++) {
    const g = lognormal(rng, 12 * speed, 0.25);
    itl.record(g * 1000);
    sum += g;
    if (g > max) max = g;
  }
  const gaps = failed ? 0 : outputTokens - 1;
  const e2eMs = failed ? ttftMs * 0.5 : ttftMs + sum;
  const sample: Sample = {
    index: i % 512,
    warmup: false,
    status: failed ? 'error' : 'ok',
    error: failed ? 'HTTP 503' : null,
    httpStatus: failed ? 503 : 200,
    scheduledMs,
    sentMs: scheduledMs + rng() * 0.4,
    firstTokenMs: failed ? null : scheduledMs + ttftMs,
    endMs: scheduledMs + e2eMs + 0.2,
    ttftMs: failed ? null : ttftMs,
    e2eMs,
    tpotMs: failed ? null : gaps > 0 ? sum / gaps : 0,
    itlMs: [],
    itl: { count: gaps, meanMs: gaps > 0 ? sum / gaps : 0, maxMs: max },
    promptTokens: 64,
    outputTokens: failed ? 0 : outputTokens,
    outputTokensSource: 'usage',
    tokenCountMismatch: null,
    replica: `replica-${i % 2}`,
    retries: null,
    run: 0,
  };
  return compactSample(sample);
}

function folderBytes(dir: string): number {
  let total = 0;
  for (const f of readdirSync(dir)) total += statSync(join(dir, f)).size;
  return total;
}

/** Writes a synthetic run folder (result.json + one requests file per pipeline) and reports its size. */
export async function writeSyntheticRun(dir: string, o: SyntheticRunOptions): Promise<SyntheticRunWritten> {
  const t0 = performance.now();
  const names = Array.from({ length: o.pipelines }, (_, i) => (i === 0 ? 'baseline' : `variant-${i}`));
  const log = new RequestLog(dir, names);
  const pipelines: PipelineResult[] = [];
  const rng = createRng(o.seed);
  for (const [pi, name] of names.entries()) {
    const n = Math.floor(o.requests / o.pipelines) + (pi < o.requests % o.pipelines ? 1 : 0);
    // Each variant is 10% faster than the one before it.
    const speed = 0.9 ** pi;
    const itl = new HdrHistogram();
    const samples: Sample[] = [];
    for (let i = 0; i < n; i++) {
      const s = synthSample(rng, i, o.ratePerSec, speed, itl);
      samples.push(s);
      if (!log.append(pi, s)) await log.drained(pi);
    }
    const itlHistogram = itl.toData();
    const summary = summarizePipeline(samples, [], {
      profile: 'constant',
      slo: { ttftMs: 100, tpotMs: null, e2eMs: null },
      intendedRate: o.ratePerSec,
      dispatchLagMs: samples.map((s) => s.sentMs - s.scheduledMs),
      clientCpuPct: null,
      modelFileBytes: null,
      faultsInjected: false,
      itlHistogram,
    });
    pipelines.push({
      name,
      baseline: pi === 0,
      spec: { name, synthetic: true },
      summary,
      quality: null,
      samples,
      itlHistogram,
      resources: null,
      sweep: null,
      events: [],
      complete: true,
      error: null,
    });
  }
  await log.close();
  const now = new Date().toISOString();
  const result: ResultFile = {
    schemaVersion: 2,
    runId: `synthetic-${o.requests}`,
    startedAt: now,
    finishedAt: now,
    complete: true,
    scenario: {
      name: 'synthetic-scale',
      load: { profile: 'constant', rate: o.ratePerSec },
      slo: { ttftMs: 100, tpotMs: null, e2eMs: null },
      gates: ['speedup(outputTokensPerSecond) >= 0.5', 'variant.ttftMs.p95 <= 1000ms'],
    },
    provenance: await collectProvenance({}),
    repeats: 1,
    pipelines,
  };
  await writeResultFile(dir, storedRunResult(result, (_p, i) => ({ file: requestsFileName(i), rows: log.rows(i) })));
  return { dir, requests: o.requests, folderBytes: folderBytes(dir), writeMs: performance.now() - t0 };
}
