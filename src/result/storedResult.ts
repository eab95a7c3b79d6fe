// ResultFile -> what goes on disk (schema 2): result.json with summaries and provenance, per-request data either
// in a sidecar file per pipeline (run folders) or as embedded rows (saved baselines, thinned to what gates need).
import { measuredSamples, subsampleMeasured } from '../stats/requestColumns.js';
import type { PipelineResult, ResultFile } from '../types.js';
import { encodeRow, type RequestRow } from './requestRows.js';

/** The schema version this build writes. */
export const STORED_SCHEMA_VERSION = 2 as const;

/** Measured requests a saved baseline keeps per pipeline by default (the bootstrap's own subsample size). */
export const BASELINE_MAX_REQUESTS = 10_000;

/** Where a pipeline's rows are: a sidecar file, or embedded. */
export type RowsPlacement = { file: string; rows: number; stale?: boolean } | { embedded: RequestRow[]; thinnedFrom: number | null };

function storedPipeline(p: PipelineResult, where: RowsPlacement): Record<string, unknown> {
  const { samples: _samples, ...rest } = p;
  const out: Record<string, unknown> = { ...rest, itlHistogram: p.itlHistogram ?? null, samplesThinnedFrom: p.samplesThinnedFrom ?? null };
  if ('file' in where) {
    out['requests'] = { file: where.file, rows: where.rows };
    if (where.stale) out['summaryStale'] = true;
  } else {
    out['requests'] = null;
    out['rows'] = where.embedded;
    if (where.thinnedFrom !== null) out['samplesThinnedFrom'] = where.thinnedFrom;
  }
  return out;
}

/** result.json of a run folder: every pipeline's rows live in the sidecar named in `placement`. */
export function storedRunResult(result: ResultFile, placement: (p: PipelineResult, i: number) => RowsPlacement): Record<string, unknown> {
  return { ...result, schemaVersion: STORED_SCHEMA_VERSION, pipelines: result.pipelines.map((p, i) => storedPipeline(p, placement(p, i))) };
}

/**
 * A seeded uniform subset of a pipeline's measured requests, at most `max`, in request order (warm-up dropped:
 * no gate reads it). Returns every measured request when there are no more than `max`.
 */
export function thinSamples(p: PipelineResult, max: number, seed: number): { rows: RequestRow[]; thinnedFrom: number | null } {
  const measured = measuredSamples(p.samples);
  const already = p.samplesThinnedFrom ?? null;
  if (measured.length <= max) return { rows: measured.map(encodeRow), thinnedFrom: already };
  return { rows: subsampleMeasured(measured, max, seed).map(encodeRow), thinnedFrom: already ?? measured.length };
}

/** What `baseline save` stores: summaries, provenance, no resource traces, at most `maxRequests` rows per pipeline. */
export function storedBaseline(result: ResultFile, maxRequests: number = BASELINE_MAX_REQUESTS, seed = 7): Record<string, unknown> {
  return {
    ...result,
    schemaVersion: STORED_SCHEMA_VERSION,
    pipelines: result.pipelines.map((p) => {
      const t = thinSamples(p, maxRequests, seed);
      return storedPipeline({ ...p, resources: null }, { embedded: t.rows, thinnedFrom: t.thinnedFrom });
    }),
  };
}
