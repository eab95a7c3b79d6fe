// Streams a requests-<pipeline>.jsonl.gz file back row by row (never the whole file as one string). A file cut
// short by a crash reads up to its last complete row when the run is marked incomplete; otherwise it is an error.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { constants, createGunzip } from 'node:zlib';
import { LlmbenchError } from '../errors.js';
import { REQUEST_ROWS_VERSION, rowProblem, type RequestRow } from './requestRows.js';

/** What a read found. */
export interface RowsRead {
  rows: number;
  /** The file ended mid-row or mid-stream (a run killed between checkpoints). */
  truncated: boolean;
}

function fileError(path: string, problem: string): LlmbenchError {
  return new LlmbenchError('RESULT', `${path}: ${problem}`, 'Requests files are written by `llmbench run` next to result.json; keep the run folder together.');
}

/** Reads every row of a requests file, calling onRow for each; `incomplete` tolerates a cut-off end. */
export async function readRequestRows(path: string, pipeline: string, onRow: (row: RequestRow) => void, incomplete: boolean): Promise<RowsRead> {
  const file = createReadStream(path);
  // A sync-flush finish lets a stream that ends without its gzip trailer (killed run) yield what it holds.
  const gunzip = createGunzip({ finishFlush: constants.Z_SYNC_FLUSH });
  let streamError: Error | null = null;
  file.on('error', (e) => {
    streamError = e;
    gunzip.end();
  });
  gunzip.on('error', (e) => {
    streamError = e;
  });
  const lines = createInterface({ input: file.pipe(gunzip), crlfDelay: Infinity });
  let lineNo = 0;
  let rows = 0;
  let badTail: string | null = null;
  try {
    for await (const line of lines) {
      lineNo++;
      if (badTail !== null) throw fileError(path, badTail);
      if (lineNo === 1) {
        let head: Record<string, unknown>;
        try {
          head = JSON.parse(line) as Record<string, unknown>;
        } catch {
          throw fileError(path, 'first line is not a llmbench requests header');
        }
        if (head['format'] !== 'llmbench-requests') throw fileError(path, 'not a llmbench requests file');
        if (head['version'] !== REQUEST_ROWS_VERSION) {
          throw fileError(path, `requests layout version ${String(head['version'])}; this llmbench reads version ${REQUEST_ROWS_VERSION}`);
        }
        if (head['pipeline'] !== pipeline) throw fileError(path, `holds pipeline "${String(head['pipeline'])}", expected "${pipeline}"`);
        continue;
      }
      let row: unknown;
      let problem: string | null;
      try {
        row = JSON.parse(line);
        problem = rowProblem(row);
      } catch {
        problem = 'not valid JSON';
      }
      if (problem !== null) {
        // Only the last line may be damaged, and only in an incomplete run; decide when we know it was last.
        badTail = `line ${lineNo}: ${problem}`;
        continue;
      }
      onRow(row as RequestRow);
      rows++;
    }
  } catch (e) {
    if (e instanceof LlmbenchError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw fileError(path, code === 'ENOENT' ? 'no such file' : `cannot read (${code ?? String(e)})`);
  } finally {
    lines.close();
    file.destroy();
  }
  if (streamError !== null) {
    const e = streamError as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') throw fileError(path, 'no such file');
    if (!incomplete) throw fileError(path, `damaged (${e.message})`);
    return { rows, truncated: true };
  }
  if (lineNo === 0) {
    if (incomplete) return { rows: 0, truncated: true };
    throw fileError(path, 'empty');
  }
  if (badTail !== null) {
    if (!incomplete) throw fileError(path, badTail);
    return { rows, truncated: true };
  }
  return { rows, truncated: false };
}
