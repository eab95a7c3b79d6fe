#!/usr/bin/env node
// Process entry point: run the CLI and exit with its code.
import { newProgram, runProgram } from './runProgram.js';

const argv = process.argv;
if (argv[2] === 'balance') {
  // The built-in balancer runs as its own process beside the inference servers and its memory counts for the
  // pipeline: load only the balancer, not onnxruntime and the rest of the CLI.
  const { registerBalance } = await import('./balance.js');
  const program = newProgram();
  registerBalance(program);
  process.exitCode = await runProgram(program, argv);
} else if (argv[2] === 'serve') {
  // An inference server's memory is what a pipeline measures: load the server, not the reporting side of the
  // CLI (charts, tables, statistics). Measured on gpt2 int4: RSS before the model load 116 -> 82 MB.
  const { registerServe } = await import('./serve.js');
  const program = newProgram();
  registerServe(program);
  process.exitCode = await runProgram(program, argv);
} else {
  const { main } = await import('./program.js');
  process.exitCode = await main(argv);
}
