// The layer-split counterpart of openDecoderSession: same checks, same KV strategy and graph patch, then
// the patched graph is split by layers (cached) and each stage starts in its own worker. The result is a
// DecoderSession whose runner is a StagedRunner, so the engine and the server run it unchanged.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { ModelError } from '../../errors.js';
import { checkVariantName, readModelFolder } from '../../onnx/loader.js';
import { resolveModelDir } from '../../modelgen/resolve.js';
import { splitModel } from '../../split/splitModel.js';
import type { SplitPlan } from '../../split/splitPlan.js';
import type { StagesManifest } from '../../split/splitManifest.js';
import type { DeviceName } from '../../types.js';
import { createDecoder, type Decoder } from '../decoder.js';
import { LAST_LOGITS, newKvName, patchDecoderBytes } from '../../onnx/graphPatch.js';
import { flattenMergedDecoder, isMergedDecoder } from '../../onnx/mergedDecoder.js';
import { executionProvidersFor, parseDevice } from '../providers.js';
import { type DecoderSession, planDecoder, type SessionOptions } from '../session.js';
import { StagedSlotDecoder } from './stagedDecoder.js';
import { StagedRunner, type StageRuntimeOptions } from './stagedRunner.js';

/** Options of loadStagedRunner: the single-session options plus per-stage device and threads. */
export interface LoadStagedOptions extends SessionOptions {
  /** Per stage (index = stage); unset fields fall back to `device` / `threads`. */
  stages?: StageRuntimeOptions[];
  /** Row groups a decode step is cut into, pipelined through the stages (default 1: no pipelining). */
  microBatches?: number;
  onProgress?: (msg: string) => void;
}

/** A DecoderSession over stage workers, plus where its split lives. */
export interface StagedDecoderSession extends DecoderSession {
  runner: StagedRunner;
  splitDir: string;
  manifest: StagesManifest;
  /**
   * The decoder to use for this session: in slots mode one whose KV cache lives in the stages
   * (StagedSlotDecoder); otherwise the engine's own.
   */
  createDecoder(rows: number, maxSlots: number): Decoder;
}

/**
 * Opens the decoder in `dir` (a model folder or preset name) split by `plan`: one worker per stage, each
 * with `threads` intra-op threads (default: the machine's CPUs divided among the stages) on its device.
 * The caller must `runner.dispose()` it.
 */
export async function loadStagedRunner(dir: string, plan: SplitPlan, opts: LoadStagedOptions = {}): Promise<StagedDecoderSession> {
  const t0 = performance.now();
  const modelDir = await resolveModelDir(dir, opts.onProgress);
  const variant = checkVariantName(opts.variant ?? null);
  const base = readModelFolder(modelDir, variant);
  // The same checks, KV strategy and patch as openDecoderSession, so the engine fetches the same outputs.
  const raw = readFileSync(base.onnxPath);
  // A merged decoder is split as its with-cache branch (see mergedDecoder.ts).
  const merged = isMergedDecoder(raw, base.onnxPath);
  const { info, kvMode, note, patch } = planDecoder(base, merged ? flattenMergedDecoder(raw, base.onnxPath) : raw, opts.kvMode);
  const addLastLogits = patch.addLastLogits;
  const patched = patch.addNewKv || patch.addLastLogits;
  const transform =
    patched || merged
      ? {
          key: `engine-patch:${merged ? 'lift-with-cache:' : ''}${JSON.stringify(patch)}`,
          apply: (b: Uint8Array) => {
            const plain = merged ? flattenMergedDecoder(b, base.onnxPath) : b;
            return patched ? patchDecoderBytes(plain, patch) : plain;
          },
        }
      : undefined;
  const split = await splitModel(modelDir, plan, { transform, variant, onProgress: opts.onProgress });

  const stageCount = split.manifest.stages.length;
  const device: DeviceName = opts.device ?? 'cpu';
  const threads = opts.threads ?? Math.max(1, Math.floor(availableParallelism() / stageCount));
  for (const d of new Set([device, ...(opts.stages ?? []).map((s) => s.device ?? device)])) {
    await executionProvidersFor(parseDevice(d.split(':')[0] ?? d));
  }
  const runner = await StagedRunner.start(split.dir, split.manifest, { stages: opts.stages, device, intraOpNumThreads: threads });
  if (kvMode === 'slots' && !runner.outputNames.includes(newKvName(0, 'key'))) {
    await runner.dispose();
    throw new ModelError(`${base.onnxPath}: patched outputs missing from the split stages`);
  }
  const session: StagedDecoderSession = {
    info,
    runner,
    kvMode,
    lastLogitsOutput: addLastLogits ? LAST_LOGITS : 'logits',
    device,
    threads,
    loadMs: performance.now() - t0,
    note,
    splitDir: split.dir,
    manifest: split.manifest,
    // Dense mode falls back to the engine's decoder over the staged runner (a copy without this hook, or it would recurse).
    createDecoder: (rows, maxSlots) =>
      session.kvMode === 'slots'
        ? new StagedSlotDecoder(session, runner, rows, maxSlots, opts.microBatches ?? 1)
        : createDecoder({ ...session, createDecoder: undefined }, rows, maxSlots),
  };
  return session;
}
