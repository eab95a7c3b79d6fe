// Result schema 2 storage: the HDR histogram, the per-request row codec, the run folder round trip, and the
// versioned reader's errors.
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeSyntheticRun } from '../../src/bench/scaleBench.js';
import { readResultFile } from '../../src/result/readResult.js';
import { compactSample, decodeRow, encodeRow } from '../../src/result/requestRows.js';
import { storedBaseline } from '../../src/result/storedResult.js';
import { distribution } from '../../src/stats/distribution.js';
import { bucketOf, bucketRange, HdrHistogram, histogramDistribution } from '../../src/stats/hdrHistogram.js';
import { createRng } from '../../src/stats/rng.js';
import type { Sample } from '../../src/types.js';
import { STUDY_FIXTURE } from '../fixtures/paths.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'llmbench-storage-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('HDR histogram', () => {
  it('is exact below 1,024 us and within 0.2% above; buckets tile the integers', () => {
    for (const v of [0, 1, 1023]) expect(bucketRange(bucketOf(v))).toEqual([v, v]);
    let prevHi = -1;
    for (let b = 0; b < 1024 + 512 * 30; b++) {
      const [lo, hi] = bucketRange(b);
      expect(lo).toBe(prevHi + 1);
      prevHi = hi;
      if (b > 1024) expect((hi - lo + 1) / lo).toBeLessThanOrEqual(1 / 512 + 1e-12);
    }
    for (const v of [1024, 2047, 2048, 123_456, 2 ** 31 + 5, 9e12]) {
      const [lo, hi] = bucketRange(bucketOf(v));
      expect(v).toBeGreaterThanOrEqual(lo);
      expect(v).toBeLessThanOrEqual(hi);
    }
  });

  it('percentiles track the exact ones within 0.2%, and merging two halves equals recording all', () => {
    const rng = createRng(5);
    const values = Array.from({ length: 20_000 }, () => Math.round(5000 * Math.exp(rng() * 3)));
    const all = new HdrHistogram();
    const a = new HdrHistogram();
    const b = new HdrHistogram();
    values.forEach((v, i) => {
      all.record(v);
      (i % 2 === 0 ? a : b).record(v);
    });
    const merged = HdrHistogram.from(a.toData());
    merged.merge(b.toData());
    expect(merged.toData()).toEqual(all.toData());
    const h = histogramDistribution(all.toData());
    const exact = distribution(values.map((v) => v / 1000));
    expect(h.count).toBe(exact.count);
    expect(h.mean).toBeCloseTo(exact.mean as number, 9);
    expect(h.max).toBe(exact.max);
    for (const p of ['p50', 'p90', 'p95', 'p99'] as const) {
      expect(Math.abs((h[p] as number) / (exact[p] as number) - 1)).toBeLessThan(0.002);
    }
    expect(histogramDistribution(new HdrHistogram().toData()).p50).toBeNull();
  });
});

describe('request rows', () => {
  const sample: Sample = {
    index: 3, warmup: false, status: 'timeout', error: 'no answer', httpStatus: null,
    scheduledMs: 1000.1234, sentMs: 1000.5, firstTokenMs: 1010.25, endMs: 1200, ttftMs: 10.1266, e2eMs: 199.8766,
    tpotMs: 12.5, itlMs: [10, 20.5, 5], promptTokens: 12, outputTokens: 4, outputTokensSource: 'tokenizer',
    tokenCountMismatch: { usage: 4, tokenizer: 5 }, replica: 'replica-1', retries: 2, run: 1,
  };
  it('keeps every field to the microsecond and reduces the gaps to count, mean and max', () => {
    const back = decodeRow(JSON.parse(JSON.stringify(encodeRow(sample))));
    expect(back).toEqual({
      ...sample,
      scheduledMs: 1000.123, sentMs: 1000.5, firstTokenMs: 1010.25, ttftMs: 10.127, e2eMs: 199.877,
      itlMs: [], itl: { count: 3, meanMs: 11.833, maxMs: 20.5 },
      answerTtftMs: null, clientPromptTokens: null, finishReason: null,
    });
    // Compacting is idempotent: what the run keeps is what a reader gets back.
    expect(compactSample(compactSample(sample))).toEqual(compactSample(sample));
  });

  it('stores a fallback answer as status fallback with its reason', () => {
    const fb: Sample = { ...sample, status: 'fallback', error: null, fallbackReason: 'deadline' };
    const back = decodeRow(JSON.parse(JSON.stringify(encodeRow(fb))));
    expect(back.status).toBe('fallback');
    expect(back.fallbackReason).toBe('deadline');
    expect(decodeRow(encodeRow(sample)).fallbackReason).toBeUndefined();
  });
});

describe('run folders (schema 2)', () => {
  it('read back with the summaries, samples and histograms they were written with', async () => {
    const w = await writeSyntheticRun(join(dir, 'syn'), { requests: 3000, pipelines: 3, seed: 1, ratePerSec: 500 });
    expect(w.folderBytes / w.requests).toBeLessThan(100);
    const r = await readResultFile(join(dir, 'syn'));
    expect(r.schemaVersion).toBe(2);
    expect(r.complete).toBe(true);
    expect(r.pipelines.map((p) => p.samples.length)).toEqual([1000, 1000, 1000]);
    for (const p of r.pipelines) {
      expect(p.summary.counts.total).toBe(1000);
      expect(p.summary.itlMs.count).toBe(p.itlHistogram?.count);
      expect(p.error).toBeNull();
    }
    // The stored file has no raw samples: result.json stays small.
    const json = readFileSync(join(dir, 'syn', 'result.json'), 'utf8');
    expect(json).not.toContain('"samples"');
    expect(json.length).toBeLessThan(60_000);
  });

  it('a sidecar cut short is an error in a complete run and tolerated, with a note, in an incomplete one', async () => {
    await writeSyntheticRun(join(dir, 'cut'), { requests: 900, pipelines: 1, seed: 2, ratePerSec: 500 });
    const file = join(dir, 'cut', 'requests-0.jsonl.gz');
    const text = readFileSync(file);
    writeFileSync(file, text.subarray(0, Math.floor(text.length / 2)));
    await expect(readResultFile(join(dir, 'cut'))).rejects.toThrow(/requests-0\.jsonl\.gz: (damaged|line \d+: not valid JSON)/);
    const meta = JSON.parse(readFileSync(join(dir, 'cut', 'result.json'), 'utf8'));
    writeFileSync(join(dir, 'cut', 'result.json'), JSON.stringify({ ...meta, complete: false }));
    const r = await readResultFile(join(dir, 'cut'));
    const p = r.pipelines[0];
    expect(p?.samples.length).toBeGreaterThan(0);
    expect(p?.samples.length).toBeLessThan(900);
    expect(p?.summary.counts.total).toBe(p?.samples.length);
    expect(p?.complete).toBe(false);
    expect(p?.error).toMatch(/interrupted: summarized from \d+ requests on disk \(file cut off/);
  });

  it('rejects a requests file of another layout version or pipeline, naming the file', async () => {
    await writeSyntheticRun(join(dir, 'v'), { requests: 50, pipelines: 1, seed: 3, ratePerSec: 500 });
    const head = { format: 'llmbench-requests', version: 9, pipeline: 'baseline', columns: [] };
    writeFileSync(join(dir, 'v', 'requests-0.jsonl.gz'), gzipSync(`${JSON.stringify(head)}\n`));
    await expect(readResultFile(join(dir, 'v'))).rejects.toThrow('requests layout version 9; this llmbench reads version 1');
  });
});

describe('versioned reader', () => {
  it('still loads schema 1 files, and names the version it cannot read', async () => {
    const v1 = await readResultFile(STUDY_FIXTURE);
    expect(v1.schemaVersion).toBe(1);
    expect(v1.pipelines[0]?.samples[1]?.itlMs.length).toBeGreaterThan(0);
    const future = join(dir, 'future.json');
    writeFileSync(future, JSON.stringify({ ...JSON.parse(readFileSync(STUDY_FIXTURE, 'utf8')), schemaVersion: 3 }));
    await expect(readResultFile(future)).rejects.toThrow(`${future}: result schemaVersion 3 is not one this llmbench reads (it reads 1 and 2)`);
  });

  it('a thinned baseline keeps a seeded subset and says what it was drawn from', async () => {
    const v1 = await readResultFile(STUDY_FIXTURE);
    const path = join(dir, 'thin.json');
    writeFileSync(path, JSON.stringify(storedBaseline(v1, 50)));
    const again = await readResultFile(path);
    const measured = v1.pipelines[0]?.samples.filter((s) => !s.warmup).length;
    expect(again.pipelines[0]?.samples).toHaveLength(50);
    expect(again.pipelines[0]?.samplesThinnedFrom).toBe(measured);
    expect(again.pipelines[0]?.summary).toEqual(v1.pipelines[0]?.summary);
    copyFileSync(path, join(dir, 'thin2.json'));
    expect(JSON.stringify(storedBaseline(v1, 50))).toBe(readFileSync(join(dir, 'thin2.json'), 'utf8'));
  });
});
