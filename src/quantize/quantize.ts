// `llmbench quantize`: reads a model folder (or preset), rewrites its graph (quantizeGraph.ts) and writes a
// complete model folder next to it or into the cache; `resolveQuantizedModelDir` is the cached form the
// server and the run orchestrator use.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { copyFile, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { ModelError, UsageError } from '../errors.js';
import { QUANT_METHODS, type QuantMethod } from '../types.js';
import { checkVariantName, onnxFileBytes, readModelFolder } from '../onnx/loader.js';
import { encodeModel, type ModelProto, type TensorProto } from '../onnx/builder.js';
import { allInitializers, externalizeData } from '../onnx/tensorData.js';
import { readModelLazy } from '../onnx/lazyModel.js';
import { writeModelStreamed } from '../onnx/streamWrite.js';
import { WeightStore } from '../onnx/weightStore.js';
import { resolveWeightRange, WEIGHT_RANGES, type ResolvedWeightRange, type WeightRange } from './int8Dot.js';
import { quantizeGraph, type GraphQuantizeResult, type QuantizeOptions } from './quantizeGraph.js';
import { cacheRoot, resolveModelDir } from '../modelgen/resolve.js';

/** Version of the quantizer; part of the cache key so a changed rewrite never reuses old files. */
export const QUANTIZER_VERSION = 2;
/** Default block size along K for int4 / int8-weight. */
export const DEFAULT_BLOCK_SIZE = 32;
/** File written next to config.json describing how the folder was made. */
export const QUANT_INFO_FILE = 'llmbench_quantization.json';
/** Above this many initializer bytes the output uses an external data file (protobuf caps a message at 2 GB). */
const EXTERNAL_DATA_THRESHOLD_BYTES = 1.8e9;

/** Options of quantizeModelDir (all optional). */
export interface QuantizeDirOptions {
  blockSize?: number;
  symmetric?: boolean;
  accuracyLevel?: number;
  /** int4 / int8-weight: quantize embedding tables too (default true). */
  embeddings?: boolean;
  /** Weight or node names (substrings) to keep in float. */
  exclude?: string[];
  /** Output folder; default `<src>-<method>` next to a folder source, the cache for a preset. */
  outDir?: string;
  onProgress?: (msg: string) => void;
  /** Never replace a complete existing output (cache entries another process may be reading). */
  keepExisting?: boolean;
  /** For tests: initializer bytes above which external data is written. */
  externalDataThresholdBytes?: number;
  /** int8: weight codes in 7 or 8 bits; `auto` (default) probes whether this CPU's int8 dot product saturates. */
  weightRange?: WeightRange;
  /** Which onnx/model_<variant>.onnx of the source to quantize (null: onnx/model.onnx or the folder's only variant). */
  variant?: string | null;
}

/** What quantizeModelDir did, as printed and as stored in llmbench_quantization.json. */
export interface QuantizeSummary extends GraphQuantizeResult {
  method: QuantMethod;
  blockSize: number | null;
  symmetric: boolean | null;
  accuracyLevel: number | null;
  /** Embedding tables quantized (weight-only methods); null for other methods. */
  embeddings: boolean | null;
  exclude: string[];
  srcDir: string;
  /** The ONNX file quantized, relative to srcDir (onnx/model_fp16.onnx for --variant fp16). */
  srcOnnxFile: string;
  /** The --variant asked for; null when none was. */
  variant: string | null;
  outDir: string;
  sourceHash: string;
  fileBytesBefore: number;
  fileBytesAfter: number;
  externalData: boolean;
  elapsedMs: number;
  quantizerVersion: number;
  /** int8: the weight range used and why (probe result); null for other methods. */
  weightRange: ResolvedWeightRange | null;
}

/** Checks a method name and options; throws UsageError listing valid choices. */
export function checkQuantizeOptions(method: string, opts: QuantizeDirOptions = {}): { method: QuantMethod; graph: QuantizeOptions } {
  if (!(QUANT_METHODS as readonly string[]).includes(method)) {
    throw new UsageError(`--method: unknown quantization method "${method}"`, `Choose one of: ${QUANT_METHODS.join(', ')}.`);
  }
  const blockSize = opts.blockSize ?? DEFAULT_BLOCK_SIZE;
  if (!Number.isInteger(blockSize) || blockSize < 16 || blockSize > 4096 || (blockSize & (blockSize - 1)) !== 0) {
    throw new UsageError(`--block-size: must be a power of two from 16 to 4096, got ${blockSize}`);
  }
  const accuracyLevel = opts.accuracyLevel ?? 4;
  if (![0, 1, 2, 3, 4].includes(accuracyLevel)) throw new UsageError(`--accuracy-level: must be 0..4, got ${accuracyLevel}`);
  if (opts.weightRange !== undefined && !(WEIGHT_RANGES as readonly string[]).includes(opts.weightRange)) {
    throw new UsageError(`--weight-range: unknown weight range "${String(opts.weightRange)}"`, `Choose one of: ${WEIGHT_RANGES.join(', ')}.`);
  }
  return { method: method as QuantMethod, graph: { method: method as QuantMethod, blockSize, symmetric: opts.symmetric ?? false, accuracyLevel, embeddings: opts.embeddings ?? true, exclude: opts.exclude ?? [] } };
}

/** Options with the int8 weight range resolved (`auto` probes the CPU once per process). */
async function resolvedOptions(methodIn: string, opts: QuantizeDirOptions): Promise<{ method: QuantMethod; graph: QuantizeOptions; weightRange: ResolvedWeightRange | null }> {
  const { method, graph } = checkQuantizeOptions(methodIn, opts);
  if (method !== 'int8') return { method, graph, weightRange: null };
  const weightRange = await resolveWeightRange(opts.weightRange ?? 'auto');
  return { method, graph: { ...graph, int8WeightRange: weightRange.used }, weightRange };
}

/** Quantizes the model in `src` (folder or preset) and writes a complete model folder; returns the summary. */
export async function quantizeModelDir(src: string, methodIn: string, opts: QuantizeDirOptions = {}): Promise<QuantizeSummary> {
  const t0 = performance.now();
  const { method, graph: gopts, weightRange } = await resolvedOptions(methodIn, opts);
  const isFolder = existsSync(src);
  const srcDir = await resolveModelDir(src, opts.onProgress);
  const variant = checkVariantName(opts.variant ?? null);
  const info = readModelFolder(srcDir, variant);
  const sourceHash = await hashModelFiles(info.onnxPath);
  const outDir = resolve(opts.outDir ?? (isFolder ? `${srcDir}-${method}` : quantCacheDir(sourceHash, gopts)));
  if (outDir === srcDir) throw new UsageError(`--out: output folder is the source folder (${srcDir})`);

  const tmp = `${outDir}.tmp-${process.pid}-${Date.now()}`;
  await mkdir(join(tmp, 'onnx'), { recursive: true });
  // Weights stay on disk: read one at a time when rewritten, new ones spilled as made, copied into the output.
  const spill = join(tmp, 'quantized.spill');
  let weights: WeightStore | null = null;
  try {
    weights = new WeightStore(spill);
    const model = readModelLazy(info.onnxPath, weights);
    const result = quantizeGraph(model, gopts, weights);
    const external = result.weightBytesAfter > (opts.externalDataThresholdBytes ?? EXTERNAL_DATA_THRESHOLD_BYTES);
    if (external) {
      const inits = allInitializers(model);
      externalizeData(inits, join(tmp, 'onnx', 'model.onnx_data'), 'model.onnx_data', undefined, undefined, weights);
      weights.inline(inits);
      await writeFile(join(tmp, 'onnx', 'model.onnx'), encodeModel(model));
    } else {
      writeModelStreamed(model, weights, join(tmp, 'onnx', 'model.onnx'));
    }
    weights.close();
    await rm(spill, { force: true });
    const summary: QuantizeSummary = {
      method,
      blockSize: method === 'int4' || method === 'int8-weight' ? gopts.blockSize : null,
      symmetric: method === 'int4' || method === 'int8-weight' ? gopts.symmetric : null,
      accuracyLevel: method === 'int4' || method === 'int8-weight' ? gopts.accuracyLevel : null,
      embeddings: method === 'int4' || method === 'int8-weight' ? gopts.embeddings : null,
      exclude: [...(gopts.exclude ?? [])],
      srcDir,
      srcOnnxFile: relative(srcDir, info.onnxPath),
      variant,
      outDir,
      sourceHash,
      fileBytesBefore: info.fileBytes,
      fileBytesAfter: onnxFileBytes(join(tmp, 'onnx', 'model.onnx')),
      externalData: external,
      elapsedMs: 0,
      quantizerVersion: QUANTIZER_VERSION,
      weightRange,
      ...result,
    };
    await copyFolderFiles(srcDir, tmp, summary);
    summary.elapsedMs = performance.now() - t0;
    await writeFile(join(tmp, QUANT_INFO_FILE), `${JSON.stringify(summary, null, 2)}\n`);
    await mkdir(dirname(outDir), { recursive: true });
    if (!opts.keepExisting) await rm(outDir, { recursive: true, force: true });
    try {
      await rename(tmp, outDir);
    } catch (e) {
      // rename onto a non-empty folder fails atomically: someone else's complete output is already there.
      const code = (e as NodeJS.ErrnoException).code;
      if (!opts.keepExisting || (code !== 'ENOTEMPTY' && code !== 'EEXIST')) throw e;
      await rm(tmp, { recursive: true, force: true });
    }
    return summary;
  } catch (e) {
    weights?.close();
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

/** Copies config, tokenizer and other small files (never ONNX files); records the quantization in config.json, re-points genai_config.json. */
async function copyFolderFiles(srcDir: string, outDir: string, s: QuantizeSummary): Promise<void> {
  for (const name of readdirSync(srcDir)) {
    const p = join(srcDir, name);
    if (!statSync(p).isFile() || /\.onnx(_data|\.data)?$/.test(name) || name === QUANT_INFO_FILE) continue;
    if (name === 'config.json') {
      const cfg = JSON.parse(await readFile(p, 'utf8')) as Record<string, unknown>;
      cfg.llmbench_quantization = { method: s.method, source_onnx_file: s.srcOnnxFile, block_size: s.blockSize, symmetric: s.symmetric, accuracy_level: s.accuracyLevel, embeddings: s.embeddings, exclude: s.exclude, weight_range: s.weightRange?.used ?? null, source_sha256: s.sourceHash };
      await writeFile(join(outDir, name), `${JSON.stringify(cfg, null, 2)}\n`);
    } else if (name === 'genai_config.json') {
      // A model-builder folder: point its decoder at the quantized file (written to onnx/model.onnx).
      const cfg = JSON.parse(await readFile(p, 'utf8')) as { model?: { decoder?: Record<string, unknown> } };
      if (cfg.model?.decoder) cfg.model.decoder.filename = 'onnx/model.onnx';
      await writeFile(join(outDir, name), `${JSON.stringify(cfg, null, 2)}\n`);
    } else {
      await copyFile(p, join(outDir, name));
    }
  }
}

/** sha256 of an ONNX file and its external data file, if any. */
export async function hashModelFiles(onnxPath: string): Promise<string> {
  const h = createHash('sha256');
  for (const p of [onnxPath, `${onnxPath}_data`, `${onnxPath}.data`]) {
    if (!existsSync(p)) continue;
    h.update(basename(p));
    for await (const chunk of createReadStream(p, { highWaterMark: 1 << 22 })) h.update(chunk as Buffer);
  }
  return h.digest('hex');
}

/** Cache folder of a quantized model: source hash + method + options + quantizer version. */
export function quantCacheDir(sourceHash: string, o: QuantizeOptions): string {
  const blockwise = o.method === 'int4' || o.method === 'int8-weight';
  const range = o.method === 'int8' ? `-w${o.int8WeightRange === '7bit' ? 7 : 8}` : '';
  const opts = blockwise ? `-b${o.blockSize}${o.symmetric ? '-sym' : ''}-acc${o.accuracyLevel}${o.embeddings ? '' : '-fe'}` : range;
  const excl = o.exclude?.length ? `-x${createHash('sha256').update(JSON.stringify([...o.exclude].sort())).digest('hex').slice(0, 8)}` : '';
  return join(cacheRoot(), 'quantized', `${sourceHash.slice(0, 16)}-${o.method}${opts}${excl}-q${QUANTIZER_VERSION}`);
}

/**
 * A quantized copy of `spec` (folder or preset) for `method`, built on first use into the cache and reused
 * after (keyed by the source file hash, so an edited source is re-quantized).
 */
export async function resolveQuantizedModelDir(spec: string, method: string, opts: Omit<QuantizeDirOptions, 'outDir'> = {}): Promise<string> {
  const { graph, weightRange } = await resolvedOptions(method, opts);
  // Pin the resolved range so the build below writes exactly the folder this key names.
  if (weightRange) opts = { ...opts, weightRange: weightRange.used };
  const srcDir = await resolveModelDir(spec, opts.onProgress);
  const info = readModelFolder(srcDir, checkVariantName(opts.variant ?? null));
  const dir = quantCacheDir(await hashModelFiles(info.onnxPath), graph);
  const ready = (): boolean => existsSync(join(dir, 'onnx', 'model.onnx')) && existsSync(join(dir, QUANT_INFO_FILE));
  if (ready()) return dir;
  // Replicas started together would each quantize the same model: one does it, the others wait for it.
  await mkdir(dirname(dir), { recursive: true });
  const lock = `${dir}.lock`;
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      await writeFile(lock, String(process.pid), { flag: 'wx' });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      if (ready()) return dir;
      const age = Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > LOCK_STALE_MS) await rm(lock, { force: true });
      else if (Date.now() > deadline) throw new ModelError(`timed out waiting for another process to quantize ${srcDir} (lock ${lock})`, 'Remove the lock file if no llmbench process is running.');
      else await new Promise((r) => setTimeout(r, 250));
    }
  }
  try {
    if (ready()) return dir;
    opts.onProgress?.(`quantizing ${srcDir} (${method}) into ${dir}`);
    await quantizeModelDir(srcDir, method, { ...opts, outDir: dir, keepExisting: true });
    return dir;
  } finally {
    await rm(lock, { force: true });
  }
}

/** How long a process waits for another one's quantization of the same entry, and when a lock counts as stale. */
const LOCK_WAIT_MS = 15 * 60_000;
const LOCK_STALE_MS = 30 * 60_000;

/** Reads llmbench_quantization.json of a folder, or null for an unquantized one. */
export function readQuantizeInfo(dir: string): QuantizeSummary | null {
  const p = join(dir, QUANT_INFO_FILE);
  if (!existsSync(p)) return null;
  try {
    return JSON.parse(readFileSync(p, 'utf8')) as QuantizeSummary;
  } catch (e) {
    throw new ModelError(`${p}: not valid JSON (${(e as Error).message})`);
  }
}
