// results/<run-id>/result.json, written atomically (temp file + rename) so a reader never sees half a file.
// Per-request rows go to sidecar files (result/requestLog.ts); result.json holds summaries and provenance.
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { STORED_SCHEMA_VERSION } from './storedResult.js';

/** Version of the result.json layout this build writes. */
export const RESULT_SCHEMA_VERSION = STORED_SCHEMA_VERSION;

/** A run id: UTC time plus the scenario name, safe as a folder name. */
export function makeRunId(scenarioName: string, at: Date): string {
  const stamp = at.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z').replace('T', '-');
  const slug = scenarioName.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 48) || 'run';
  return `${stamp}-${slug}`;
}

let writes = 0;

/** Writes `<dir>/result.json` (a stored result, see result/storedResult.ts) atomically; returns its path. */
export async function writeResultFile(dir: string, result: Record<string, unknown>): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, 'result.json');
  // Unique per write, so two writers in one process never rename each other's temp file away.
  const tmp = `${path}.tmp-${process.pid}-${++writes}`;
  await writeFile(tmp, `${JSON.stringify(result)}\n`);
  await rename(tmp, path);
  return path;
}
