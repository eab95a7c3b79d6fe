import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reportCommand } from '../../src/commands/report.js';
import { githubBenchmarkEntries } from '../../src/report/githubBenchmark.js';
import { readResultFile } from '../../src/result/readResult.js';
import { renderRunReport, type RunReport } from '../../src/report/runReport.js';
import type { ResultFile } from '../../src/types.js';
import { STUDY_FIXTURE, SWEEP_FIXTURE } from '../fixtures/paths.js';

let study: ResultFile;
let report: RunReport;
let sweepReport: RunReport;
const tmp = mkdtempSync(join(tmpdir(), 'llmbench-report-'));

beforeAll(async () => {
  study = await readResultFile(STUDY_FIXTURE);
  report = await renderRunReport(study);
  sweepReport = await renderRunReport(await readResultFile(SWEEP_FIXTURE));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const lineWith = (text: string, start: string): string => {
  const line = text.split('\n').find((l) => l.includes(start));
  if (!line) throw new Error(`no line with "${start}"`);
  return line;
};
const cells = (line: string): string[] => line.split(/[│|]/).map((c) => c.trim()).filter((c) => c !== '');

describe('terminal report', () => {
  it('matches the snapshot', async () => {
    await expect(report.terminal).toMatchFileSnapshot('./__snapshots__/study.table.txt');
  });

  it('puts validity warnings on top and shows one before/after table per variant', () => {
    const t = report.terminal;
    expect(t.indexOf('Validity warnings')).toBeLessThan(t.indexOf('int8 vs baseline'));
    expect(t).toContain('int8-2rep: 3 of 240 requests failed');
    expect(t.match(/│ metric +│ baseline +│ int8(-2rep)? +│ change +│ 95% CI of change +│ significant\? │/g)).toHaveLength(2);
  });

  it('renders each row as metric | baseline | variant | change | CI | significant', () => {
    const first = report.terminal.slice(0, report.terminal.indexOf('int8-2rep vs baseline'));
    expect(cells(lineWith(first, 'E2E latency p50'))).toEqual(['E2E latency p50', '457 ms', '288 ms', '-37.0% ↓ better', '[-45.1%, -30.6%]', 'yes']);
    expect(cells(lineWith(first, 'E2E latency p99'))).toEqual(['E2E latency p99', 'too few samples', '440 ms', 'n/a', '—', '—']);
    expect(cells(lineWith(first, 'Output tokens/s'))).toEqual(['Output tokens/s', '314 tok/s', '588 tok/s', '+87.6% ↑ better', '[+82.7%, +92.6%]', 'yes']);
    expect(cells(lineWith(first, 'GPU memory peak'))).toEqual(['GPU memory peak (per process)', 'n/a (no GPU)', 'n/a (no GPU)', 'n/a', '—', '—']);
    expect(cells(lineWith(first, 'Peak RSS'))).toEqual(['Peak RSS (server processes)', '1.22 GiB', '448.2 MiB', '-64.1% ↓ better', 'n/a (1 measurement)', 'n/a']);
    expect(cells(lineWith(first, 'Δ perplexity'))).toEqual(['Δ perplexity vs reference', '(reference)', '+0.91%', '—', '—', '—']);
    expect(cells(lineWith(first, 'Perplexity (held-out)'))).toEqual(['Perplexity (held-out)', '12.2', '12.3', '+0.9% ↑ worse', 'n/a', 'n/a']);
    for (const row of ['E2E latency p95', 'TTFT p50', 'TTFT p95', 'TPOT p50', 'ITL p50', 'Requests/s', 'Goodput', 'Steady RSS', 'Model file size', 'Top-1 agreement', 'Mean KL']) {
      expect(first).toContain(row);
    }
    expect(report.terminal).not.toMatch(/NaN|undefined|Infinity/);
  });
});

describe('markdown report', () => {
  it('matches the snapshot', async () => {
    await expect(report.markdown).toMatchFileSnapshot('./__snapshots__/study.report.md');
  });

  it('has every section and references only charts it renders', () => {
    const md = report.markdown;
    for (const h of ['# llmbench report: fixture-study', '## Summary', '## int8 vs baseline', '## int8-2rep vs baseline', '## All pipelines', '### Load as delivered', '## Latency distributions', '## Load balancing', '## Errors, retries and faults', '### Fault events', '## Scenario', '## Metric definitions', '## Method', '## Provenance']) {
      expect(md).toContain(`\n${h}\n`.replace(/^\n# /, '# '));
    }
    expect(md).not.toContain('## Sweep');
    const refs = [...md.matchAll(/!\[[^\]]*\]\(([^)]+)\)/g)].map((m) => m[1]);
    expect(refs.sort()).toEqual(Object.keys(report.files).sort());
    expect(refs.sort()).toEqual(['latency-cdf.svg', 'replicas.svg', 'tpot.svg', 'ttft.svg']);
    for (const svg of Object.values(report.files)) expect(svg.startsWith('<svg')).toBe(true);
    expect(md).toContain('| E2E latency p50 | 457 ms | 288 ms | -37.0% ↓ better | [-45.1%, -30.6%] | yes |');
    expect(md).toContain('| replica-0 | 113 | 47.1% | 2 | 287 ms | 397 ms |');
    expect(md).toContain('| int8-2rep | 4.00 s | kill | killed replica-1 (restart after 1500 ms) |');
    expect(md).toContain('- **TTFT**: ');
    expect(md).toContain('| Source | &lt;builtin&gt;/fixture-study.yaml |');
    expect(md).not.toMatch(/NaN|undefined|\[object Object\]/);
  });

  it('draws the CDF with one line per pipeline and labels the axes', () => {
    const svg = report.files['latency-cdf.svg'] as string;
    for (const text of ['E2E latency (ms)', 'fraction of requests', 'baseline', 'int8', 'int8-2rep']) expect(svg).toContain(`>${text}<`);
    expect(svg.match(/role-mark/g)).toHaveLength(3);
  });

  it('adds the sweep table and throughput-latency chart when sweeps exist', () => {
    const md = sweepReport.markdown;
    expect(md).toContain('## Sweep');
    expect(md).toContain('![Throughput vs latency](throughput-latency.svg)');
    expect(sweepReport.files['throughput-latency.svg']).toContain('>output tokens/s<');
    expect(md).not.toContain('## Load balancing');
    expect(md.match(/\| Level \| ok\/total \|/g)).toHaveLength(2);
  });
});

describe('llmbench report', () => {
  it('re-renders from the result file alone, identically to the run (report.md and every SVG)', async () => {
    const out = await reportCommand({ file: STUDY_FIXTURE, format: 'md', out: tmp, direction: 'smaller' });
    expect(out.written.map((p) => p.slice(tmp.length + 1)).sort()).toEqual(['latency-cdf.svg', 'replicas.svg', 'report.md', 'tpot.svg', 'ttft.svg']);
    expect(readFileSync(join(tmp, 'report.md'), 'utf8')).toBe(report.markdown);
    for (const [name, svg] of Object.entries(report.files)) expect(readFileSync(join(tmp, name), 'utf8')).toBe(svg);
    const again = await renderRunReport(await readResultFile(STUDY_FIXTURE));
    expect(again.terminal).toBe(report.terminal);
    expect(readdirSync(tmp)).toHaveLength(5);
  });

  it('prints the same terminal table as the run, and compact JSON without samples', async () => {
    expect((await reportCommand({ file: STUDY_FIXTURE, format: 'table', out: null, direction: 'smaller' })).stdout).toBe(report.terminal);
    const json = JSON.parse((await reportCommand({ file: STUDY_FIXTURE, format: 'json', out: null, direction: 'smaller' })).stdout);
    expect(json.runId).toBe(study.runId);
    expect(json.pipelines.map((p: { name: string }) => p.name)).toEqual(['baseline', 'int8', 'int8-2rep']);
    expect(json.pipelines[0].samples).toBeUndefined();
    expect(json.comparisons[0].metrics['e2eMs.p50'].significant).toBe(true);
  });

  it('exports github-action-benchmark entries, one direction per file', () => {
    const comparisons = report.comparisons;
    const smaller = githubBenchmarkEntries(study, comparisons, 'smaller');
    const bigger = githubBenchmarkEntries(study, comparisons, 'bigger');
    for (const e of [...smaller, ...bigger]) {
      expect(Object.keys(e).filter((k) => !['range', 'extra'].includes(k)).sort()).toEqual(['name', 'unit', 'value']);
      expect(Number.isFinite(e.value)).toBe(true);
    }
    expect(new Set(smaller.map((e) => e.name)).size).toBe(smaller.length);
    const p50 = study.pipelines[0]!.summary.e2eMs.p50!;
    expect(smaller.find((e) => e.name === 'baseline - E2E latency p50')).toMatchObject({ unit: 'ms', value: Math.round(p50 * 1000) / 1000 });
    expect(smaller.some((e) => e.name.includes('GPU'))).toBe(false);
    expect(bigger.find((e) => e.name === 'int8 - output tokens/s')?.unit).toBe('tok/s');
    const speedup = bigger.find((e) => e.name === 'int8 vs baseline - output tokens/s improvement');
    expect(speedup?.value).toBeCloseTo(1.876, 3);
    expect(speedup?.range).toMatch(/^1\.\d\dx to 1\.\d\dx \(95% CI\)$/);
    expect(bigger.find((e) => e.name === 'int8 vs baseline - E2E p50 improvement')?.value).toBeCloseTo(p50 / study.pipelines[1]!.summary.e2eMs.p50!, 3);
  });
});
