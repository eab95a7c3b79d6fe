// A copy of a model whose large initializers live in one external data file at page-aligned offsets. On CPU,
// onnxruntime maps such initializers from the file (mmap) instead of reading them into its own buffers, so a
// server never holds the model twice while loading (file bytes in JS + ORT's copy), and pages of weights that a
// kernel prepacks are file-backed and dropped once the packed copy replaces them.
// Measured on the gpt2 preset (fp32, 2 threads, one engine in a script): peak RSS while loading 1695 -> 716 MiB,
// int8 778 -> 255 MiB, int4 476 -> 290 MiB.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ModelError } from '../errors.js';
import { encodeModel } from './builder.js';
import { readModelLazy } from './lazyModel.js';
import { WeightStore } from './weightStore.js';
import { externalizeData } from './tensorData.js';
import { isMainModule } from '../sys/mainModule.js';
import { cacheRoot } from '../modelgen/resolve.js';

/** File name of the external data next to the mapped graph. */
export const MMAP_DATA_FILE = 'weights.bin';
/** Offsets are multiples of this (the Linux page size and ORT's allocation granularity off Windows). */
const ALIGN_BYTES = 4096;
/** Initializers smaller than this stay inline (mapping them would waste most of a page). */
const MIN_EXTERNAL_BYTES = 16 * 1024;
/** Records which model a copy was made from, so copies of deleted models can be pruned. */
const SOURCE_FILE = 'source.txt';
/** Bumped when the layout written here changes, so stale copies are never reused. */
const LAYOUT_VERSION = 1;

/** Cache folder of the mapped copy of `onnxPath` (keyed by path, size and mtime of the source). */
export function mmapLayoutDir(onnxPath: string): string {
  const st = statSync(onnxPath);
  const key = createHash('sha256').update(`${onnxPath}\0${st.size}\0${st.mtimeMs}\0v${LAYOUT_VERSION}`).digest('hex').slice(0, 20);
  return join(cacheRoot(), 'mmap', key);
}

/**
 * Writes `outDir/model.onnx` (graph, small initializers inline) and `outDir/weights.bin` (every other
 * initializer at a page-aligned offset). Returns the external bytes written. Weights are copied one at a time, so
 * its peak memory is the graph and the tensors kept inline (under 16 KiB each), not the model.
 */
export function writeMmapLayout(onnxPath: string, outDir: string): number {
  // The graph is read without its weights; each one is copied from the source into weights.bin.
  const weights = new WeightStore();
  try {
    const model = readModelLazy(onnxPath, weights);
    const inits = model.graph?.initializer ?? [];
    if (weights.files().some((p) => p !== onnxPath)) throw new ModelError(`${onnxPath}: already uses external data; load it as it is`);
    mkdirSync(outDir, { recursive: true });
    const tmpData = join(outDir, `${MMAP_DATA_FILE}.tmp-${process.pid}`);
    // Page-aligned tensors: onnxruntime maps each one straight from the file.
    const bytes = externalizeData(inits, tmpData, MMAP_DATA_FILE, MIN_EXTERNAL_BYTES, ALIGN_BYTES, weights);
    weights.inline(inits);
    const tmpGraph = join(outDir, `model.onnx.tmp-${process.pid}`);
    writeFileSync(tmpGraph, encodeModel(model));
    // Data first, graph last: a folder with a graph is complete.
    writeFileSync(join(outDir, SOURCE_FILE), onnxPath);
    renameSync(tmpData, join(outDir, MMAP_DATA_FILE));
    renameSync(tmpGraph, join(outDir, 'model.onnx'));
    return bytes;
  } finally {
    weights.close();
  }
}

/**
 * The mapped copy of a single-file model (written on first use, in a child process so the caller's peak RSS
 * never includes the decode of the whole file). Returns the folder holding `model.onnx` and `weights.bin`.
 */
export function ensureMmapLayout(onnxPath: string, onProgress?: (msg: string) => void): string {
  const dir = mmapLayoutDir(onnxPath);
  if (existsSync(join(dir, 'model.onnx'))) return dir;
  onProgress?.(`writing a page-aligned weights file for ${onnxPath} into ${dir}`);
  const script = fileURLToPath(import.meta.url);
  if (!script.endsWith('.js')) {
    // Sources run directly (vitest): node cannot start a .ts child, so write in this process.
    writeMmapLayout(onnxPath, dir);
    pruneOrphans(dirname(dir));
    return dir;
  }
  const child = spawnSync(process.execPath, [script, onnxPath, dir], { encoding: 'utf8' });
  if (child.status !== 0 || !existsSync(join(dir, 'model.onnx'))) {
    rmSync(dir, { recursive: true, force: true });
    const why = (child.stderr || child.error?.message || `exit ${child.status}`).trim().split('\n').slice(-1)[0];
    throw new ModelError(`${onnxPath}: could not write the memory-mapped layout into ${dir}: ${why}`, 'Check free disk space in the llmbench cache ($LLMBENCH_CACHE).');
  }
  pruneOrphans(dirname(dir));
  return dir;
}

/** Removes copies whose source model is gone (temporary model folders, deleted downloads). */
function pruneOrphans(root: string): void {
  for (const name of readdirSync(root)) {
    const dir = join(root, name);
    try {
      const source = readFileSync(join(dir, SOURCE_FILE), 'utf8');
      if (!existsSync(source)) rmSync(dir, { recursive: true, force: true });
    } catch {
      // Being written by another process, or not ours: leave it.
    }
  }
}

if (isMainModule(import.meta.url)) {
  const [src, out] = process.argv.slice(2);
  if (!src || !out) {
    process.stderr.write('usage: mmapLayout.js <model.onnx> <outDir>\n');
    process.exit(2);
  }
  writeMmapLayout(src, out);
}
