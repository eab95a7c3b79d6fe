// The four commands through the real CLI entry (main), in process: output, files, exit codes.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/program.js';
import { STUDY_FIXTURE, SWEEP_FIXTURE } from '../fixtures/paths.js';

const tmp = mkdtempSync(join(tmpdir(), 'llmbench-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

let out = '';
let err = '';
beforeEach(() => {
  out = '';
  err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    err += String(chunk);
    return true;
  });
});
afterEach(() => {
  vi.restoreAllMocks();
  delete process.env['GITHUB_STEP_SUMMARY'];
});

const run = (...args: string[]): Promise<number> => main(['node', 'llmbench', ...args]);

describe('llmbench gate', () => {
  it('exits 0 when the scenario gates and CLI gates pass', async () => {
    expect(await run('gate', STUDY_FIXTURE, '--gate', 'variant.e2eMs.p95 <= 410ms')).toBe(0);
    expect(out).toContain('PASS: 6 checks passed');
  });

  it('exits 1 when a gate fails, and says which', async () => {
    expect(await run('gate', STUDY_FIXTURE, '--gate', 'ratio(peakRssBytes) <= 0.5')).toBe(1);
    expect(out).toMatch(/FAIL +│ ratio\(peakRssBytes\) <= 0\.5/);
    expect(out).toContain('FAIL: 1 of 6 checks failed');
    expect(err).toContain('error: gate failed (FAIL: 1 of 6 checks failed)');
  });

  it('exits 2 on a malformed gate, an unreadable result, or nothing to check', async () => {
    expect(await run('gate', STUDY_FIXTURE, '--gate', 'variant.e2e.p95 <= 3')).toBe(2);
    expect(err).toContain('error: gate "variant.e2e.p95 <= 3": unknown metric "e2e.p95" (did you mean e2eMs.p95?)');
    expect(err).toContain('hint: Valid metrics:');
    err = '';
    expect(await run('gate', join(tmp, 'missing.json'))).toBe(2);
    expect(err).toContain(`error: ${join(tmp, 'missing.json')}: no such file`);
    err = '';
    expect(await run('gate', SWEEP_FIXTURE)).toBe(2);
    expect(err).toContain('nothing to check');
  });

  it('checks regressions against a saved baseline and appends the verdict to $GITHUB_STEP_SUMMARY', async () => {
    const summary = join(tmp, 'summary.md');
    writeFileSync(summary, '# earlier step\n');
    process.env['GITHUB_STEP_SUMMARY'] = summary;
    expect(await run('gate', STUDY_FIXTURE, '--baseline', STUDY_FIXTURE, '--max-regression', '5%')).toBe(0);
    expect(out).toContain('24 regression checks within the limit or not judged');
    const md = readFileSync(summary, 'utf8');
    expect(md.startsWith('# earlier step\n### llmbench gate: PASS: 28 checks passed')).toBe(true);
    expect(md).toContain('| ✅ pass | `speedup(outputTokensPerSecond) >= 1.5` | 1.88x |');
    expect(md).toContain('#### int8 vs baseline');
    expect(md).toContain('| E2E latency p50 | 457 ms | 288 ms |');
  });

  it('rejects --max-regression without --baseline and bad percentages', async () => {
    expect(await run('gate', STUDY_FIXTURE, '--max-regression', '10%')).toBe(2);
    expect(err).toContain('--max-regression needs --baseline <file>');
    err = '';
    expect(await run('gate', STUDY_FIXTURE, '--baseline', STUDY_FIXTURE, '--max-regression', 'ten')).toBe(2);
    expect(err).toContain('--max-regression: expected a percentage like 10%, got "ten"');
  });
});

describe('llmbench report / compare / baseline save', () => {
  it('report prints the table, writes md with charts, and rejects bad formats and files', async () => {
    expect(await run('report', STUDY_FIXTURE)).toBe(0);
    expect(out).toContain('int8 vs baseline');
    const dir = join(tmp, 'md');
    expect(await run('report', STUDY_FIXTURE, '--format', 'md', '--out', dir)).toBe(0);
    expect(out).toContain(`wrote ${join(dir, 'report.md')} and 4 charts`);
    expect(existsSync(join(dir, 'latency-cdf.svg'))).toBe(true);
    expect(await run('report', STUDY_FIXTURE, '--format', 'pdf')).toBe(2);
    expect(err).toContain('--format: expected one of table, md, json, github-benchmark, got "pdf"');
    const bad = join(tmp, 'bad.json');
    writeFileSync(bad, '{"schemaVersion": 1, "runId": "x"');
    err = '';
    expect(await run('report', bad)).toBe(2);
    expect(err).toMatch(/bad\.json: not valid JSON/);
    writeFileSync(bad, JSON.stringify({ ...JSON.parse(readFileSync(STUDY_FIXTURE, 'utf8')), pipelines: [{ name: 'x' }] }));
    err = '';
    expect(await run('report', bad)).toBe(2);
    expect(err).toContain('bad.json: not a valid llmbench result file');
    expect(err).toContain('pipelines.0.baseline:');
  });

  it('report --format github-benchmark prints the chosen direction', async () => {
    expect(await run('report', STUDY_FIXTURE, '--format', 'github-benchmark', '--direction', 'bigger')).toBe(0);
    const entries = JSON.parse(out) as Array<{ name: string; unit: string; value: number }>;
    expect(entries.some((e) => e.name === 'int8 - output tokens/s')).toBe(true);
    expect(entries.some((e) => e.unit === 'ms')).toBe(false);
  });

  it('compare matches pipelines by name, before = a', async () => {
    expect(await run('compare', SWEEP_FIXTURE, STUDY_FIXTURE)).toBe(0);
    expect(out).toContain('llmbench compare: before 20250102-090000-sweep -> after 20250101-120000-fixture');
    expect(out).toContain('int8: before vs after');
    expect(out).toContain('only in before (20250102-090000-sweep): fp32');
    expect(out).toContain('only in after (20250101-120000-fixture): baseline, int8-2rep');
    expect(out).not.toContain('baseline: before vs after');
  });

  it('baseline save validates the name, writes baselines/<name>.json and refuses to overwrite', async () => {
    const dir = join(tmp, 'baselines');
    expect(await run('baseline', 'save', STUDY_FIXTURE, '--name', '../evil', '--dir', dir)).toBe(2);
    expect(err).toContain('--name: "../evil" is not a valid baseline name');
    expect(await run('baseline', 'save', STUDY_FIXTURE, '--name', 'main-gpt2', '--dir', dir)).toBe(0);
    const saved = JSON.parse(readFileSync(join(dir, 'main-gpt2.json'), 'utf8'));
    expect(saved.runId).toBe('20250101-120000-fixture');
    expect(saved.pipelines[0].resources).toBeNull();
    // Schema 2: measured requests as embedded rows (warm-up dropped), no raw sample objects or gap arrays.
    expect(saved.schemaVersion).toBe(2);
    expect(saved.pipelines[0].samples).toBeUndefined();
    const study = JSON.parse(readFileSync(STUDY_FIXTURE, 'utf8'));
    const measured = study.pipelines[0].samples.filter((s: { warmup: boolean }) => !s.warmup).length;
    expect(saved.pipelines[0].rows).toHaveLength(measured);
    expect(saved.pipelines[0].samplesThinnedFrom).toBeNull();
    // A smaller cap keeps a seeded subset and records how many it was drawn from.
    expect(await run('baseline', 'save', STUDY_FIXTURE, '--name', 'thin', '--dir', dir, '--max-requests', '100')).toBe(0);
    const thin = JSON.parse(readFileSync(join(dir, 'thin.json'), 'utf8'));
    expect(thin.pipelines[0].rows).toHaveLength(100);
    expect(thin.pipelines[0].samplesThinnedFrom).toBe(measured);
    expect(await run('gate', STUDY_FIXTURE, '--baseline', join(dir, 'thin.json'))).toBe(0);
    err = '';
    expect(await run('baseline', 'save', STUDY_FIXTURE, '--name', 'main-gpt2', '--dir', dir)).toBe(2);
    expect(err).toContain('main-gpt2.json already exists');
    expect(await run('gate', STUDY_FIXTURE, '--baseline', join(dir, 'main-gpt2.json'))).toBe(0);
  });
});
