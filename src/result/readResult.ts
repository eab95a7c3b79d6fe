// Reading result files: every problem reported with the file and the field path, so a truncated or foreign
// JSON file gives one clear line instead of a stack trace deep inside a renderer. Versioned: schema 1 embeds
// every sample; schema 2 keeps summaries in result.json and per-request rows in a streamed sidecar per
// pipeline (or, in a saved baseline, embedded rows). Both load into the same ResultFile.
import { readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { LlmbenchError } from '../errors.js';
import { decodeRow, rowProblem, type RequestRow } from './requestRows.js';
import { readRequestRows } from './readRequests.js';
import { resummarizeFromRows } from './resummarize.js';
import type { HdrHistogramData, PipelineResult, ResultFile, Sample } from '../types.js';

/** Result-file versions this build reads. */
export const READABLE_VERSIONS = [1, 2] as const;

const num = z.number();
const numOrNull = z.number().nullable();

const distribution = z.looseObject({
  count: num,
  mean: numOrNull,
  min: numOrNull,
  max: numOrNull,
  p50: numOrNull,
  p90: numOrNull,
  p95: numOrNull,
  p99: numOrNull,
  notes: z.array(z.string()),
});

const summary = z.looseObject({
  counts: z.looseObject({ total: num, ok: num, error: num, timeout: num }),
  ttftMs: distribution,
  tpotMs: distribution,
  itlMs: distribution,
  e2eMs: distribution,
  windowMs: num,
  requestsPerSecond: num,
  outputTokensPerSecond: num,
  goodputRequestsPerSecond: numOrNull,
  outputTokens: num,
  tokenCountMismatches: num,
  memory: z.looseObject({
    peakRssBytes: numOrNull,
    steadyRssBytes: numOrNull,
    gpuPeakBytes: numOrNull,
    gpuSteadyBytes: numOrNull,
    modelFileBytes: numOrNull,
    processCount: num,
  }),
  load: z.looseObject({
    profile: z.string(),
    intendedRate: numOrNull,
    achievedRate: num,
    p95ScheduleLagMs: numOrNull,
    maxScheduleLagMs: numOrNull,
    clientCpuPct: numOrNull,
  }),
  replicas: z.array(z.looseObject({ replica: z.string(), requests: num, share: num, errors: num, e2eMs: distribution })),
  retries: num,
  valid: z.boolean(),
  // Prose from results written before reasons were data.
  invalidReasons: z.array(z.union([z.string().transform((text) => ({ kind: 'text' as const, text })), z.looseObject({ kind: z.string() })])),
});

const sample = z.looseObject({
  index: num,
  warmup: z.boolean(),
  status: z.enum(['ok', 'fallback', 'error', 'timeout']),
  error: z.string().nullable(),
  httpStatus: numOrNull,
  e2eMs: num,
  ttftMs: numOrNull,
  tpotMs: numOrNull,
  itlMs: z.array(num),
  outputTokens: num,
  replica: z.string().nullable(),
  retries: numOrNull,
});

const quality = z.looseObject({
  perplexity: num,
  referencePerplexity: numOrNull,
  perplexityDeltaPct: numOrNull,
  top1Agreement: numOrNull,
  meanKl: numOrNull,
  greedyAgreement: numOrNull,
});

const histogram = z.looseObject({
  unit: z.literal('us'),
  count: num,
  sumUs: num,
  minUs: num,
  maxUs: num,
  buckets: z.array(z.tuple([num, num])),
});

const pipelineCommon = {
  name: z.string().min(1),
  baseline: z.boolean(),
  spec: z.record(z.string(), z.unknown()),
  summary,
  quality: quality.nullable(),
  sweep: z.array(z.looseObject({ level: num, summary })).nullable(),
  events: z.array(z.looseObject({ atMs: num, kind: z.string(), detail: z.string() })),
  complete: z.boolean(),
  error: z.string().nullable(),
};

const pipelineV1 = z.looseObject({ ...pipelineCommon, samples: z.array(sample) });

/** Schema 2: rows in a sidecar file next to result.json, or embedded (baselines). */
const pipelineV2 = z.looseObject({
  ...pipelineCommon,
  requests: z.looseObject({ file: z.string().regex(/^[A-Za-z0-9._-]+$/), rows: num }).nullable().optional(),
  rows: z.array(z.array(z.unknown())).optional(),
  itlHistogram: histogram.nullable().optional(),
  dispatchLagHistogram: histogram.nullable().optional(),
  samplesThinnedFrom: num.nullable().optional(),
  /** Set on a checkpoint of a pipeline still running: the summary does not cover the rows yet. */
  summaryStale: z.boolean().optional(),
});

const resultCommon = {
  runId: z.string(),
  startedAt: z.string(),
  finishedAt: z.string(),
  complete: z.boolean(),
  scenario: z.record(z.string(), z.unknown()),
  provenance: z.looseObject({
    llmbenchVersion: z.string(),
    gitCommit: z.string().nullable(),
    node: z.string(),
    onnxruntime: z.string(),
    os: z.string(),
    cpuModel: z.string(),
    cpuCores: num,
    totalMemoryBytes: num,
    gpu: z.string().nullable(),
    modelHashes: z.record(z.string(), z.string()),
    int8Dot: z
      .object({ saturates: z.boolean(), probeExact: num, probeActual: num, cpuFlags: z.array(z.string()), arch: z.string() })
      .optional(),
  }),
  repeats: num,
};

const resultV1 = z.looseObject({ ...resultCommon, schemaVersion: z.literal(1), pipelines: z.array(pipelineV1).min(1) });
const resultV2 = z.looseObject({ ...resultCommon, schemaVersion: z.literal(2), pipelines: z.array(pipelineV2).min(1) });

function resultError(file: string, problem: string): LlmbenchError {
  return new LlmbenchError('RESULT', `${file}: ${problem}`, 'Pass a result.json written by `llmbench run` (results/<run-id>/result.json).');
}

function checked<T extends { pipelines: Array<{ name: string }> }>(schema: z.ZodType<T>, data: unknown, file: string): T {
  const r = schema.safeParse(data);
  if (!r.success) {
    const lines = r.error.issues.slice(0, 5).map((i) => `${i.path.length ? i.path.join('.') : '(top level)'}: ${i.message}`);
    const more = r.error.issues.length > 5 ? `\n  ... and ${r.error.issues.length - 5} more` : '';
    throw resultError(file, `not a valid llmbench result file\n  ${lines.join('\n  ')}${more}`);
  }
  const names = new Set<string>();
  for (const p of r.data.pipelines) {
    if (names.has(p.name)) throw resultError(file, `two pipelines are named "${p.name}"`);
    names.add(p.name);
  }
  return r.data;
}

function versionOf(data: unknown, file: string): number {
  const v = typeof data === 'object' && data !== null ? (data as Record<string, unknown>)['schemaVersion'] : undefined;
  if (typeof v !== 'number') return 1; // let the v1 schema name the missing field
  if (!(READABLE_VERSIONS as readonly number[]).includes(v)) {
    throw new LlmbenchError(
      'RESULT',
      `${file}: result schemaVersion ${v} is not one this llmbench reads (it reads ${READABLE_VERSIONS.join(' and ')})`,
      v > Math.max(...READABLE_VERSIONS) ? 'It was written by a newer llmbench: upgrade llmbench to read it.' : 'Re-run the scenario to get a current result file.',
    );
  }
  return v;
}

type V2Pipeline = z.infer<typeof pipelineV2>;

function decodeEmbedded(rows: unknown[][], file: string, pipeline: string): Sample[] {
  const names = new Map<string, string>();
  return rows.map((row, i) => {
    const problem = rowProblem(row);
    if (problem) throw resultError(file, `pipelines.${pipeline}.rows.${i}: ${problem}`);
    return decodeRow(row as RequestRow, names);
  });
}

function fromV2(p: V2Pipeline, samples: Sample[]): PipelineResult {
  const { requests: _r, rows: _rows, summaryStale: _s, ...rest } = p;
  return {
    ...(rest as unknown as PipelineResult),
    samples,
    itlHistogram: (p.itlHistogram ?? null) as HdrHistogramData | null,
    dispatchLagHistogram: (p.dispatchLagHistogram ?? null) as HdrHistogramData | null,
    samplesThinnedFrom: p.samplesThinnedFrom ?? null,
  };
}

/**
 * Checks parsed JSON against the result-file shape; `file` names the source in errors. Loads schema 1 and
 * schema 2 results whose rows are embedded (baselines); a run folder's sidecar files need readResultFile.
 */
export function validateResult(data: unknown, file: string): ResultFile {
  if (versionOf(data, file) === 1) {
    // The schema checks every field the readers use; the rest of ResultFile passes through unchanged.
    return checked(resultV1, data, file) as unknown as ResultFile;
  }
  const r = checked(resultV2, data, file);
  const pipelines = r.pipelines.map((p) => {
    if (p.requests) throw resultError(file, `pipeline "${p.name}" keeps its requests in ${p.requests.file}: read the run folder`);
    return fromV2(p, decodeEmbedded(p.rows ?? [], file, p.name));
  });
  return { ...(r as unknown as ResultFile), pipelines };
}

async function loadV2(r: z.infer<typeof resultV2>, file: string): Promise<ResultFile> {
  const pipelines: PipelineResult[] = [];
  for (const p of r.pipelines) {
    if (!p.requests) {
      pipelines.push(fromV2(p, decodeEmbedded(p.rows ?? [], file, p.name)));
      continue;
    }
    const path = join(dirname(file), p.requests.file);
    const samples: Sample[] = [];
    const names = new Map<string, string>();
    const read = await readRequestRows(path, p.name, (row) => samples.push(decodeRow(row, names)), !r.complete);
    if (r.complete && read.rows !== p.requests.rows) {
      throw resultError(path, `holds ${read.rows} requests but result.json says ${p.requests.rows}: the file was changed or cut after the run`);
    }
    let pipeline = fromV2(p, samples);
    // A checkpoint wrote rows past the last summary (the run died mid-pipeline): summarize what is on disk.
    if (read.rows !== p.requests.rows || p.summaryStale === true) pipeline = resummarizeFromRows(pipeline, r.scenario, read);
    pipelines.push(pipeline);
  }
  return { ...(r as unknown as ResultFile), pipelines };
}

/** Reads and validates a result file (any readable version); a run folder stands for the result.json inside it. */
export async function readResultFile(path: string): Promise<ResultFile> {
  let file = path;
  try {
    if (statSync(path).isDirectory()) file = join(path, 'result.json');
  } catch {
    // Reported below with the file name.
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw resultError(file, code === 'ENOENT' ? 'no such file' : `cannot read (${code ?? String(e)})`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw resultError(file, `not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (versionOf(data, file) === 1) return validateResult(data, file);
  return loadV2(checked(resultV2, data, file), file);
}
