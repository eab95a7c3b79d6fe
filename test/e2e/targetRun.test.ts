// Runs without a scenario file, the probe, and --dry-run, against a real llmbench server on the tiny model
// (127.0.0.1, port 0). Remote targets are only ever validated and dry-run: nothing here leaves this machine.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { targetFlags } from '../../src/cli/run.js';
import { probeTarget, renderProbe } from '../../src/commands/probe.js';
import { dryRunCommand, runCommand, type RunCommandOptions } from '../../src/commands/run.js';
import type { TargetFlags } from '../../src/scenarios/fromFlags.js';
import type { InferenceServerHandle } from '../../src/server/inferenceServer.js';
import { createTinyModel, startTinyServer, type TinyModel } from '../helpers/tinyServer.js';
import { expectConsistent } from './helpers.js';

let dir: string;
let model: TinyModel;
let server: InferenceServerHandle;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'llmbench-target-'));
  process.env.LLMBENCH_CACHE = join(dir, 'cache');
  model = await createTinyModel();
  server = await startTinyServer(model, { maxBatch: 4 });
});
afterAll(async () => {
  await server?.close();
  model?.remove();
  rmSync(dir, { recursive: true, force: true });
});

const io = () => ({ progress: () => undefined, signal: new AbortController().signal });

function flags(extra: Partial<TargetFlags>): TargetFlags {
  return {
    target: server.url, model: null, api: null, concurrency: null, rate: null, duration: null, requests: null, warmup: null,
    promptTokens: null, outputTokens: null, dataset: null, tokenizer: null, reusePrompts: false, fixedOutput: false, allowRemote: false, seed: null,
    ...extra,
  };
}

function opts(target: TargetFlags, extra: Partial<RunCommandOptions> = {}): RunCommandOptions {
  return { scenario: null, out: join(dir, `r-${Math.random().toString(36).slice(2)}`), quick: false, repeat: null, gate: false, target, ...extra };
}

describe('llmbench run --target (no scenario file)', () => {
  it('--concurrency 2 --requests 20: 20 measured requests, every one with its own prompt, numbers consistent', async () => {
    const out = await runCommand(opts(flags({ concurrency: 2, requests: 20, outputTokens: 8, promptTokens: 16, tokenizer: model.dir })), io());
    expect(out.exitCode).toBe(0);
    const [p] = out.result.pipelines;
    if (!p) throw new Error('no pipeline');
    expect(p.spec).toMatchObject({ kind: 'external', target: { url: server.url, tokenizer: model.dir } });
    expect(p.summary.counts).toEqual({ total: 20, ok: 20, error: 0, timeout: 0 });
    expectConsistent(p);
    // 2 warm-up + 20 measured requests, 22 distinct workload prompts: no prompt was sent twice.
    expect(new Set(p.samples.map((s) => s.index)).size).toBe(22);
    expect(p.summary.resentPrompts).toBe(0);
    expect(out.result.scenario['workload']).toMatchObject({ kind: 'synthetic', reusePrompts: false, distinctRequests: 128 });
    expect(out.stdout).not.toMatch(/re-sent a prompt/);
    // The server's own count of prompt tokens is reported, and the workload was sized in its tokenizer.
    for (const s of p.samples) expect(s.promptTokens).toBeGreaterThanOrEqual(15);
  });

  it('more requests than prompts: reuse only when asked, and then the terminal and report say so', async () => {
    const scenarioPath = join(dir, 'few-prompts.yaml');
    const yaml = (reuse: boolean): string => `name: few
workload: { distinctRequests: 4, promptTokens: 8, outputTokens: 4, reusePrompts: ${reuse} }
load: { concurrency: 2, requests: 12, warmupRequests: 0, duration: 60s }
pipelines:
  - name: target
    target: { url: "${server.url}" }
`;
    writeFileSync(scenarioPath, yaml(false));
    const unique = await runCommand({ ...opts(flags({})), target: null, scenario: scenarioPath }, io());
    const u = unique.result.pipelines[0] as (typeof unique.result.pipelines)[number];
    expect(new Set(u.samples.map((s) => s.index)).size).toBe(12);
    expect(u.summary.resentPrompts).toBe(0);
    writeFileSync(scenarioPath, yaml(true));
    const reused = await runCommand({ ...opts(flags({})), target: null, scenario: scenarioPath }, io());
    const r = reused.result.pipelines[0] as (typeof reused.result.pipelines)[number];
    expect(new Set(r.samples.map((s) => s.index))).toEqual(new Set([0, 1, 2, 3]));
    expect(r.summary.resentPrompts).toBe(8);
    expect(reused.stdout).toContain('target: 8 requests re-sent a prompt already sent in the same run (workload.reusePrompts is on)');
  });

  it('flag mistakes name the flag', async () => {
    await expect(runCommand(opts(flags({ target: 'ftp://127.0.0.1/' })), io())).rejects.toThrow(/--target: expected an http:\/\/ or https:\/\/ URL, got ftp:/);
    await expect(runCommand(opts(flags({ api: 'soap' })), io())).rejects.toThrow(/--api: /);
    await expect(runCommand({ ...opts(flags({})), scenario: 'x.yaml' }, io())).rejects.toThrow(/give a scenario file or --target, not both/);
    expect(() => targetFlags({ concurrency: '2' })).toThrow('--concurrency only applies with --target URL (a run without a scenario file)');
    expect(() => targetFlags({ target: server.url, requests: 'ten' })).toThrow('--requests: expected an integer >= 1, got "ten"');
  });
});

describe('llmbench probe', () => {
  it('finds the models, usage in the stream, the tokenize endpoint and what ignore_eos does', async () => {
    const r = await probeTarget({ url: `${server.url}/v1`, model: null, api: 'completions', allowRemote: false, apiKey: null });
    expect(r.models).toEqual(['tiny']);
    expect(r.stream).toMatchObject({ ok: true, usage: true, outputTokens: 8, tokenEvents: 8, finishReason: 'length' });
    expect(r.tokenize).toMatchObject({ path: '/tokenize', style: 'vllm' });
    expect(r.tokenize?.count).toBeGreaterThan(5);
    expect(r.ignoreEos.withTokens).toBe(64);
    expect(r.ignoreEos.honoured).not.toBe(false);
    expect(renderProbe(r)).toContain('usage in the stream: yes');
  });

  it('refuses a remote server without --allow-remote', async () => {
    await expect(probeTarget({ url: 'http://192.0.2.1:8000', model: null, api: 'chat', allowRemote: false, apiKey: null })).rejects.toThrow(
      'probe: host "192.0.2.1" is not on this machine',
    );
  });
});

describe('llmbench run --dry-run', () => {
  it('a remote target needs the opt-in, and with it the plan is printed without sending anything', () => {
    const remote = flags({ target: 'http://192.0.2.1:8000/v1', rate: 5, duration: '60s', fixedOutput: true });
    expect(() => dryRunCommand(opts(remote))).toThrow(/--target: host "192.0.2.1" is not on this machine; .*add target\.allowRemote: true \(or pass --allow-remote\)/);
    const plan = dryRunCommand(opts(remote, { allowRemote: true }));
    expect(plan).toContain('nothing is sent, nothing is started');
    expect(plan).toContain('target (baseline): external http://192.0.2.1:8000 (remote allowed)');
    expect(plan).toContain('a distinct prompt for every request');
    expect(plan).toMatch(/load: open loop, poisson arrivals at 5 req\/s; for 60 s; 2 warm-up requests first\n {2}\d+ requests scheduled/);
    expect(plan).toMatch(/first request: POST http:\/\/192\.0\.2\.1:8000\/v1\/completions \{"prompt":.*"ignore_eos":true,"min_tokens":32\}/);
  });

  it('a scenario file with a remote target: allowRemote in the file works too', () => {
    const path = join(dir, 'remote.yaml');
    writeFileSync(path, 'name: remote\npipelines:\n  - name: gpu-box\n    target: { url: "http://192.0.2.7:8000", allowRemote: true, extraBody: { cache_prompt: false } }\n');
    const plan = dryRunCommand({ scenario: path, out: null, quick: false, repeat: null, gate: false });
    expect(plan).toContain('gpu-box (baseline): external http://192.0.2.7:8000 (remote allowed), model (the server\'s first), extra body {"cache_prompt":false}');
    expect(plan).toContain('"cache_prompt":false');
  });
});
