// `llmbench generate`: one prompt through the engine, with the timing a user wants to see. The CLI file only
// parses flags and prints; this module does the work and returns plain data.
import { relative } from 'node:path';
import { UsageError } from '../errors.js';
import type { DeviceName, FinishReason } from '../types.js';
import { BatchEngine } from '../engine/batchEngine.js';
import { generate } from '../engine/generate.js';
import { checkVariantName } from '../onnx/loader.js';

/** Parsed `generate` options. */
export interface GenerateCommandOptions {
  model: string;
  prompt: string;
  maxTokens: number;
  device: DeviceName;
  threads: number | null;
  temperature: number;
  topP: number;
  seed: number | null;
  /** Which onnx/model_<variant>.onnx to load (null: onnx/model.onnx or the folder's only variant). */
  variant?: string | null;
  /** Receives text pieces as they complete (streaming). */
  onText?: (text: string) => void;
}

/** What `llmbench generate --json` prints. */
export interface GenerateCommandResult {
  text: string;
  promptTokens: number;
  outputTokens: number;
  prefillMs: number;
  decodeMsPerToken: number;
  tokensPerSecond: number;
  finishReason: FinishReason;
  model: string;
  /** The ONNX file run, relative to the model folder (which --variant picked). */
  onnxFile: string;
  device: DeviceName;
  threads: number;
  loadMs: number;
}

/** Loads the model, generates, and returns text plus timing. */
export async function runGenerateCommand(opts: GenerateCommandOptions): Promise<GenerateCommandResult> {
  if (opts.prompt.length === 0) throw new UsageError('--prompt: the prompt is empty');
  const engine = await BatchEngine.load({ modelDir: opts.model, device: opts.device, threads: opts.threads, maxBatch: 1, variant: checkVariantName(opts.variant ?? null) });
  try {
    const promptIds = engine.tokenizer.encode(opts.prompt);
    if (promptIds.length === 0) throw new UsageError('--prompt: the prompt encodes to no tokens');
    if (promptIds.length >= engine.maxContext) {
      throw new UsageError(`--prompt: ${promptIds.length} tokens leave no room in the model's context of ${engine.maxContext}`);
    }
    const stream = engine.tokenizer.streamDecoder();
    const r = await generate(engine, promptIds, {
      maxTokens: opts.maxTokens,
      sampling: { temperature: opts.temperature, topP: opts.topP, seed: opts.seed },
      stopTokenIds: engine.info.eosTokenIds,
      onToken: (id) => {
        const piece = stream.push(id);
        if (piece) opts.onText?.(piece);
      },
    });
    const rest = stream.flush();
    if (rest) opts.onText?.(rest);
    return {
      text: engine.tokenizer.decode(r.tokenIds),
      promptTokens: r.promptTokens,
      outputTokens: r.outputTokens,
      prefillMs: round(r.prefillMs),
      decodeMsPerToken: round(r.decodeMsPerToken),
      tokensPerSecond: round(r.tokensPerSecond),
      finishReason: r.finishReason,
      model: engine.info.dir,
      onnxFile: relative(engine.info.dir, engine.info.onnxPath),
      device: engine.session.device,
      threads: engine.session.threads,
      loadMs: round(engine.session.loadMs),
    };
  } finally {
    await engine.dispose();
  }
}

/** The human-readable timing line printed after the text. */
export function formatGenerateSummary(r: GenerateCommandResult): string {
  return (
    `prompt tokens ${r.promptTokens}, output tokens ${r.outputTokens} (${r.finishReason}), prefill ${r.prefillMs.toFixed(1)} ms, ` +
    `decode ${r.decodeMsPerToken.toFixed(2)} ms/token, ${r.tokensPerSecond.toFixed(1)} tokens/s ` +
    `[${r.onnxFile}, ${r.device}, ${r.threads} threads, load ${(r.loadMs / 1000).toFixed(1)} s]`
  );
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
