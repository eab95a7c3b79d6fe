// The onnxruntime side of `llmbench eval`: one session per model folder, teacher-forced logits for a whole
// token window (one run, empty KV cache), and a small greedy loop with the KV cache for continuations.
import * as ort from 'onnxruntime-node';
import { ModelError } from '../errors.js';
import type { ModelInfo } from '../types.js';
import { checkGraphIO, readModelFolder, type GraphIO } from './loader.js';
import { fromFloat16Bits } from './quantMath.js';

/** An open model: its folder facts, graph facts and the ORT session. */
export interface EvalModel {
  info: Omit<ModelInfo, 'hasPositionIds' | 'kvDtype'>;
  io: GraphIO;
  session: ort.InferenceSession;
}

/** Opens a model folder for evaluation (CPU, full graph optimizations). */
export async function openEvalModel(dir: string, sessionOptions: ort.InferenceSession.SessionOptions = {}): Promise<EvalModel> {
  const info = readModelFolder(dir);
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(info.onnxPath, { graphOptimizationLevel: 'all', ...sessionOptions });
  } catch (e) {
    throw new ModelError(`${info.onnxPath}: onnxruntime could not load the model (${(e as Error).message.split('\n')[0]})`);
  }
  const types = new Map<string, string>();
  for (const m of session.inputMetadata) if (m.isTensor) types.set(m.name, m.type);
  const io = checkGraphIO(info, session.inputNames, session.outputNames, types);
  return { info, io, session };
}

function i64(values: ArrayLike<number>, dims: number[]): ort.Tensor {
  return new ort.Tensor('int64', BigInt64Array.from(Array.from(values, (v) => BigInt(v))), dims);
}

function emptyKv(m: EvalModel, batch: number): ort.Tensor {
  const dims = [batch, m.info.numKvHeads, 0, m.info.headDim];
  return m.io.kvDtype === 'float16' ? new ort.Tensor('float16', new Uint16Array(0), dims) : new ort.Tensor('float32', new Float32Array(0), dims);
}

/** Logits as float32, whatever the graph's output type. */
function logitsF32(t: ort.Tensor): Float32Array {
  if (t.type === 'float32') return t.data as Float32Array;
  if (t.type === 'float16') {
    const h = t.data as Uint16Array;
    const out = new Float32Array(h.length);
    for (let i = 0; i < h.length; i++) out[i] = fromFloat16Bits(h[i] as number);
    return out;
  }
  throw new ModelError(`logits have type ${t.type}; expected float32 or float16`);
}

function feedsFor(m: EvalModel, ids: number[], pastLen: number, past: Record<string, ort.Tensor> | null, keepLast: boolean): Record<string, ort.Tensor> {
  const S = ids.length;
  const feeds: Record<string, ort.Tensor> = {
    input_ids: i64(ids, [1, S]),
    attention_mask: i64(new Array<number>(pastLen + S).fill(1), [1, pastLen + S]),
  };
  if (m.io.hasPositionIds) feeds.position_ids = i64(Array.from({ length: S }, (_, i) => pastLen + i), [1, S]);
  if (m.io.hasNumLogitsToKeep) feeds.num_logits_to_keep = new ort.Tensor('int64', new BigInt64Array([keepLast ? 1n : 0n]), []);
  for (let l = 0; l < m.info.numLayers; l++) {
    for (const kv of ['key', 'value']) {
      feeds[`past_key_values.${l}.${kv}`] = past?.[`present.${l}.${kv}`] ?? emptyKv(m, 1);
    }
  }
  return feeds;
}

/** Next-token logits at every position of `ids` ([ids.length * vocab]), from one run with an empty cache. */
export async function teacherForcedLogits(m: EvalModel, ids: number[]): Promise<Float32Array> {
  if (ids.length > m.info.maxPositions) throw new ModelError(`window of ${ids.length} tokens exceeds the model context (${m.info.maxPositions})`);
  const out = await m.session.run(feedsFor(m, ids, 0, null, false), ['logits']);
  const logits = out.logits;
  if (!logits) throw new ModelError(`${m.info.onnxPath}: run returned no logits`);
  const data = logitsF32(logits);
  const V = m.info.vocabSize;
  if (data.length !== ids.length * V) {
    throw new ModelError(`${m.info.onnxPath}: logits have ${data.length} values, expected ${ids.length} x vocab ${V}`);
  }
  return data;
}

/** Index of the largest value in row `row` of a [rows, V] array (first one on ties). */
export function argmaxRow(logits: Float32Array, row: number, V: number): number {
  let best = 0;
  let bestV = Number.NEGATIVE_INFINITY;
  const base = row * V;
  for (let v = 0; v < V; v++) {
    const x = logits[base + v] as number;
    if (x > bestV) {
      bestV = x;
      best = v;
    }
  }
  return best;
}

/** Greedy continuation of `promptIds` for exactly `maxTokens` tokens (EOS does not stop it, so runs compare). */
export async function greedyContinuation(m: EvalModel, promptIds: number[], maxTokens: number): Promise<number[]> {
  const V = m.info.vocabSize;
  const out: number[] = [];
  let past: Record<string, ort.Tensor> | null = null;
  let pastLen = 0;
  let ids = promptIds;
  const limit = Math.min(maxTokens, m.info.maxPositions - promptIds.length);
  for (let step = 0; step < limit; step++) {
    const res: Record<string, ort.Tensor> = await m.session.run(feedsFor(m, ids, pastLen, past, true));
    const logits = res.logits;
    if (!logits) throw new ModelError(`${m.info.onnxPath}: run returned no logits`);
    const data = logitsF32(logits);
    const rows = data.length / V;
    const next = argmaxRow(data, rows - 1, V);
    out.push(next);
    pastLen += ids.length;
    past = res;
    ids = [next];
  }
  return out;
}

/** Releases the session. */
export async function closeEvalModel(m: EvalModel): Promise<void> {
  await m.session.release();
}
