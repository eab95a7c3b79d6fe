// CLI wiring for `llmbench run`: flags, Ctrl-C handling and exit code. The logic is in runners/runCommand.ts.
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { killAllNow } from '../runners/deploy/processes.js';
import { dryRunCommand, runCommand } from '../commands/run.js';
import { parseShard } from '../runners/plan/shard.js';
import type { TargetFlags } from '../scenarios/fromFlags.js';
import { parseIntOption, parseNumberOption } from './options.js';

interface RunFlags {
  out?: string;
  quick?: boolean;
  repeat?: string;
  gate?: boolean;
  dryRun?: boolean;
  allowRemote?: boolean;
  allowInvalid?: boolean;
  allowEstimated?: boolean;
  target?: string;
  model?: string;
  api?: string;
  concurrency?: string;
  rate?: string;
  duration?: string;
  requests?: string;
  warmup?: string;
  promptTokens?: string;
  outputTokens?: string;
  dataset?: string;
  tokenizer?: string;
  reusePrompts?: boolean;
  fixedOutput?: boolean;
  seed?: string;
  shard?: string;
}

const TARGET_ONLY = ['model', 'api', 'concurrency', 'rate', 'duration', 'requests', 'warmup', 'promptTokens', 'outputTokens', 'dataset', 'tokenizer', 'reusePrompts', 'fixedOutput', 'seed'] as const;

/** The no-scenario flags, or null when --target is absent (then they must be absent too). */
export function targetFlags(f: RunFlags): TargetFlags | null {
  if (f.target === undefined) {
    const stray = TARGET_ONLY.filter((k) => f[k] !== undefined);
    if (stray.length > 0) {
      const flag = (k: string): string => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
      throw new UsageError(`${stray.map(flag).join(', ')} only ${stray.length === 1 ? "applies" : "apply"} with --target URL (a run without a scenario file)`, 'Set these in the scenario file, or pass --target.');
    }
    return null;
  }
  const int = (name: string, v: string | undefined, min: number): number | null => (v === undefined ? null : parseIntOption(name, v, min));
  return {
    target: f.target,
    model: f.model ?? null,
    api: f.api ?? null,
    concurrency: int('--concurrency', f.concurrency, 1),
    rate: f.rate === undefined ? null : parseNumberOption('--rate', f.rate, Number.MIN_VALUE),
    duration: f.duration ?? null,
    requests: int('--requests', f.requests, 1),
    warmup: int('--warmup', f.warmup, 0),
    promptTokens: int('--prompt-tokens', f.promptTokens, 1),
    outputTokens: int('--output-tokens', f.outputTokens, 1),
    dataset: f.dataset ?? null,
    tokenizer: f.tokenizer ?? null,
    reusePrompts: f.reusePrompts === true,
    fixedOutput: f.fixedOutput === true,
    allowRemote: f.allowRemote === true,
    seed: int('--seed', f.seed, 0),
  };
}

/** Registers `llmbench run [scenario]`. */
export function registerRun(program: Command): void {
  program
    .command('run')
    .argument('[scenario]', 'scenario file (YAML or JSON) or the name of a shipped scenario (see `llmbench scenarios list`)')
    .description('Deploy each pipeline of a scenario, drive the same seeded load at it, and write results/<run-id>/')
    .option('--out <dir>', 'folder for result.json and report.md (default results/<run-id>)')
    .option('--quick', 'short smoke run: the scenario\'s quick duration, one repeat')
    .option('--repeat <n>', 'run every pipeline n times, interleaved (A B A B ...), and pool the measurements')
    .option('--gate', 'check the scenario\'s gates after the run; exit 1 when one fails')
    .option('--allow-invalid', 'with --gate: judge pipelines the run marked INVALID or incomplete instead of failing')
    .option('--allow-estimated', 'with --gate: judge token metrics whose counts are estimated (no server usage)')
    .option('--dry-run', 'validate, build the workload and print the plan; send no request, start nothing')
    .option('--allow-remote', 'allow external targets that are not on this machine')
    .option('--target <url>', 'benchmark this OpenAI-compatible server without a scenario file')
    .option('--model <name>', 'with --target: model name sent in requests (default: the server\'s first)')
    .option('--api <api>', 'with --target: completions (default), chat or generate')
    .option('--concurrency <n>', 'with --target: concurrent users (closed loop), or the in-flight cap with --rate')
    .option('--rate <r>', 'with --target: open loop, Poisson arrivals at r requests/s')
    .option('--duration <d>', 'with --target: how long to load, e.g. 60s (default 30s, or until --requests)')
    .option('--requests <n>', 'with --target: measured requests to send')
    .option('--warmup <n>', 'with --target: warm-up requests first (default 2)')
    .option('--prompt-tokens <n>', 'with --target: synthetic prompt length (default 64)')
    .option('--output-tokens <n>', 'with --target: max_tokens per request (default 32)')
    .option('--dataset <file>', 'with --target: prompts from a JSONL or ShareGPT file')
    .option('--tokenizer <path>', 'with --target: tokenizer.json, model folder or preset that sizes prompts and counts tokens')
    .option('--reuse-prompts', 'with --target: cycle through the built prompts (prompt caches then hit)')
    .option('--fixed-output', 'with --target: ask for exactly --output-tokens tokens (ignore_eos + min_tokens)')
    .option('--seed <n>', 'with --target: workload seed (default 1)')
    .option('--shard <I/N>', 'drive shard I of N of the load (every N-th request of the schedule); "N" alone takes I from $JOB_COMPLETION_INDEX. Merge the shards with `llmbench merge`')
    .action(async (scenario: string | undefined, flags: RunFlags) => {
      let repeat: number | null = null;
      if (flags.repeat !== undefined) {
        if (!/^\d+$/.test(flags.repeat)) throw new UsageError(`--repeat: expected an integer, got "${flags.repeat}"`);
        repeat = Number(flags.repeat);
      }
      const opts = {
        scenario: scenario ?? null,
        out: flags.out ?? null,
        quick: flags.quick === true,
        repeat,
        gate: flags.gate === true,
        target: targetFlags(flags),
        allowRemote: flags.allowRemote === true,
        allowInvalid: flags.allowInvalid === true,
        allowEstimated: flags.allowEstimated === true,
        shard: flags.shard === undefined ? null : parseShard(flags.shard),
      };
      if (flags.dryRun) {
        process.stdout.write(dryRunCommand(opts));
        return;
      }
      const ac = new AbortController();
      let interrupts = 0;
      const onSignal = (sig: NodeJS.Signals): void => {
        interrupts++;
        if (interrupts === 1) {
          process.stderr.write(`\n${sig}: stopping every server llmbench started, keeping what was measured (again to kill at once)\n`);
          ac.abort();
          return;
        }
        killAllNow();
        process.exit(130);
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      try {
        const out = await runCommand(opts, { progress: (line) => process.stderr.write(`${line}\n`), signal: ac.signal });
        process.stdout.write(out.stdout);
        process.exitCode = out.exitCode;
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}
