// CLI wiring only: each command's logic lives in a module a test can call directly.
import { Command } from 'commander';
import { registerModel } from './model.js';
import { registerBalance } from './balance.js';
import { registerScenarios } from './scenarios.js';
import { registerRun } from './run.js';
import { registerQuantize } from './quantize.js';
import { registerServe } from './serve.js';
import { registerEval } from './eval.js';
import { registerReport } from './report.js';
import { registerGenerate } from './generate.js';
import { registerDoctor } from './doctor.js';
import { registerProbe } from './probe.js';
import { newProgram, runProgram } from './runProgram.js';

/** Builds the commander program with every command registered. */
export function buildProgram(): Command {
  const program = newProgram();
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
  registerDoctor(program);
  registerProbe(program);
  return program;
}

/** Runs the CLI; returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  return runProgram(buildProgram(), argv);
}
