// Shared setup for the layer-split tests: generated preset models in a temp folder (with the cache there
// too), feeds for a prefill and a decode step, and tensor comparison.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { createModel } from '../../src/modelgen/create.js';
import type { PresetName } from '../../src/types.js';

/** A temp root with LLMBENCH_CACHE pointed inside it; `cleanup` removes it. */
export function tempRoot(tag: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `llmbench-split-${tag}-`));
  process.env.LLMBENCH_CACHE = join(dir, 'cache');
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Generates a preset model folder under `root`. */
export async function makeModel(root: string, preset: PresetName): Promise<string> {
  const r = await createModel({ preset, seed: 7, outDir: join(root, preset) });
  return r.dir;
}

const i64 = (values: number[], dims: number[]): ort.Tensor => new ort.Tensor('int64', BigInt64Array.from(values.map((v) => BigInt(v))), dims);

/** Model shape the feeds need. */
export interface FeedShape {
  numLayers: number;
  heads: number;
  headDim: number;
}

/** Feeds for `ids` (one row) after `past` (per layer key/value arrays of pastLen slots), all logits kept. */
export function stepFeeds(shape: FeedShape, ids: number[], pastLen: number, past: ((layer: number, kind: 'key' | 'value') => Float32Array) | null): Record<string, ort.Tensor> {
  const s = ids.length;
  const feeds: Record<string, ort.Tensor> = {
    input_ids: i64(ids, [1, s]),
    attention_mask: i64(new Array<number>(pastLen + s).fill(1), [1, pastLen + s]),
    position_ids: i64(
      ids.map((_, j) => pastLen + j),
      [1, s],
    ),
    num_logits_to_keep: i64([0], []),
  };
  for (let l = 0; l < shape.numLayers; l++) {
    for (const kind of ['key', 'value'] as const) {
      feeds[`past_key_values.${l}.${kind}`] = new ort.Tensor('float32', past ? past(l, kind) : new Float32Array(0), [1, shape.heads, pastLen, shape.headDim]);
    }
  }
  return feeds;
}

/** Largest |a - b| over two float tensors of the same size (Infinity when sizes differ). */
export function maxAbsDiff(a: ort.Tensor | undefined, b: ort.Tensor | undefined): number {
  if (!a || !b) return Number.POSITIVE_INFINITY;
  const x = a.data as Float32Array;
  const y = b.data as Float32Array;
  if (x.length !== y.length || a.dims.join() !== b.dims.join()) return Number.POSITIVE_INFINITY;
  let d = 0;
  for (let i = 0; i < x.length; i++) d = Math.max(d, Math.abs((x[i] ?? 0) - (y[i] ?? 0)));
  return d;
}

/** Threads of this process right now (Linux), or null where /proc is missing. */
export async function osThreadCount(): Promise<number | null> {
  const { readFileSync, existsSync } = await import('node:fs');
  if (!existsSync('/proc/self/status')) return null;
  const m = /^Threads:\s+(\d+)/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) : null;
}

/** Runs a split folder's stages one after another in this thread (no workers): the reference chain. */
export async function runChained(splitDir: string, stageFiles: string[], feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
  const env: Record<string, ort.Tensor> = { ...feeds };
  for (const file of stageFiles) {
    const s = await ort.InferenceSession.create(join(splitDir, file));
    try {
      const f: Record<string, ort.Tensor> = {};
      for (const n of s.inputNames) {
        const t = env[n];
        if (!t) throw new Error(`${file}: no value for input ${n}`);
        f[n] = t;
      }
      Object.assign(env, await s.run(f));
    } finally {
      await s.release();
    }
  }
  return env;
}

/** Runs an unsplit ONNX file once. */
export async function runWhole(onnxPath: string, feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
  const s = await ort.InferenceSession.create(onnxPath);
  try {
    return (await s.run(feeds)) as Record<string, ort.Tensor>;
  } finally {
    await s.release();
  }
}
