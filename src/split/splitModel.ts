// `splitModel`: writes a model folder's decoder as consecutive per-stage ONNX files plus stages.json,
// cached by the content hash of the source model and the layer ranges.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync } from 'node:fs';
import { copyFile, mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { ModelError } from '../errors.js';
import { checkVariantName, readModelFolder } from '../onnx/loader.js';
import { encodeModel, type ModelProto, onnx, type TensorProto } from '../onnx/builder.js';
import { decodeModelMerged } from './splitDecode.js';
import { readModelLazy } from '../onnx/lazyModel.js';
import { writeModelStreamed } from '../onnx/streamWrite.js';
import { WeightStore } from '../onnx/weightStore.js';
import { hashModelFiles } from '../quantize/quantize.js';
import { cacheRoot } from '../modelgen/resolve.js';
import { countGraphLayers, type SplitGraphResult, splitGraph, type StageGraph, tensorBytes, UnknownElemTypeError } from './splitGraph.js';
import { probeElemTypes } from './splitTypeProbe.js';
import { readStagesManifest, STAGES_MANIFEST, type StagesManifest } from './splitManifest.js';
import { resolveSplitPlan, type SplitPlan } from './splitPlan.js';

/** Version of the splitter; part of the cache key so a changed splitter never reuses old stage files. */
export const SPLITTER_VERSION = 2;
/** Above this many weight bytes a stage keeps its weights in a side file (protobuf messages stop at 2 GiB). */
const INLINE_LIMIT_BYTES = 1.5 * 2 ** 30;
const EXTERNAL = onnx.TensorProto.DataLocation.EXTERNAL;

export interface SplitModelOptions {
  /** Destination folder; default: `$LLMBENCH_CACHE/splits/<model>-<ranges>-<hash>`. */
  outDir?: string;
  onProgress?: (msg: string) => void;
  /**
   * Rewrites the ONNX bytes before splitting (the engine adds outputs it fetches); `key` names the
   * rewrite in the cache key, so the same key must always mean the same rewrite. The bytes it gets are the
   * model without its large weights (those stay on disk, matched back by name); it must keep initializers.
   */
  transform?: { key: string; apply: (bytes: Uint8Array) => Uint8Array };
  /** Which onnx/model_<variant>.onnx to split (null: onnx/model.onnx or the folder's only variant). */
  variant?: string | null;
  /** Stage weight bytes above which a stage's weights go to a side file (default 1.5 GiB; tests lower it). */
  inlineLimitBytes?: number;
}

export interface SplitModelResult {
  dir: string;
  manifest: StagesManifest;
  /** True when an earlier split with the same content hash was reused. */
  cached: boolean;
  elapsedMs: number;
}

/** Splits the decoder in `modelDir` by layers per `plan`; reuses a cached split of the same content. */
export async function splitModel(modelDir: string, plan: SplitPlan, opts: SplitModelOptions = {}): Promise<SplitModelResult> {
  const t0 = performance.now();
  const info = readModelFolder(modelDir, checkVariantName(opts.variant ?? null));
  const ranges = resolveSplitPlan(plan, info.numLayers);
  const contentSha256 = createHash('sha256')
    .update(JSON.stringify({ splitter: SPLITTER_VERSION, ranges, transform: opts.transform?.key ?? null, source: await hashModelFiles(info.onnxPath) }))
    .digest('hex');
  const rangesTag = ranges.map((r) => `${r.firstLayer}-${r.lastLayer}`).join('_');
  const outDir = resolve(opts.outDir ?? join(cacheRoot(), 'splits', `${basename(info.dir)}-L${rangesTag}-${contentSha256.slice(0, 16)}`));

  if (existsSync(join(outDir, STAGES_MANIFEST))) {
    try {
      const manifest = readStagesManifest(outDir);
      if (manifest.source.contentSha256 === contentSha256 && manifest.stages.every((s) => existsSync(join(outDir, s.file)))) {
        return { dir: outDir, manifest, cached: true, elapsedMs: performance.now() - t0 };
      }
    } catch {
      // A broken cached split is rebuilt below.
    }
  }

  opts.onProgress?.(`splitting ${info.onnxPath} into ${ranges.length} stages (layers ${rangesTag.replaceAll('_', ', ')})`);
  // The graph is read without its weights; they are copied from the source into the stage files one by one.
  const weights = new WeightStore();
  let model = readModelLazy(info.onnxPath, weights);
  if (opts.transform) {
    model = decodeModelMerged(opts.transform.apply(encodeModel(model)), info.onnxPath);
    weights.graph = model.graph ?? null;
  }
  if (!model.graph) throw new ModelError(`${info.onnxPath}: model has no graph`);
  const graphLayers = countGraphLayers(model.graph, info.onnxPath);
  if (graphLayers !== info.numLayers) {
    throw new ModelError(`${info.onnxPath}: graph has ${graphLayers} layers but config.json says ${info.numLayers}`, 'Fix config.json (num_hidden_layers / n_layer).');
  }
  let split: SplitGraphResult;
  try {
    split = splitGraph(model, ranges, info.onnxPath);
  } catch (e) {
    if (!(e instanceof UnknownElemTypeError)) throw e;
    // onnxruntime needs the weights to build the probe session: this rare path holds them in memory.
    split = splitGraph(model, ranges, info.onnxPath, await probeElemTypes(withWeights(model, weights), e.names, info.onnxPath));
  }

  const tmp = `${outDir}.tmp-${process.pid}-${Date.now()}`;
  await mkdir(tmp, { recursive: true });
  try {
    const fileBytes: number[] = [];
    try {
      for (const st of split.stages) fileBytes.push(await writeStage(tmp, st, opts.inlineLimitBytes ?? INLINE_LIMIT_BYTES, weights));
    } finally {
      weights.close();
    }
    for (const f of await readdir(info.dir)) {
      if (/\.(json|txt)$/.test(f) && f !== STAGES_MANIFEST) await copyFile(join(info.dir, f), join(tmp, f));
    }
    const graph = model.graph;
    const manifest: StagesManifest = {
      format: 'llmbench-stages',
      version: 1,
      source: { dir: info.dir, onnxFile: relative(info.dir, info.onnxPath), contentSha256 },
      numLayers: split.numLayers,
      inputs: (graph.input ?? []).map((v) => v.name ?? ''),
      outputs: (graph.output ?? []).map((v) => v.name ?? ''),
      stages: split.stages.map((st, i) => ({
        index: st.index,
        file: stageFile(st.index),
        firstLayer: st.firstLayer,
        lastLayer: st.lastLayer,
        inputs: st.inputs,
        outputs: st.outputs,
        receives: st.receives,
        sends: st.sends,
        nodes: st.nodeCount,
        initializerBytes: st.initializerBytes,
        fileBytes: fileBytes[i] ?? 0,
      })),
      tensors: split.crossings,
      sharedInitializers: split.sharedInitializers,
    };
    await writeFile(join(tmp, STAGES_MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
    await mkdir(dirname(outDir), { recursive: true });
    await rm(outDir, { recursive: true, force: true });
    await rename(tmp, outDir);
    return { dir: outDir, manifest, cached: false, elapsedMs: performance.now() - t0 };
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

/** File name of stage `i`. */
export function stageFile(i: number): string {
  return `stage_${i}.onnx`;
}

/** The model with every weight read into memory. */
function withWeights(model: ModelProto, weights: WeightStore): ModelProto {
  const graph = model.graph ?? {};
  return { ...model, graph: { ...graph, initializer: (graph.initializer ?? []).map((t) => (weights.span(t) ? { ...t, rawData: weights.bytes(t) } : t)) } };
}

/** Writes one stage (weights inline, or in `stage_i.onnx.data` when large), copying weights from `weights`; returns the bytes written. */
async function writeStage(dir: string, st: StageGraph, inlineLimitBytes: number, weights: WeightStore): Promise<number> {
  const file = join(dir, stageFile(st.index));
  if (st.initializerBytes <= inlineLimitBytes) return writeModelStreamed(st.model, weights, file);
  const dataName = `${stageFile(st.index)}.data`;
  const fd = openSync(join(dir, dataName), 'w');
  let offset = 0;
  const moved: TensorProto[] = [];
  try {
    for (const t of st.model.graph?.initializer ?? []) {
      const length = weights.length(t);
      if (length < 1024) {
        moved.push(t);
        continue;
      }
      offset = Math.ceil(offset / 4096) * 4096;
      weights.copyTo(t, fd, offset);
      moved.push({
        ...t,
        rawData: undefined,
        dataLocation: EXTERNAL,
        externalData: [
          { key: 'location', value: dataName },
          { key: 'offset', value: String(offset) },
          { key: 'length', value: String(length) },
        ],
      });
      offset += length;
    }
  } finally {
    closeSync(fd);
  }
  const bytes = encodeModel({ ...st.model, graph: { ...st.model.graph, initializer: moved } });
  await writeFile(file, bytes);
  return bytes.byteLength + (await stat(join(dir, dataName))).size;
}
