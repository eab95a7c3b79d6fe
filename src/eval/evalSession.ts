// The inference side of `llmbench eval`, on the engine's own session and generation code so quality is
// measured on exactly the path the server serves: teacher-forced logits for a token window (one run, empty
// KV cache) and fixed-length greedy continuations.
import { createDecoder } from '../engine/decoder.js';
import { forwardLogits, generate } from '../engine/generate.js';
import { openDecoderSession, type DecoderSession, type SessionOptions } from '../engine/session.js';

/** An open model for evaluation. */
export type EvalModel = DecoderSession;

/** Opens a model folder (not a preset name) for evaluation. */
export async function openEvalModel(dir: string, opts: SessionOptions = {}): Promise<EvalModel> {
  return openDecoderSession(dir, opts);
}

/**
 * Next-token logits at every position of `ids` ([ids.length * vocab]), from one run with an empty cache. With a
 * KV cache stored at lower precision (--kv-dtype float16), one token per run through the cache instead, so every
 * prediction reads the stored keys/values and the score measures what the cache's rounding costs.
 */
export async function teacherForcedLogits(m: EvalModel, ids: number[]): Promise<Float32Array> {
  if (!m.kvCast) return forwardLogits(m, ids);
  const decoder = createDecoder(m, 1, ids.length);
  const V = decoder.vocabSize;
  const out = new Float32Array(ids.length * V);
  for (let i = 0; i < ids.length; i++) out.set(await decoder.extend(0, [ids[i] as number]), i * V);
  return out;
}

/** Greedy continuation of exactly `maxTokens` tokens (EOS does not stop it, so two models' runs line up). */
export async function greedyContinuation(m: EvalModel, promptIds: number[], maxTokens: number): Promise<number[]> {
  if (maxTokens <= 0) return [];
  const r = await generate(m, promptIds, { maxTokens, stopTokenIds: [], sampling: { temperature: 0 } });
  return r.tokenIds;
}

/** Releases the session. */
export async function closeEvalModel(m: EvalModel): Promise<void> {
  await m.runner.dispose();
}
