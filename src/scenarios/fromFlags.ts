// `llmbench run --target URL ...`: command-line flags expand into a full scenario (like k6 shortcuts), validated
// by the same rules as a file, with problems named by the flag the user typed.
import { ScenarioError } from '../errors.js';
import { validateScenario } from './load.js';
import type { Scenario } from './types.js';

/** The flags of a run without a scenario file. Strings are as typed; validation turns them into numbers. */
export interface TargetFlags {
  target: string;
  model: string | null;
  api: string | null;
  concurrency: number | null;
  rate: number | null;
  duration: string | null;
  requests: number | null;
  warmup: number | null;
  promptTokens: number | null;
  outputTokens: number | null;
  dataset: string | null;
  tokenizer: string | null;
  reusePrompts: boolean;
  fixedOutput: boolean;
  allowRemote: boolean;
  seed: number | null;
}

/** Scenario fields back to the flags that set them, so an error names what the user typed. */
const FLAG_OF: Array<[RegExp, string]> = [
  [/^pipelines\[0\]\.target\.url:/, '--target:'],
  [/^pipelines\[0\]\.target\.model:/, '--model:'],
  [/^pipelines\[0\]\.target\.tokenizer:/, '--tokenizer:'],
  [/^workload\.api:/, '--api:'],
  [/^workload\.jsonl:/, '--dataset:'],
  [/^workload\.promptTokens:/, '--prompt-tokens:'],
  [/^workload\.outputTokens:/, '--output-tokens:'],
  [/^load\.concurrency:/, '--concurrency:'],
  [/^load\.rate:/, '--rate:'],
  [/^load\.duration:/, '--duration:'],
  [/^load\.requests:/, '--requests:'],
  [/^load\.warmupRequests:/, '--warmup:'],
  [/^seed:/, '--seed:'],
];

/** The scenario data the flags stand for (before validation). */
export function scenarioDataFromFlags(f: TargetFlags): Record<string, unknown> {
  const workload: Record<string, unknown> = f.dataset !== null ? { jsonl: f.dataset } : {};
  if (f.api !== null) workload.api = f.api;
  if (f.promptTokens !== null && f.dataset === null) workload.promptTokens = f.promptTokens;
  if (f.outputTokens !== null) workload.outputTokens = f.outputTokens;
  if (f.reusePrompts) workload.reusePrompts = true;
  if (f.fixedOutput) workload.fixedOutput = true;
  // Open loop when a rate is given (Poisson arrivals, as vLLM's benchmark), else closed loop.
  const load: Record<string, unknown> = { profile: f.rate !== null ? 'poisson' : 'concurrency' };
  if (f.rate !== null) load.rate = f.rate;
  if (f.concurrency !== null) load[f.rate !== null ? 'maxConcurrency' : 'concurrency'] = f.concurrency;
  if (f.duration !== null) load.duration = f.duration;
  if (f.requests !== null) load.requests = f.requests;
  if (f.warmup !== null) load.warmupRequests = f.warmup;
  // A request count alone bounds the run; the duration default must not cut it short.
  if (f.requests !== null && f.duration === null) load.duration = '1h';
  const target: Record<string, unknown> = { url: f.target };
  if (f.model !== null) target.model = f.model;
  if (f.tokenizer !== null) target.tokenizer = f.tokenizer;
  if (f.allowRemote) target.allowRemote = true;
  const data: Record<string, unknown> = { name: 'target', workload, load, pipelines: [{ name: 'target', target }] };
  if (f.seed !== null) data.seed = f.seed;
  return data;
}

/** A validated scenario from command-line flags; relative paths resolve against `cwd`. */
export function scenarioFromFlags(f: TargetFlags, cwd: string): Scenario {
  try {
    return validateScenario(scenarioDataFromFlags(f), { source: 'command line', baseDir: cwd });
  } catch (e) {
    if (!(e instanceof ScenarioError)) throw e;
    const named = e.problems.map((p) => {
      const hit = FLAG_OF.find(([re]) => re.test(p));
      return hit ? p.replace(hit[0], hit[1]) : p;
    });
    throw new ScenarioError('command line', named);
  }
}
