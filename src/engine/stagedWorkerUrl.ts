// Where the stage worker's JavaScript is. From the compiled package it sits next to this module; when the
// sources run directly (vitest), the worker's TypeScript is transpiled once into a temp file, since a
// worker thread cannot load .ts on Node 20.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

let cached: URL | null = null;

/** URL of a runnable stagedWorker module. */
export async function stagedWorkerUrl(): Promise<URL> {
  if (cached) return cached;
  const js = new URL('./stagedWorker.js', import.meta.url);
  if (existsSync(fileURLToPath(js))) {
    cached = js;
    return js;
  }
  const tsPath = fileURLToPath(new URL('./stagedWorker.ts', import.meta.url));
  const source = readFileSync(tsPath, 'utf8');
  const out = join(tmpdir(), `llmbench-staged-worker-${createHash('sha256').update(source).digest('hex').slice(0, 16)}.mjs`);
  if (!existsSync(out)) {
    const ts = (await import('typescript')).default;
    const js2 = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
    const tmp = `${out}.${process.pid}.tmp`;
    writeFileSync(tmp, js2);
    renameSync(tmp, out);
  }
  cached = pathToFileURL(out);
  return cached;
}

/** file:// URL of onnxruntime-node's entry point, resolved from this package. */
export function ortEntryUrl(): string {
  return pathToFileURL(createRequire(import.meta.url).resolve('onnxruntime-node')).href;
}
