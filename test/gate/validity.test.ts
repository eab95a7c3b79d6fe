// Gates judge only numbers the run itself trusts: an INVALID or incomplete pipeline, or token metrics counted
// without the server's usage, fail their checks unless the user asks to judge them anyway.
import { beforeAll, describe, expect, it } from 'vitest';
import { evaluateGates } from '../../src/gate/evaluate.js';
import { gateCommand } from '../../src/commands/gate.js';
import { readResultFile } from '../../src/result/readResult.js';
import type { PipelineResult, ResultFile } from '../../src/types.js';
import { STUDY_FIXTURE } from '../fixtures/paths.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let study: ResultFile;
beforeAll(async () => {
  study = await readResultFile(STUDY_FIXTURE);
});

function withPipeline(r: ResultFile, name: string, change: (p: PipelineResult) => PipelineResult): ResultFile {
  return { ...r, pipelines: r.pipelines.map((p) => (p.name === name ? change(p) : p)) };
}

const invalid = (p: PipelineResult): PipelineResult => ({ ...p, summary: { ...p.summary, valid: false, invalidReasons: [{ kind: 'client-cpu', cpuPct: 97, limitPct: 90 }] } });
const opts = { includeScenarioGates: false, bootstrap: { resamples: 200 } } as const;

describe('gates and validity', () => {
  it('a check on an INVALID pipeline fails, naming why and the flag; --allow-invalid judges it', () => {
    const r = withPipeline(study, 'int8', invalid);
    const v = evaluateGates(r, ['pipeline("int8").errorRate == 0'], opts);
    expect(v.pass).toBe(false);
    expect(v.checks[0]?.reason).toBe(
      'int8: errorRate = 0.0%, meets == 0.0%; not judged: int8 is INVALID (load generator CPU at 97% of a core (limit 90%): the client, not the server, may have been the bottleneck) (pass --allow-invalid to judge it anyway)',
    );
    expect(evaluateGates(r, ['pipeline("int8").errorRate == 0'], { ...opts, allowInvalid: true }).pass).toBe(true);
  });

  it('a comparison fails when its baseline is incomplete; other checks are untouched', () => {
    const r = withPipeline(study, 'baseline', (p) => ({ ...p, complete: false, error: 'run interrupted' }));
    const v = evaluateGates(r, ['speedup(outputTokensPerSecond) >= 1.5'], opts);
    expect(v.checks.map((c) => c.pass)).toEqual([false, false]);
    expect(v.checks[0]?.reason).toMatch(/not judged: baseline is incomplete \(run interrupted\)/);
    const ok = evaluateGates(study, ['speedup(outputTokensPerSecond) >= 1.5'], opts);
    expect(ok.checks.map((c) => c.pass)).toEqual([true, true]);
  });

  it('token metrics with estimated counts fail unless --allow-estimated; latency gates do not care', () => {
    const r = withPipeline(study, 'int8', (p) => ({ ...p, summary: { ...p.summary, outputTokenSources: { usage: 100, tokenizer: 40, none: 0 } } }));
    const tok = evaluateGates(r, ['pipeline("int8").outputTokensPerSecond >= 1'], opts);
    expect(tok.pass).toBe(false);
    expect(tok.checks[0]?.reason).toMatch(/int8's output token counts are estimated: 40 counted with a local tokenizer \(the server sent no usage\) \(pass --allow-estimated/);
    expect(evaluateGates(r, ['pipeline("int8").outputTokensPerSecond >= 1'], { ...opts, allowEstimated: true }).pass).toBe(true);
    expect(evaluateGates(r, ['pipeline("int8").e2eMs.p50 <= 10s'], opts).pass).toBe(true);
  });

  it('`llmbench gate` passes the flags through', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'llmbench-gate-validity-'));
    try {
      const file = join(dir, 'result.json');
      writeFileSync(file, JSON.stringify(withPipeline(study, 'int8', invalid)));
      const base = { file, gates: ['pipeline("int8").errorRate == 0'], baselineFile: null, maxRegression: null, format: 'table' as const, stepSummary: null };
      expect((await gateCommand(base)).verdict.pass).toBe(false);
      expect((await gateCommand({ ...base, allowInvalid: true })).verdict.pass).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
