// Reading result files: every problem reported with the file and the field path, so a truncated or foreign
// JSON file gives one clear line instead of a stack trace deep inside a renderer.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { LlmbenchError } from '../errors.js';
import type { ResultFile } from '../types.js';

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
  invalidReasons: z.array(z.string()),
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

const pipeline = z.looseObject({
  name: z.string().min(1),
  baseline: z.boolean(),
  spec: z.record(z.string(), z.unknown()),
  summary,
  quality: quality.nullable(),
  samples: z.array(sample),
  sweep: z.array(z.looseObject({ level: num, summary })).nullable(),
  events: z.array(z.looseObject({ atMs: num, kind: z.string(), detail: z.string() })),
  complete: z.boolean(),
  error: z.string().nullable(),
});

const resultSchema = z.looseObject({
  schemaVersion: z.literal(1),
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
  pipelines: z.array(pipeline).min(1),
});

function resultError(file: string, problem: string): LlmbenchError {
  return new LlmbenchError('RESULT', `${file}: ${problem}`, 'Pass a result.json written by `llmbench run` (results/<run-id>/result.json).');
}

/** Checks parsed JSON against the result-file shape; `file` names the source in errors. */
export function validateResult(data: unknown, file: string): ResultFile {
  const r = resultSchema.safeParse(data);
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
  // The schema checks every field the readers use; the rest of ResultFile passes through unchanged.
  return r.data as unknown as ResultFile;
}

/** Reads and validates a result file; a run folder stands for the result.json inside it. */
export function readResultFile(path: string): ResultFile {
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
  return validateResult(data, file);
}
