import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { listBuiltinScenarios } from '../../src/scenarios/builtin.js';
import { scenarioJsonSchema } from '../../src/scenarios/jsonSchema.js';
import { loadScenario, parseScenario } from '../../src/scenarios/load.js';
import { applyOverrides } from '../../src/scenarios/overrides.js';

describe('scenario loading', () => {
  it('fills defaults, converts durations and picks the first pipeline as baseline', () => {
    const s = parseScenario(
      `name: x
load: { profile: poisson, rate: 4, duration: 1.5s, requestTimeout: 2m, burstiness: 0.5 }
pipelines:
  - { name: a, model: { source: tiny } }
  - { name: b, model: { source: tiny, quantize: int8 }, serving: { replicas: 2 } }
`,
      { source: 'x.yaml', baseDir: '/tmp' },
    );
    expect(s.seed).toBe(1);
    expect(s.load).toEqual({
      profile: 'poisson',
      concurrency: 1,
      rate: 4,
      rateFromCapacity: null,
      burstiness: 0.5,
      maxConcurrency: null,
      warmupRequests: 2,
      durationMs: 1500,
      requests: null,
      sweep: null,
      driver: 'streaming',
      requestTimeoutMs: 120_000,
    });
    expect(s.workload).toEqual({
      kind: 'synthetic',
      api: 'completions',
      stream: true,
      distinctRequests: 128,
      reusePrompts: false,
      fixedOutput: false,
      promptTokens: { dist: 'fixed', value: 64 },
      outputTokens: { dist: 'fixed', value: 32 },
    });
    expect(s.pipelines.map((p) => [p.name, p.baseline])).toEqual([
      ['a', true],
      ['b', false],
    ]);
    const b = s.pipelines[1];
    if (b?.kind !== 'local') throw new Error('expected local');
    expect(b.serving.devices).toEqual(['cpu', 'cpu']);
    // Two replicas without a balancer section get the built-in balancer.
    expect(b.balancer).toEqual({ kind: 'builtin', policy: 'least-connections', tries: 3, upstreamTimeoutMs: 60_000, fallback: null });
    expect(b.serving.deadline).toBeNull();
  });

  it('accepts JSON, an explicit baseline, external targets and jsonl paths relative to the file', () => {
    const s = parseScenario(
      JSON.stringify({
        name: 'j',
        workload: { jsonl: 'prompts.jsonl', api: 'chat' },
        pipelines: [
          { name: 'local', model: { source: 'tiny' } },
          { name: 'ext', baseline: true, target: { url: 'http://localhost:8000/v1/', apiKeyEnv: 'MY_KEY' } },
        ],
      }),
      { source: 'j.json', baseDir: '/data/sc', checkFiles: false },
    );
    expect(s.workload).toMatchObject({ kind: 'jsonl', path: '/data/sc/prompts.jsonl', api: 'chat' });
    expect(s.pipelines.map((p) => p.baseline)).toEqual([false, true]);
    expect(s.pipelines[1]).toEqual({
      kind: 'external',
      name: 'ext',
      baseline: true,
      target: { url: 'http://localhost:8000', model: null, apiKeyEnv: 'MY_KEY', tokenizer: null, extraBody: null, allowRemote: false },
    });
  });

  it('--quick shortens the load and runs once', () => {
    const s = loadScenario('fp32-vs-int8');
    const q = applyOverrides({ ...s, repeat: 3 }, { quick: true });
    expect(q.load.durationMs).toBe(3000);
    expect(q.load.warmupRequests).toBe(1);
    expect(q.repeat).toBe(1);
    expect(applyOverrides(s, { repeat: 4 }).repeat).toBe(4);
  });

  it('maps serving.deadline/fallback and balancer.fallback into the typed scenario (resilience)', () => {
    const s = loadScenario('resilience');
    expect(s.load.rateFromCapacity).toEqual({ factor: 2, probeMs: 6000, concurrency: null });
    expect(s.load.rate).toBeNull();
    const [plain, guarded, backed] = s.pipelines;
    if (plain?.kind !== 'local' || guarded?.kind !== 'local' || backed?.kind !== 'local') throw new Error('expected local pipelines');
    expect(plain.serving.deadline).toBeNull();
    expect(guarded.serving.deadline).toEqual({
      afterMs: 1000,
      scope: 'first-token',
      fallback: { kind: 'canned', text: 'The service is busy right now; please try again in a moment.' },
    });
    expect(backed.balancer.fallback).toEqual({ replicas: 1, model: { source: 'tiny', quantize: null }, threads: 1, maxBatch: 8 });
    expect(backed.faults).toEqual([{ atMs: 4000, kill: 'replica-1', restartAfterMs: null }]);
  });

  it('a model fallback gets serving.maxBatch unless it says otherwise', () => {
    const s = parseScenario(
      `name: f
pipelines:
  - { name: a, model: { source: tiny }, serving: { maxBatch: 4, deadline: { after: 2s, scope: total }, fallback: { kind: model, source: tiny, quantize: int8 } } }
`,
      { source: 'f.yaml', baseDir: '/tmp' },
    );
    const a = s.pipelines[0];
    if (a?.kind !== 'local') throw new Error('expected local');
    expect(a.serving.deadline).toEqual({ afterMs: 2000, scope: 'total', fallback: { kind: 'model', source: 'tiny', quantize: 'int8', maxBatch: 4 } });
  });

  it('every shipped scenario is valid and listed', () => {
    const list = listBuiltinScenarios();
    expect(list.map((x) => x.name)).toContain('fp32-vs-int8');
    for (const item of list) {
      const s = loadScenario(item.name);
      expect(s.pipelines.length).toBeGreaterThan(0);
      expect(item.description.length).toBeGreaterThan(0);
    }
  });

  it('the committed scenario.schema.json matches the zod definition', () => {
    const committed = JSON.parse(readFileSync(new URL('../../scenario.schema.json', import.meta.url), 'utf8')) as unknown;
    expect(committed).toEqual(scenarioJsonSchema());
  });

  it('an unknown scenario name is a usage error listing the shipped ones', () => {
    expect(() => loadScenario('no-such-scenario')).toThrow(/no scenario file or shipped scenario named "no-such-scenario"/);
  });
});
