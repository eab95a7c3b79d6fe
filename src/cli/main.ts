#!/usr/bin/env node
// Process entry point: run the CLI and exit with its code.
import { main } from './program.js';

process.exitCode = await main(process.argv);
