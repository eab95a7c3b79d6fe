// Real inference servers on the real generated tiny model, in-process on 127.0.0.1 port 0, for server tests.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createModel } from '../../src/modelgen/create.js';
import { startInferenceServer, type InferenceServerHandle } from '../../src/server/inferenceServer.js';
import { resolveServeOptions, type ServeOptions } from '../../src/server/serveOptions.js';

/** A temp folder holding the tiny model; `remove()` deletes it. */
export interface TinyModel {
  dir: string;
  remove(): void;
}

/** Writes the tiny preset (seed 42) into a fresh temp folder. */
export async function createTinyModel(): Promise<TinyModel> {
  const root = mkdtempSync(join(tmpdir(), 'llmbench-server-test-'));
  const dir = join(root, 'tiny');
  await createModel({ preset: 'tiny', seed: 42, outDir: dir });
  return { dir, remove: () => rmSync(root, { recursive: true, force: true }) };
}

/** Starts a server on the tiny model (port 0) with option overrides. */
export function startTinyServer(model: TinyModel, overrides: Partial<ServeOptions> = {}): Promise<InferenceServerHandle> {
  return startInferenceServer(resolveServeOptions({ model: model.dir, port: 0, ...overrides }));
}

/** Reads one sample value from a Prometheus text body (`name{labels}` exactly as rendered); NaN when absent. */
export function metricValue(text: string, series: string): number {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return Number.NaN;
}

/** GET /metrics as text. */
export async function scrape(url: string): Promise<string> {
  const r = await fetch(`${url}/metrics`);
  return r.text();
}

/** Polls `cond` every 10 ms until true or `timeoutMs` passes; returns the last result. */
export async function eventually(cond: () => Promise<boolean> | boolean, timeoutMs = 5000): Promise<boolean> {
  const t0 = Date.now();
  for (;;) {
    if (await cond()) return true;
    if (Date.now() - t0 > timeoutMs) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
}
