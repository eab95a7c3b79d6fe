// The default study (`llmbench run` with no scenario) end to end, shrunk to the tiny preset: every pipeline
// (fp32 baseline, int4, batching, two replicas behind the built-in balancer, all together) is deployed for
// real, measured, and compared with the baseline.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderRunReport } from '../../src/report/runReport.js';
import { runScenario } from '../../src/runners/run.js';
import { loadScenario } from '../../src/scenarios/load.js';
import { applyOverrides } from '../../src/scenarios/overrides.js';
import { expectConsistent, pidsWithEnv } from './helpers.js';
import { invalidReasonsText } from '../../src/report/invalidReasons.js';

let dir: string;
let marker: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'llmbench-e2e-default-'));
  marker = join(dir, 'cache');
  process.env.LLMBENCH_CACHE = marker;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the default study', () => {
  it('runs every pipeline on the tiny preset with valid measurements and a comparison per variant', async () => {
    const shipped = loadScenario('default');
    const w = shipped.workload;
    if (w.kind !== 'synthetic') throw new Error('the default study has a synthetic workload');
    // The tiny preset has 256 positions: keep the chat-like length distributions, with shorter tails.
    const workload = {
      ...w,
      promptTokens: { dist: 'lognormal' as const, mean: 64, sd: 32, min: 16, max: 160 },
      outputTokens: { dist: 'lognormal' as const, mean: 32, sd: 16, min: 8, max: 64 },
    };
    const scenario = applyOverrides({ ...shipped, workload, quick: { ...shipped.quick, model: 'tiny', durationMs: 2500 } }, { quick: true });
    expect(scenario.pipelines.map((p) => p.name)).toEqual(['baseline', 'int4', 'batching', 'replicas-2x', 'all']);

    const { result, path } = await runScenario(scenario, { outDir: join(dir, 'run') });
    expect(existsSync(path)).toBe(true);
    expect(result.complete).toBe(true);
    for (const p of result.pipelines) {
      expect(p.error, p.name).toBeNull();
      expect(p.summary.valid, `${p.name}: ${invalidReasonsText(p.summary.invalidReasons)}`).toBe(true);
      expect(p.summary.counts.ok, p.name).toBeGreaterThan(4);
      expect(p.summary.counts.error + p.summary.counts.timeout, p.name).toBe(0);
      expectConsistent(p);
    }
    const byName = new Map(result.pipelines.map((p) => [p.name, p]));
    // Each step really applies its optimization.
    expect(byName.get('int4')?.summary.memory.modelFileBytes).toBeLessThan((byName.get('baseline')?.summary.memory.modelFileBytes ?? 0) * 0.5);
    expect(byName.get('int4')?.quality?.top1Agreement).toBeGreaterThan(0.5);
    for (const name of ['replicas-2x', 'all']) {
      const replicas = byName.get(name)?.summary.replicas ?? [];
      expect(replicas.map((r) => r.replica).sort(), name).toEqual(['replica-0', 'replica-1']);
      for (const r of replicas) expect(r.requests, `${name} ${r.replica}`).toBeGreaterThan(0);
    }

    const report = await renderRunReport(result);
    expect(report.comparisons.map((c) => [c.baseline, c.variant])).toEqual([
      ['baseline', 'int4'],
      ['baseline', 'batching'],
      ['baseline', 'replicas-2x'],
      ['baseline', 'all'],
    ]);
    for (const name of ['int4', 'batching', 'replicas-2x', 'all']) expect(report.terminal).toContain(`${name} vs baseline`);
    expect(pidsWithEnv(marker)).toEqual([]);
  });
});
