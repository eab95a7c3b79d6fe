// The requests reader on hand-made files: every row comes back in order, a bad row in the middle is named by its
// line, and only an incomplete run may end in a damaged line (the rows before it are kept).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { readRequestRows } from '../../src/result/readRequests.js';
import { requestsHeader } from '../../src/result/requestLog.js';
import { encodeRow, type RequestRow } from '../../src/result/requestRows.js';
import type { Sample } from '../../src/types.js';

const sample = (index: number): Sample => ({
  index, warmup: false, status: 'ok', error: null, httpStatus: 200, scheduledMs: index, sentMs: index, firstTokenMs: index + 5, endMs: index + 20,
  ttftMs: 5, e2eMs: 20, tpotMs: 1, itlMs: [1, 1, 1], promptTokens: 8, outputTokens: 4, outputTokensSource: 'usage', tokenCountMismatch: null, replica: null, retries: null,
});

function write(lines: string[]): string {
  const path = join(mkdtempSync(join(tmpdir(), 'llmbench-rows-')), 'requests-0.jsonl.gz');
  writeFileSync(path, gzipSync(`${[requestsHeader('p'), ...lines].join('\n')}\n`));
  return path;
}

async function read(path: string, incomplete: boolean): Promise<{ rows: RequestRow[]; truncated: boolean }> {
  const rows: RequestRow[] = [];
  const r = await readRequestRows(path, 'p', (row) => rows.push(row), incomplete);
  return { rows, truncated: r.truncated };
}

describe('readRequestRows', () => {
  const good = Array.from({ length: 5 }, (_, i) => JSON.stringify(encodeRow(sample(i))));

  it('returns every row in order', async () => {
    const r = await read(write(good), false);
    expect(r.rows.map((row) => row[1])).toEqual([0, 1, 2, 3, 4]);
    expect(r.truncated).toBe(false);
  });

  it('names a bad row in the middle by its line, complete run or not', async () => {
    const path = write([...good.slice(0, 2), '[1,2', ...good.slice(2)]);
    await expect(read(path, false)).rejects.toThrow(/requests-0\.jsonl\.gz.*line 4: not valid JSON/);
    await expect(read(path, true)).rejects.toThrow(/line 4: not valid JSON/);
    await expect(read(write([good[0] as string, '[1]', good[1] as string]), false)).rejects.toThrow(/line 3: 1 columns, expected/);
  });

  it('keeps the rows before a damaged last line of an incomplete run, and refuses it in a complete one', async () => {
    const path = write([...good, '[0,1,2']);
    const r = await read(path, true);
    expect(r.rows).toHaveLength(5);
    expect(r.truncated).toBe(true);
    await expect(read(path, false)).rejects.toThrow(/line 7: not valid JSON/);
  });
});
