// CLI wiring for `llmbench run`: flags, Ctrl-C handling and exit code. The logic is in runners/runCommand.ts.
import type { Command } from 'commander';
import { UsageError } from '../errors.js';
import { killAllNow } from '../runners/processes.js';
import { runCommand } from '../runners/runCommand.js';

interface RunFlags {
  out?: string;
  quick?: boolean;
  repeat?: string;
  gate?: boolean;
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
    .action(async (scenario: string | undefined, flags: RunFlags) => {
      let repeat: number | null = null;
      if (flags.repeat !== undefined) {
        if (!/^\d+$/.test(flags.repeat)) throw new UsageError(`--repeat: expected an integer, got "${flags.repeat}"`);
        repeat = Number(flags.repeat);
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
        const out = await runCommand(
          { scenario: scenario ?? null, out: flags.out ?? null, quick: flags.quick === true, repeat, gate: flags.gate === true },
          { progress: (line) => process.stderr.write(`${line}\n`), signal: ac.signal },
        );
        process.stdout.write(out.stdout);
        process.exitCode = out.exitCode;
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
}
