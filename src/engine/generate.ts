// One-off generation (a single sequence, with timing split into prefill and decode) and full-sequence
// logits without a cache (perplexity and quantization evaluation).
import * as ort from 'onnxruntime-node';
import { UsageError } from '../errors.js';
import type { FinishReason, SamplingParams } from '../types.js';
import { BatchEngine } from './batchEngine.js';
import { createDecoder, type Decoder } from './decoder.js';
import type { Feeds } from './runner.js';
import { Sampler } from './sampler.js';
import type { DecoderSession } from './session.js';
import { logitsFloat32 } from './logits.js';

/** Options of `generate`. */
export interface GenerateOptions {
  maxTokens: number;
  /** Default: greedy. */
  sampling?: Partial<SamplingParams>;
  /** Default: the model's EOS ids. */
  stopTokenIds?: number[];
  /** Prompt tokens per prefill run (default 64, as in BatchEngine, so both give the same tokens). */
  prefillChunk?: number;
  /** Highest token id + 1 the sampler may pick (default: the model's vocabulary). */
  sampleLimit?: number;
  /** Called with each token as it is produced. */
  onToken?: (tokenId: number) => void;
}

/** Tokens and timing of one generation. */
export interface GenerateResult {
  tokenIds: number[];
  finishReason: FinishReason;
  promptTokens: number;
  outputTokens: number;
  /** Prompt processing up to and including the first output token. */
  prefillMs: number;
  /** Everything after the first token. */
  decodeMs: number;
  /** decodeMs / (outputTokens - 1); 0 when there is one output token. */
  decodeMsPerToken: number;
  /** Decode rate: 1000 / decodeMsPerToken (or output tokens over total time for one-token outputs). */
  tokensPerSecond: number;
  /** Time inside ORT runs, summed. */
  ortMs: number;
}

/**
 * Generates for one prompt. With a BatchEngine it uses the engine's decoder (the engine must be idle);
 * with a DecoderSession it makes a one-row decoder.
 */
export async function generate(target: BatchEngine | DecoderSession, promptIds: readonly number[], opts: GenerateOptions): Promise<GenerateResult> {
  let decoder: Decoder;
  let session: DecoderSession;
  let maxContext: number;
  let sampleLimit = opts.sampleLimit;
  if (target instanceof BatchEngine) {
    if (target.running + target.waiting > 0) throw new Error('generate() needs an idle engine');
    decoder = target.decoder;
    session = target.session;
    maxContext = target.maxContext;
    sampleLimit ??= Math.min(session.info.vocabSize, Math.max(1, target.tokenizer.vocabSize));
  } else {
    session = target;
    maxContext = session.info.maxPositions;
    decoder = createDecoder(session, 1, maxContext);
  }
  const limit = sampleLimit ?? session.info.vocabSize;
  if (promptIds.length === 0) throw new UsageError('the prompt is empty (no tokens)');
  if (promptIds.length > maxContext) throw new UsageError(`prompt of ${promptIds.length} tokens exceeds the context of ${maxContext}`);
  if (!Number.isInteger(opts.maxTokens) || opts.maxTokens < 1) throw new UsageError(`maxTokens must be a positive integer, got ${opts.maxTokens}`);
  const sampler = new Sampler({ temperature: opts.sampling?.temperature ?? 0, topP: opts.sampling?.topP ?? 1, seed: opts.sampling?.seed ?? null });
  const stop = new Set(opts.stopTokenIds ?? session.info.eosTokenIds);
  const chunk = opts.prefillChunk ?? (target instanceof BatchEngine ? target.prefillChunk : 64);

  const ort0 = session.runner.stats.runMs;
  const t0 = performance.now();
  const out: number[] = [];
  let finishReason: FinishReason = 'length';
  let tFirst = t0;
  decoder.clearRow(0);
  try {
    let logits: Float32Array = new Float32Array(0);
    for (let p = 0; p < promptIds.length; p += chunk) logits = await decoder.extend(0, promptIds.slice(p, p + chunk));
    let token = sampler.sample(logits, 0, limit);
    tFirst = performance.now();
    for (;;) {
      out.push(token);
      opts.onToken?.(token);
      if (stop.has(token)) {
        finishReason = 'stop';
        break;
      }
      if (out.length >= opts.maxTokens || promptIds.length + out.length >= maxContext) break;
      logits = await decoder.decode([token]);
      token = sampler.sample(logits, 0, limit);
    }
  } finally {
    decoder.clearRow(0);
  }
  const tEnd = performance.now();
  const decodeMs = tEnd - tFirst;
  const decodeMsPerToken = out.length > 1 ? decodeMs / (out.length - 1) : 0;
  return {
    tokenIds: out,
    finishReason,
    promptTokens: promptIds.length,
    outputTokens: out.length,
    prefillMs: tFirst - t0,
    decodeMs,
    decodeMsPerToken,
    tokensPerSecond: decodeMsPerToken > 0 ? 1000 / decodeMsPerToken : (out.length * 1000) / Math.max(1e-9, tEnd - t0),
    ortMs: session.runner.stats.runMs - ort0,
  };
}

/** Logits for every position of `ids` (one forward pass, no cache): [ids.length x vocab], row-major. */
export async function forwardLogits(session: DecoderSession, ids: readonly number[]): Promise<Float32Array> {
  const { info } = session;
  const s = ids.length;
  if (s === 0) throw new UsageError('forwardLogits needs at least one token');
  if (s > info.maxPositions) throw new UsageError(`${s} tokens exceed the model's ${info.maxPositions} positions`);
  const feeds: Feeds = {
    input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, (x) => BigInt(x)), [1, s]),
    attention_mask: new ort.Tensor('int64', new BigInt64Array(s).fill(1n), [1, s]),
  };
  if (info.hasPositionIds) feeds.position_ids = new ort.Tensor('int64', BigInt64Array.from({ length: s }, (_, j) => BigInt(j)), [1, s]);
  if (info.hasNumLogitsToKeep) feeds.num_logits_to_keep = new ort.Tensor('int64', BigInt64Array.from([0n]), []);
  const dims = [1, info.numKvHeads, 0, info.headDim];
  const empty = info.kvDtype === 'float16' ? new ort.Tensor('float16', new Uint16Array(0), dims) : new ort.Tensor('float32', new Float32Array(0), dims);
  for (let i = 0; i < info.numLayers; i++) {
    feeds[`past_key_values.${i}.key`] = empty;
    feeds[`past_key_values.${i}.value`] = empty;
  }
  const out = await session.runner.run(feeds, ['logits']);
  const logits = logitsFloat32(out.logits as ort.Tensor);
  if (logits.length !== s * info.vocabSize) throw new Error(`logits have ${logits.length} values, expected ${s} x ${info.vocabSize}`);
  return logits;
}
