// Writes a whole ResultFile held in memory as a run folder (result.json + one requests file per pipeline):
// what `merge` produces. A live run writes the same layout incrementally (runners/run.ts).
import { writeResultFile } from './resultFile.js';
import type { ResultFile } from '../types.js';
import { RequestLog, requestsFileName } from './requestLog.js';
import { storedRunResult } from './storedResult.js';

/** Writes `result` into `dir`; returns the path of result.json. */
export async function writeRunFolder(dir: string, result: ResultFile): Promise<string> {
  const log = new RequestLog(dir, result.pipelines.map((p) => p.name));
  for (const [i, p] of result.pipelines.entries()) {
    log.start(i);
    for (const s of p.samples) if (!log.append(i, s)) await log.drained(i);
  }
  await log.close();
  return writeResultFile(dir, storedRunResult(result, (_p, i) => ({ file: requestsFileName(i), rows: log.rows(i) })));
}
