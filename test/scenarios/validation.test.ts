import { describe, expect, it } from 'vitest';
import { ScenarioError } from '../../src/errors.js';
import { parseScenario } from '../../src/scenarios/load.js';

const base = `
name: t
pipelines:
  - name: a
    model: { source: tiny }
`;

function problems(text: string): string[] {
  try {
    parseScenario(text, { source: 'bad.yaml', baseDir: '/tmp', checkFiles: true });
  } catch (e) {
    expect(e).toBeInstanceOf(ScenarioError);
    expect((e as ScenarioError).exitCode).toBe(2);
    return (e as ScenarioError).problems;
  }
  throw new Error('scenario was accepted');
}

describe('scenario validation', () => {
  const cases: Array<[string, string, string[]]> = [
    ['missing name and pipelines', 'seed: 1\n', ['name: required', 'pipelines: required']],
    ['empty pipelines', 'name: x\npipelines: []\n', ['pipelines: must have at least 1 item']],
    [
      'bad quantize in second pipeline',
      `name: x
pipelines:
  - name: a
    model: { source: tiny }
  - name: b
    model: { source: tiny, quantize: int3 }
`,
      ['pipelines[1].model.quantize: expected one of int8, int4, int8-weight, fp16'],
    ],
    [
      'several problems at once, each with its path',
      `name: x
load: { profile: ramp, duration: 30, concurrency: 0, extra: 1 }
pipelines:
  - name: "a b"
    model: { source: tiny }
    serving: { replicas: 17 }
`,
      [
        'load.profile: expected one of concurrency, constant, poisson, sweep',
        'load.concurrency: must be >= 1',
        'load.duration: expected a duration like 500ms, 30s or 2m',
        'load.extra: unknown field',
        'pipelines[0].name: must be 1-64 characters of A-Z a-z 0-9 . _ -',
        'pipelines[0].serving.replicas: must be <= 16',
      ],
    ],
    [
      'KV and variant fields: bad values and combinations the servers cannot run',
      `name: x
pipelines:
  - name: a
    model: { source: tiny, variant: fp16, quantize: int8 }
    serving: { maxContext: 1, kvDtype: bfloat16 }
  - name: b
    model: { source: tiny, variant: "../x" }
`,
      [
        'pipelines[0].serving.maxContext: must be >= 2',
        'pipelines[0].serving.kvDtype: expected one of float32, float16',
        'pipelines[1].model.variant: letters and digits only (the <variant> of onnx/model_<variant>.onnx)',
      ],
    ],
    [
      'KV dtype or CPU fallback off with stages',
      `name: x
pipelines:
  - name: c
    model: { source: tiny }
    serving: { kvDtype: float16, stages: 2 }
  - name: d
    model: { source: tiny }
    serving: { cpuFallback: false, stages: 2 }
`,
      [
        "pipelines[0].serving.kvDtype: cannot be combined with serving.stages (stage workers keep the graph's KV type)",
        "pipelines[1].serving.cpuFallback: false cannot be combined with serving.stages yet (stage workers keep onnxruntime's CPU fallback)",
      ],
    ],
    [
      'rate required for open loop',
      `name: x\nload: { profile: poisson }\n${base.split('\n').slice(2).join('\n')}`,
      ['load.rate: required for profile poisson (or set rateFromCapacity)'],
    ],
    [
      'balancer none with replicas, bad fault target, device count',
      `name: x
pipelines:
  - name: a
    model: { source: tiny }
    serving: { replicas: 2, device: [cpu, cpu, cpu] }
    balancer: { kind: none }
    faults: [{ at: 2s, kill: replica-2 }]
`,
      [
        'pipelines[0].serving.device: lists 3 devices for 2 replicas',
        'pipelines[0].balancer.kind: none needs serving.replicas 1 (got 2)',
        'pipelines[0].faults[0].kill: no replica "replica-2" (this pipeline has replica-0..replica-1)',
      ],
    ],
    [
      'shared replicas: one device, no stages, no faults, a known mode',
      `name: x
pipelines:
  - name: a
    model: { source: tiny }
    serving: { replicas: 2, replicaMode: shared, device: [cpu, cuda], stages: 2 }
    faults: [{ at: 2s, kill: replica-1 }]
  - name: b
    model: { source: tiny }
    serving: { replicas: 2, replicaMode: threads }
`,
      [
        'pipelines[0].serving.replicaMode: shared runs every replica over one onnxruntime session; it cannot be combined with serving.stages (use replicaMode: process)',
        'pipelines[0].serving.replicaMode: shared puts every replica in one process on one device; serving.device lists cpu, cuda (use replicaMode: process)',
        'pipelines[0].faults: killing a replica kills a process, and with serving.replicaMode shared one process holds every replica (use replicaMode: process)',
        'pipelines[1].serving.replicaMode: expected one of process, shared',
      ],
    ],
    [
      'duplicate names and two baselines',
      `name: x
pipelines:
  - { name: a, baseline: true, model: { source: tiny } }
  - { name: a, baseline: true, model: { source: small } }
`,
      [
        'pipelines[1].name: duplicate name "a" (also pipelines[0])',
        'pipelines[1].baseline: only one pipeline can be the baseline (pipelines[0] already is)',
      ],
    ],
    [
      'non-loopback external target',
      `name: x
pipelines:
  - name: ext
    target: { url: "http://example.com:8000/v1" }
`,
      [
        'pipelines[0].target.url: host "example.com" is not on this machine; llmbench only sends load elsewhere when asked, ' +
          'so that a benchmark never floods a shared service by mistake: add target.allowRemote: true (or pass --allow-remote)',
      ],
    ],
    [
      'non-http target',
      `name: x\npipelines:\n  - { name: e, target: { url: "ftp://127.0.0.1/" } }\n`,
      ['pipelines[0].target.url: expected an http:// or https:// URL, got ftp:'],
    ],
    [
      'unknown model folder',
      `name: x\npipelines:\n  - { name: a, model: { source: ./no-such-model } }\n`,
      ['pipelines[0].model.source: "./no-such-model" is neither a preset (tiny, small, gpt2) nor an existing folder'],
    ],
    [
      'length distributions',
      `name: x
workload:
  promptTokens: { dist: zipf }
  outputTokens: { dist: uniform, min: 10, max: 5 }
${base.split('\n').slice(2).join('\n')}`,
      ['workload.promptTokens.dist: expected one of fixed, uniform, normal, lognormal', 'workload.outputTokens.max: must be >= min (10)'],
    ],
    [
      'token count of the wrong type',
      `name: x\nworkload: { promptTokens: "many" }\n${base.split('\n').slice(2).join('\n')}`,
      ['workload.promptTokens: expected a number or an object, got "many"'],
    ],
    [
      'sweep rules',
      `name: x
load: { profile: sweep, sweep: { over: concurrency, levels: [1, 2.5], stopWhen: slo }, maxConcurrency: 4 }
${base.split('\n').slice(2).join('\n')}`,
      [
        'load.sweep.levels[1]: concurrency levels must be integers',
        'load.maxConcurrency: only applies to open-loop profiles (constant, poisson, sweep over rate)',
        'load.sweep.stopWhen: "slo" needs an slo section',
      ],
    ],
    [
      'autocannon with poisson',
      `name: x\nload: { profile: poisson, rate: 5, driver: autocannon }\n${base.split('\n').slice(2).join('\n')}`,
      ['load.driver: autocannon supports profiles concurrency and constant (got poisson)'],
    ],
    [
      'explicit stages must cover layers in order',
      `name: x
pipelines:
  - name: a
    model: { source: tiny }
    serving: { stages: [{ layers: [0, 1] }, { layers: [3, 2] }] }
`,
      [
        'pipelines[0].serving.stages[1].layers: must start at layer 2',
        'pipelines[0].serving.stages[1].layers: last layer 2 is before first 3',
      ],
    ],
    [
      'problems in different sections are all reported together',
      `name: x
load: { profile: poisson, sweep: { levels: [1], stopWhen: slo } }
pipelines:
  - { name: a, model: { source: tiny, quantize: int3 } }
  - { name: a, target: { url: "http://10.0.0.1/" } }
  - { name: c, model: { source: tiny }, serving: { replicas: 2 }, balancer: { kind: none } }
`,
      [
        'load.rate: required for profile poisson (or set rateFromCapacity)',
        'load.sweep: only allowed with profile sweep',
        'pipelines[0].model.quantize: expected one of int8, int4, int8-weight, fp16',
        'pipelines[1].target.url: host "10.0.0.1" is not on this machine; llmbench only sends load elsewhere when asked, so that a benchmark never floods a shared service by mistake: add target.allowRemote: true (or pass --allow-remote)',
        'pipelines[2].balancer.kind: none needs serving.replicas 1 (got 2)',
        'load.sweep.stopWhen: "slo" needs an slo section',
      ],
    ],
    [
      'deadline and fallback: both or neither, a deadline below the timeout, a non-empty canned text, a real fallback model',
      `name: x
pipelines:
  - { name: a, model: { source: tiny }, serving: { deadline: { after: 500ms } } }
  - { name: b, model: { source: tiny }, serving: { fallback: { kind: canned, text: "busy" } } }
  - { name: c, model: { source: tiny }, serving: { timeoutMs: 1000, deadline: { after: 2s }, fallback: { kind: canned, text: "  " } } }
  - { name: d, model: { source: tiny }, serving: { deadline: { after: 1s, scope: last-token }, fallback: { kind: model, source: ./no-such-model } } }
  - { name: e, model: { source: tiny }, balancer: { kind: none, fallback: { model: { source: tiny } } } }
`,
      [
        'pipelines[0].serving.deadline: needs serving.fallback (who answers past the deadline)',
        'pipelines[1].serving.fallback: needs serving.deadline (when the fallback answers)',
        'pipelines[2].serving.fallback.text: must not be empty',
        'pipelines[2].serving.deadline.after: must be below serving.timeoutMs (1000 ms), or the fallback never runs',
        'pipelines[3].serving.deadline.scope: expected one of first-token, total',
        'pipelines[4].balancer.fallback: needs a balancer (kind builtin or nginx) to route to the backup',
      ],
    ],
    [
      'rateFromCapacity replaces rate, on open-loop profiles only',
      `name: x
load: { profile: poisson, rate: 4, rateFromCapacity: { factor: 2 } }
${base.split('\n').slice(2).join('\n')}`,
      ['load.rateFromCapacity: give either rate or rateFromCapacity, not both'],
    ],
    ['YAML syntax error', 'name: [x\n', ['line 2, column 1: Flow sequence in block collection must be sufficiently indented and end with a ]']],
  ];

  for (const [title, text, expected] of cases) {
    it(title, () => {
      expect(problems(text)).toEqual(expected);
    });
  }

  it('the thrown message lists the file and every problem', () => {
    try {
      parseScenario('name: x\npipelines: []\n', { source: 'bad.yaml', baseDir: '/tmp' });
    } catch (e) {
      expect((e as Error).message).toBe('bad.yaml: invalid scenario\n  pipelines: must have at least 1 item');
      return;
    }
    throw new Error('accepted');
  });
});
