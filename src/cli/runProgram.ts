// Parsing and error handling shared by every entry point: user mistakes print one line plus a hint and exit 2.
import { Command, CommanderError } from 'commander';
import { isLlmbenchError } from '../errors.js';
import { VERSION } from '../version.js';

/** The root command, before any subcommand is registered. */
export function newProgram(): Command {
  return new Command('llmbench')
    .description('Benchmark LLM inference optimizations against a baseline, with evidence.')
    .version(VERSION)
    .showHelpAfterError('(run with --help for usage)');
}

/** Parses argv with `program` and runs the command; returns the process exit code. */
export async function runProgram(program: Command, argv: string[]): Promise<number> {
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
