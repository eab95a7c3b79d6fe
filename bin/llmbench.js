#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm install` (prepare) or `npm run build`.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
const entry = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write('llmbench: dist/ is missing. Run `npm install` (or `npm run build`) in the llmbench folder first.\n');
  process.exit(2);
}
await import(entry.href);
