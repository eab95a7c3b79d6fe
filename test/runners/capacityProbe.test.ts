// load.rateFromCapacity: a closed-loop probe of the baseline sets the open-loop rate, and the result says so.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderRunReport } from '../../src/report/runReport.js';
import { runScenario } from '../../src/runners/run.js';
import { parseScenario } from '../../src/scenarios/load.js';
import type { InferenceServerHandle } from '../../src/server/inferenceServer.js';
import { createTinyModel, startTinyServer, type TinyModel } from '../helpers/tinyServer.js';

let model: TinyModel;
let server: InferenceServerHandle | null = null;
let dir: string;

beforeAll(async () => {
  model = await createTinyModel();
  dir = mkdtempSync(join(tmpdir(), 'llmbench-probe-test-'));
  server = await startTinyServer(model, { maxBatch: 2 });
});
afterAll(async () => {
  await server?.close();
  model?.remove();
  rmSync(dir, { recursive: true, force: true });
});

describe('capacity probe', () => {
  it('sets the rate to factor x the measured req/s and records the probe in the result and the report', async () => {
    const scenario = parseScenario(
      `name: probe
workload: { api: completions, distinctRequests: 8, promptTokens: 8, outputTokens: 8 }
load: { profile: constant, rateFromCapacity: { factor: 0.5, probe: 1s, concurrency: 2 }, duration: 1s, warmupRequests: 1 }
pipelines:
  - { name: tiny, target: { url: "${server?.url}", tokenizer: "${model.dir}" } }
`,
      { source: 'probe.yaml', baseDir: dir },
    );
    const lines: string[] = [];
    const { result } = await runScenario(scenario, { outDir: join(dir, 'run'), quality: false, onProgress: (l) => lines.push(l) });
    const probe = result.scenario['capacityProbe'] as { pipeline: string; concurrency: number; requestsPerSecond: number; factor: number; rate: number; completed: number };
    expect(probe).toMatchObject({ pipeline: 'tiny', concurrency: 2, factor: 0.5 });
    expect(probe.completed).toBeGreaterThan(0);
    expect(probe.requestsPerSecond).toBeGreaterThan(0);
    expect(probe.rate).toBeCloseTo(0.5 * probe.requestsPerSecond, 9);
    const p = result.pipelines[0];
    expect(p?.summary.load.intendedRate).toBeCloseTo(probe.rate, 9);
    expect((result.scenario['load'] as { rate: number }).rate).toBeCloseTo(probe.rate, 9);
    expect(lines.some((l) => l.startsWith('capacity probe: ') && l.includes('open-loop rate set to'))).toBe(true);
    const { markdown } = await renderRunReport(result);
    expect(markdown).toContain('Open-loop rate set from a capacity probe: `tiny` completed');
  });

  it('probes a local pipeline with the same KV bound (serving.maxContext) the run gives its servers', async () => {
    const scenario = parseScenario(
      `name: probe-local
workload: { api: completions, distinctRequests: 4, promptTokens: 8, outputTokens: 8 }
load: { profile: constant, rateFromCapacity: { factor: 0.5, probe: 1s, concurrency: 2 }, duration: 1s, warmupRequests: 1 }
pipelines:
  - { name: local, model: { source: tiny }, serving: { maxBatch: 2 } }
`,
      { source: 'probe-local.yaml', baseDir: dir },
    );
    const lines: string[] = [];
    const { result } = await runScenario(scenario, { outDir: join(dir, 'run-local'), quality: false, onProgress: (l) => lines.push(l) });
    expect(result.complete).toBe(true);
    // 8 + 8 tokens plus 16 of headroom, rounded up to the arena's 64-slot step.
    expect(lines).toContain('[local] KV cache bound: 64 tokens per sequence');
    const probe = result.scenario['capacityProbe'] as { maxContext: number | null; completed: number };
    expect(probe.completed).toBeGreaterThan(0);
    expect(probe.maxContext).toBe(64);
    const { markdown } = await renderRunReport(result);
    expect(markdown).toContain('closed-loop users over 1 s, servers bounded to 64 tokens per sequence as in the run; rate = 0.5 x that');
  }, 120_000);
});
