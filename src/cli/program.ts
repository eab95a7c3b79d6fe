// CLI wiring only: each command's logic lives in a module a test can call directly.
import { Command, CommanderError } from 'commander';
import { isLlmbenchError } from '../errors.js';
import { VERSION } from '../version.js';
import { registerModel } from './model.js';
import { registerBalance } from './balance.js';
import { registerScenarios } from './scenarios.js';
import { registerRun } from './run.js';
import { registerQuantize } from './quantize.js';
import { registerServe } from './serve.js';
import { registerEval } from './eval.js';
import { registerReport } from './report.js';
import { registerGenerate } from './generate.js';

/** Builds the commander program with every command registered. */
export function buildProgram(): Command {
  const program = new Command('llmbench')
    .description('Benchmark LLM inference optimizations against a baseline, with evidence.')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)');
  // Command registrations (one line per command module).
  registerModel(program);
  registerBalance(program);
  registerScenarios(program);
  registerRun(program);
  registerQuantize(program);
  registerServe(program);
  registerEval(program);
  registerReport(program);
  registerGenerate(program);
  return program;
}

/** Runs the CLI; returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  // Subcommands copy the exit callback when created, so set it on every command (else a missing option exits 1).
  const overrideAll = (c: Command): void => {
    c.exitOverride();
    c.commands.forEach(overrideAll);
  };
  overrideAll(program);
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // commander already printed its message (or help/version).
      return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.exitCode === 0 ? 0 : 2;
    }
    if (isLlmbenchError(e)) {
      process.stderr.write(`error: ${e.message}\n`);
      if (e.hint) process.stderr.write(`hint: ${e.hint}\n`);
      return e.exitCode;
    }
    process.stderr.write(`internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return 1;
  }
}

