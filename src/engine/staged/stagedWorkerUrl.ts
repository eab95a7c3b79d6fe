// Where the stage worker's JavaScript is. From the compiled package it sits next to this module; when the
// sources run directly (vitest), the worker and the project files it imports are transpiled once into a
// temp folder, since a worker thread cannot load .ts on Node 20.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join, normalize } from 'node:path';
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
  // Keys are paths relative to the parent folder, so imports that leave this folder ('../kvArena.js') work too.
  const here = dirname(fileURLToPath(import.meta.url));
  const root = dirname(here);
  const entry = join(basename(here), 'stagedWorker');
  const ts = (await import('typescript')).default;
  // The worker and every relative module it (transitively) imports, transpiled side by side.
  const sources = new Map<string, string>();
  const pending = [entry];
  for (let name = pending.pop(); name !== undefined; name = pending.pop()) {
    if (sources.has(name)) continue;
    const source = readFileSync(join(root, `${name}.ts`), 'utf8');
    const js2 = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
    sources.set(name, js2);
    for (const m of js2.matchAll(/from\s+'(\.{1,2}\/[\w./-]+)\.js'/g)) if (m[1]) pending.push(normalize(join(dirname(name), m[1])));
  }
  const hash = createHash('sha256');
  for (const [name, text] of [...sources.entries()].sort()) hash.update(name).update(text);
  const dir = join(tmpdir(), `llmbench-staged-worker-${hash.digest('hex').slice(0, 16)}`);
  if (!existsSync(join(dir, `${entry}.js`))) {
    const tmp = `${dir}.${process.pid}.tmp`;
    for (const [name, text] of sources) {
      mkdirSync(dirname(join(tmp, name)), { recursive: true });
      writeFileSync(join(tmp, `${name}.js`), text);
    }
    // package.json marks the folder as ESM so the .js files load as modules.
    writeFileSync(join(tmp, 'package.json'), '{"type":"module"}\n');
    try {
      renameSync(tmp, dir);
    } catch {
      // Another process created the same folder first; its files are identical.
    }
  }
  cached = pathToFileURL(join(dir, `${entry}.js`));
  return cached;
}

/** file:// URL of onnxruntime-node's entry point, resolved from this package. */
export function ortEntryUrl(): string {
  return pathToFileURL(createRequire(import.meta.url).resolve('onnxruntime-node')).href;
}
