// Results that are not the happy path: one pipeline, a pipeline without per-request samples, an incomplete run.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { evaluateGates } from '../../src/gate/evaluate.js';
import { readResultFile } from '../../src/result/readResult.js';
import { renderRunReport } from '../../src/report/runReport.js';
import type { ResultFile } from '../../src/types.js';
import { STUDY_FIXTURE } from '../fixtures/paths.js';

let study: ResultFile;
beforeAll(async () => {
  study = await readResultFile(STUDY_FIXTURE);
});

describe('edge cases', () => {
  it('renders a single-pipeline run without comparisons, and ratio gates fail rather than pass', async () => {
    const one: ResultFile = { ...study, pipelines: [study.pipelines[0]!] };
    const r = await renderRunReport(one);
    expect(r.comparisons).toEqual([]);
    expect(r.terminal).toContain('Only one pipeline: nothing to compare.');
    expect(r.terminal).toMatch(/│ requests ok\/total +│ 150\/150 +│/);
    expect(r.terminal).toMatch(/│ TTFT p50 \/ p95 +│ 120 ms \/ 216 ms +│/);
    expect(r.markdown).toContain('## All pipelines');
    expect(r.markdown).not.toContain('## Summary');
    const v = evaluateGates(one, ['speedup(outputTokensPerSecond) >= 1.5'], { includeScenarioGates: false });
    expect(v.checks[0]).toMatchObject({ pass: false, reason: 'no variant pipelines in this result; nothing to check' });
  });

  it('shows values without intervals for a pipeline measured without per-request samples', async () => {
    const int8 = study.pipelines[1]!;
    const noSamples = {
      ...int8,
      samples: [],
      summary: { ...int8.summary, e2eMs: { ...int8.summary.e2eMs, p95: null, notes: ['p95: autocannon reports p97.5 (400 ms), not p95'] } },
    };
    const r = await renderRunReport({ ...study, pipelines: [study.pipelines[0]!, noSamples] });
    const t = r.terminal;
    expect(t).toContain('int8: no per-request samples stored, so no confidence intervals or significance tests.');
    expect(t).toMatch(/E2E latency p50 +│ 457 ms +│ 288 ms +│ -37\.0% ↓ better │ n\/a \(no per-request samples\) │ n\/a/);
    expect(t).toMatch(/E2E latency p95 +│ 733 ms +│ autocannon reports p97\.5 \(400 ms\), not p95 │ n\/a/);
    expect(t).not.toContain('Mann-Whitney');
    expect(r.files['latency-cdf.svg']).toBeDefined();
    expect(`${t}${r.markdown}`).not.toMatch(/NaN|undefined/);
  });

  it('warns on incomplete and invalid runs', async () => {
    const bad: ResultFile = {
      ...study,
      complete: false,
      pipelines: study.pipelines.map((p, i) =>
        i === 1 ? { ...p, complete: false, error: 'server exited with code 1', summary: { ...p.summary, valid: false, invalidReasons: [{ kind: 'client-cpu', cpuPct: 97, limitPct: 90 }] } } : p,
      ),
    };
    const r = await renderRunReport(bad);
    const top = r.terminal.split('\n').slice(0, 8).join('\n');
    expect(top).toContain('! Run incomplete: it was interrupted or failed part-way');
    expect(top).toContain('! INVALID int8: load generator CPU at 97% of a core');
    expect(top).toContain('! int8: incomplete (server exited with code 1)');
    expect(r.markdown).toContain('> - INVALID int8: load generator CPU at 97% of a core');
  });

  it('reads invalid reasons stored as prose by an older llmbench, and words them as stored', async () => {
    const raw = JSON.parse(readFileSync(STUDY_FIXTURE, 'utf8')) as { pipelines: Array<{ summary: { valid: boolean; invalidReasons: unknown[] } }> };
    const first = raw.pipelines[0];
    if (!first) throw new Error('fixture has no pipeline');
    first.summary.valid = false;
    first.summary.invalidReasons = ['load generator CPU at 99% of a core'];
    const file = join(mkdtempSync(join(tmpdir(), 'llmbench-old-reasons-')), 'result.json');
    writeFileSync(file, JSON.stringify(raw));
    const old = await readResultFile(file);
    expect(old.pipelines[0]?.summary.invalidReasons).toEqual([{ kind: 'text', text: 'load generator CPU at 99% of a core' }]);
    expect((await renderRunReport(old)).terminal).toContain('INVALID baseline: load generator CPU at 99% of a core');
  });
});
