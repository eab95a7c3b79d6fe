// `llmbench eval`: quality of a model on the shipped held-out text and, with a reference, how far it moved
// from it (top-1 agreement, KL, greedy continuations). Bounded work: a token budget in context-sized windows.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { ModelError, UsageError } from '../errors.js';
import type { QualityReport } from '../types.js';
import { loadHeldoutText } from '../modelgen/corpusFiles.js';
import { emptyStats, greedyAgreement, perplexity, scoreWindow, type GreedyAgreement } from './evalMetrics.js';
import type { SessionOptions } from '../engine/session.js';
import { closeEvalModel, greedyContinuation, openEvalModel, teacherForcedLogits, type EvalModel } from './evalSession.js';
import { readModelLazy } from '../onnx/lazyModel.js';
import { checkVariantName } from '../onnx/loader.js';
import { WeightStore } from '../onnx/weightStore.js';
import { modelWeightBytes } from '../quantize/quantizeGraph.js';

/** Options of evaluateModel (all optional). */
export interface EvalOptions {
  /** Next-token predictions scored (default 512). */
  maxEvalTokens?: number;
  /** Window length in tokens, capped at the model context (default 256). */
  windowTokens?: number;
  /** Greedy continuation prompts (default 3) and tokens generated per prompt (default 16). */
  greedyPrompts?: number;
  maxTokens?: number;
  /** Tokens per greedy prompt (default 16). */
  promptTokens?: number;
  /** Text to score instead of the shipped held-out text. */
  text?: string;
  /** The reference's onnx/model_<variant>.onnx (the model's own comes from sessionOptions.variant); null: its default file. */
  referenceVariant?: string | null;
  /** Engine session options (threads, device, variant). */
  sessionOptions?: SessionOptions;
  onProgress?: (msg: string) => void;
}

/** The report plus what the human-readable output shows. */
export interface EvalDetails {
  report: QualityReport;
  modelDir: string;
  /** The ONNX file evaluated, relative to modelDir (which --variant picked). */
  modelFile: string;
  referenceDir: string | null;
  referenceFile: string | null;
  windowTokens: number;
  windows: number;
  greedy: (GreedyAgreement & { maxTokens: number }) | null;
  /** First prompt and both continuations, decoded. */
  example: { prompt: string; model: string; reference: string } | null;
  elapsedMs: number;
}

interface Tok {
  encode(text: string): number[];
  decode(ids: number[]): string;
  hash: string;
}

function loadTokenizer(dir: string): Tok {
  const p = join(dir, 'tokenizer.json');
  if (!existsSync(p)) throw new ModelError(`${dir}: missing tokenizer.json`);
  const text = readFileSync(p, 'utf8');
  const cfgPath = join(dir, 'tokenizer_config.json');
  const cfg = existsSync(cfgPath) ? (JSON.parse(readFileSync(cfgPath, 'utf8')) as object) : {};
  const tok = new Tokenizer(JSON.parse(text) as object, cfg);
  return {
    encode: (t) => tok.encode(t, { add_special_tokens: false }).ids,
    decode: (ids) => tok.decode(ids, { skip_special_tokens: false }),
    hash: createHash('sha256').update(text).digest('hex'),
  };
}

/** Tokens of the first part of `text`, at least `need` of them when the text has that many. */
function leadingTokens(tok: Tok, text: string, need: number): number[] {
  for (let chars = need * 8; ; chars *= 2) {
    const ids = tok.encode(text.slice(0, chars));
    if (ids.length >= need || chars >= text.length) return ids.slice(0, need);
  }
}

/** Prompts of `n` tokens starting at paragraph starts spread over the text. */
function greedyPromptIds(tok: Tok, text: string, count: number, n: number): number[][] {
  const paras = text.split(/\n\s*\n/).filter((p) => p.trim().length > 0);
  const prompts: number[][] = [];
  for (let i = 0; i < count && paras.length > 0; i++) {
    const para = paras[Math.floor(((i + 0.5) * paras.length) / count)] ?? '';
    const ids = tok.encode(para).slice(0, n);
    if (ids.length > 0) prompts.push(ids);
  }
  return prompts;
}

/** Bytes of all initializers of a folder's ONNX graph (from dims; the weights themselves are never read). */
export async function folderWeightBytes(onnxPath: string): Promise<number> {
  const weights = new WeightStore();
  try {
    return modelWeightBytes(readModelLazy(onnxPath, weights));
  } finally {
    weights.close();
  }
}

/** Quality report of `dir`, compared with `refDir` when given. */
export async function evaluateModel(dir: string, refDir: string | null, opts: EvalOptions = {}): Promise<QualityReport> {
  return (await evaluateModelDetailed(dir, refDir, opts)).report;
}

/** evaluateModel plus the details the CLI prints. */
export async function evaluateModelDetailed(dir: string, refDir: string | null, opts: EvalOptions = {}): Promise<EvalDetails> {
  const t0 = performance.now();
  const maxEvalTokens = opts.maxEvalTokens ?? 512;
  const maxTokens = opts.maxTokens ?? 16;
  const greedyCount = opts.greedyPrompts ?? 3;
  const promptTokens = opts.promptTokens ?? 16;
  if (!Number.isInteger(maxEvalTokens) || maxEvalTokens < 1) throw new UsageError(`eval tokens must be a positive integer, got ${maxEvalTokens}`);
  if (!Number.isInteger(maxTokens) || maxTokens < 0) throw new UsageError(`--max-tokens must be a non-negative integer, got ${maxTokens}`);

  const tok = loadTokenizer(dir);
  if (refDir !== null && loadTokenizer(refDir).hash !== tok.hash) {
    throw new ModelError(`${refDir}: the reference's tokenizer.json differs from the model's`, 'Compare a model with the model it was made from (same tokenizer).');
  }
  checkVariantName(opts.sessionOptions?.variant ?? null);
  const model = await openEvalModel(dir, opts.sessionOptions);
  let ref: EvalModel | null = null;
  try {
    if (refDir !== null) {
      // The reference keeps its graph's KV type: --kv-dtype is what is being evaluated.
      ref = await openEvalModel(refDir, { ...opts.sessionOptions, kvDtype: null, variant: checkVariantName(opts.referenceVariant ?? null, '--reference-variant') });
      if (ref.info.vocabSize !== model.info.vocabSize) {
        throw new ModelError(`${refDir}: vocabulary size ${ref.info.vocabSize} differs from the model's ${model.info.vocabSize}`);
      }
    }
    const V = model.info.vocabSize;
    const text = opts.text ?? loadHeldoutText();
    const W = Math.max(2, Math.min(opts.windowTokens ?? 256, model.info.maxPositions, ref?.info.maxPositions ?? Number.POSITIVE_INFINITY));
    const tokens = leadingTokens(tok, text, maxEvalTokens + 1);
    if (tokens.length < 2) throw new UsageError('eval text is too short: it needs at least two tokens');
    const stats = emptyStats();
    let windows = 0;
    // Consecutive windows share one token so every token after the first is predicted exactly once.
    for (let start = 0; start + 1 < tokens.length; start += W - 1) {
      const ids = tokens.slice(start, start + W);
      const logits = await teacherForcedLogits(model, ids);
      const refLogits = ref ? await teacherForcedLogits(ref, ids) : null;
      scoreWindow(ids, logits, refLogits, V, stats);
      windows++;
      opts.onProgress?.(`window ${windows}: ${stats.count} tokens scored`);
    }

    let greedy: EvalDetails['greedy'] = null;
    let example: EvalDetails['example'] = null;
    if (ref && maxTokens > 0 && greedyCount > 0) {
      const prompts = greedyPromptIds(tok, text, greedyCount, promptTokens);
      const mine: number[][] = [];
      const theirs: number[][] = [];
      for (const p of prompts) {
        mine.push(await greedyContinuation(model, p, maxTokens));
        theirs.push(await greedyContinuation(ref, p, maxTokens));
      }
      greedy = { ...greedyAgreement(mine, theirs), maxTokens };
      const p0 = prompts[0];
      if (p0) example = { prompt: tok.decode(p0), model: tok.decode(mine[0] ?? []), reference: tok.decode(theirs[0] ?? []) };
    }

    const ppl = perplexity(stats.nllSum, stats.count);
    const refPpl = ref ? perplexity(stats.refNllSum, stats.count) : null;
    const report: QualityReport = {
      perplexity: ppl,
      referencePerplexity: refPpl,
      perplexityDeltaPct: refPpl !== null ? ((ppl - refPpl) / refPpl) * 100 : null,
      top1Agreement: ref ? stats.top1Matches / stats.compared : null,
      meanKl: ref ? stats.klSum / stats.compared : null,
      greedyAgreement: greedy ? greedy.positionwise : null,
      fileBytes: model.info.fileBytes,
      weightBytes: await folderWeightBytes(model.info.onnxPath),
      evalTokens: stats.count,
    };
    const file = (m: EvalModel): string => relative(m.info.dir, m.info.onnxPath);
    return { report, modelDir: model.info.dir, modelFile: file(model), referenceDir: ref?.info.dir ?? null, referenceFile: ref ? file(ref) : null, windowTokens: W, windows, greedy, example, elapsedMs: performance.now() - t0 };
  } finally {
    await closeEvalModel(model);
    if (ref) await closeEvalModel(ref);
  }
}
