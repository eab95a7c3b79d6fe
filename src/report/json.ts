// JSON output: the result without its bulky per-request data, plus the comparisons, for scripts and dashboards.
import type { PipelineComparison } from '../stats/compare.js';
import type { ResultFile } from '../types.js';
import { validityWarnings } from './warnings.js';

/** Compact machine-readable summary of a run (no samples or resource traces). */
export function renderJson(result: ResultFile, comparisons: readonly PipelineComparison[]): string {
  const summary = {
    schemaVersion: result.schemaVersion,
    runId: result.runId,
    scenario: result.scenario['name'] ?? null,
    startedAt: result.startedAt,
    finishedAt: result.finishedAt,
    complete: result.complete,
    repeats: result.repeats,
    warnings: validityWarnings(result),
    pipelines: result.pipelines.map((p) => ({
      name: p.name,
      baseline: p.baseline,
      complete: p.complete,
      error: p.error,
      summary: p.summary,
      quality: p.quality,
      sweep: p.sweep,
      events: p.events,
    })),
    comparisons,
    provenance: result.provenance,
  };
  return `${JSON.stringify(summary, null, 2)}\n`;
}
