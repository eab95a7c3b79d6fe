// Engines, keyed by kind: how a model folder becomes a DecoderSession the batch engine drives. Adding one is a
// file exporting an opener plus one line in ENGINES; the batch engine, scheduler and server stay as they are.
import { type DecoderSession, openDecoderSession, type SessionOptions } from './session.js';
import type { StagesOption } from './staged/stagedOptions.js';

/** What every engine gets. */
export interface EngineOptions extends SessionOptions {
  /** Layer split for the staged engine (ignored by the others). */
  split?: StagesOption | null;
  onProgress?: (msg: string) => void;
}

type EngineOpener = (dir: string, o: EngineOptions) => Promise<DecoderSession>;

export const ENGINES = {
  /** One onnxruntime session over the whole model. */
  single: (dir, o) => openDecoderSession(dir, o),
  /** The model split by layers, one worker-thread stage per slice (pipeline parallelism). */
  // Loaded on first use: a server on one session never needs the splitter and stage workers (nor their modules'
  // memory).
  staged: async (dir, o) => {
    if (!o.split) throw new Error('the staged engine needs a layer split');
    const { loadStagedRunner } = await import('./staged/stagedLoad.js');
    return loadStagedRunner(dir, o.split.plan, { device: o.device, threads: o.threads ?? undefined, stages: o.split.stages, variant: o.variant ?? null, onProgress: o.onProgress });
  },
} satisfies Record<string, EngineOpener>;

export type EngineKind = keyof typeof ENGINES;
