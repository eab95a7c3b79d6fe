// Streams per-request rows to <run dir>/requests-<pipeline>.jsonl.gz while a run goes. Each file starts with
// a header line naming the layout; rows follow, one JSON array per line. flush() pushes everything written so
// far through gzip with a sync flush into the file, so after a kill -9 the file reads back up to the last flush
// (the bytes are in the OS page cache; only a machine crash could lose them).
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { constants, createGzip, type Gzip } from 'node:zlib';
import type { Sample } from '../types.js';
import { encodeRow, REQUEST_COLUMNS, REQUEST_ROWS_VERSION, type RequestRow } from './requestRows.js';

/** File name of pipeline i's rows inside a run folder. */
export function requestsFileName(pipelineIndex: number): string {
  return `requests-${pipelineIndex}.jsonl.gz`;
}

/** The header line of a requests file. */
export function requestsHeader(pipeline: string): string {
  return JSON.stringify({ format: 'llmbench-requests', version: REQUEST_ROWS_VERSION, pipeline, columns: REQUEST_COLUMNS });
}

interface OpenFile {
  gzip: Gzip;
  out: WriteStream;
  rows: number;
}

/** One writer per run; files open on a pipeline's first row. */
export class RequestLog {
  private readonly files = new Map<number, OpenFile>();
  private closed = false;

  constructor(
    readonly dir: string,
    private readonly pipelineNames: readonly string[],
  ) {}

  /** Rows written so far for pipeline i. */
  rows(pipelineIndex: number): number {
    return this.files.get(pipelineIndex)?.rows ?? 0;
  }

  /** Creates pipeline i's file now (header only), so a checkpoint can name it before its first row. */
  start(pipelineIndex: number): void {
    this.open(pipelineIndex);
  }

  private open(i: number): OpenFile {
    let f = this.files.get(i);
    if (f) return f;
    mkdirSync(this.dir, { recursive: true });
    // Level 1: a soak run writes ~100 bytes per request before compression; speed matters more than ratio.
    const gzip = createGzip({ level: 1 });
    const out = createWriteStream(join(this.dir, requestsFileName(i)));
    gzip.pipe(out);
    gzip.write(`${requestsHeader(this.pipelineNames[i] ?? `pipeline-${i}`)}\n`);
    f = { gzip, out, rows: 0 };
    this.files.set(i, f);
    return f;
  }

  /** Appends one sample; returns false when the caller should await `drained()` before writing much more. */
  append(pipelineIndex: number, s: Sample): boolean {
    return this.appendRow(pipelineIndex, encodeRow(s));
  }

  /** Appends one encoded row (see append). */
  appendRow(pipelineIndex: number, row: RequestRow): boolean {
    if (this.closed) throw new Error('request log is closed');
    const f = this.open(pipelineIndex);
    f.rows++;
    return f.gzip.write(`${JSON.stringify(row)}\n`);
  }

  /** Resolves once pipeline i's compressor has room again. */
  async drained(pipelineIndex: number): Promise<void> {
    const f = this.files.get(pipelineIndex);
    if (!f || !f.gzip.writableNeedDrain) return;
    await new Promise<void>((resolve) => f.gzip.once('drain', resolve));
  }

  /** Pushes every row written so far into the files (gzip sync flush, then the file stream's queue). */
  async flush(): Promise<void> {
    for (const f of this.files.values()) {
      await new Promise<void>((resolve) => f.gzip.flush(constants.Z_SYNC_FLUSH, () => resolve()));
      // The flushed bytes travel through the pipe to the file stream; wait (bounded) until it has written them.
      for (let i = 0; i < 1000 && (f.gzip.readableLength > 0 || f.out.writableLength > 0 || f.out.pending); i++) {
        await new Promise<void>((resolve) => setTimeout(resolve, 2));
      }
    }
  }

  /** Ends every file (complete gzip streams). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(
      [...this.files.values()].map(
        (f) =>
          new Promise<void>((resolve, reject) => {
            f.out.once('finish', resolve);
            f.out.once('error', reject);
            f.gzip.end();
          }),
      ),
    );
  }
}
