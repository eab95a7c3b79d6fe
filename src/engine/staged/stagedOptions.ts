// The `--stages` option of `llmbench serve`: a stage count ("2"), or explicit inclusive layer ranges with an
// optional device and thread budget per stage ("0-1@cpu/2,2-3@cuda:0/1"). Parsed here, so the CLI file
// stays wiring and a deployment can write the same text from a scenario's stage list.
import { UsageError } from '../../errors.js';
import type { SplitPlan } from '../../split/splitPlan.js';
import type { StageRuntimeOptions } from './stagedRunner.js';

/** A parsed `--stages` value. */
export interface StagesOption {
  plan: SplitPlan;
  /** Per-stage device/threads (empty entries: use --device / --threads). */
  stages: StageRuntimeOptions[];
}

const ITEM = /^(\d{1,4})-(\d{1,4})(?:@((?:cpu|cuda|webgpu)(?::\d{1,2})?))?(?:\/(\d{1,3}))?$/;
const HINT = 'Use a stage count (--stages 2) or inclusive layer ranges with optional @device and /threads, e.g. --stages 0-5@cpu/2,6-11@cpu/2.';

/** Parses `--stages`; throws UsageError naming the bad part. Layer coverage is checked later against the model. */
export function parseStagesOption(text: string): StagesOption {
  const t = text.trim();
  if (/^\d+$/.test(t)) {
    const n = Number(t);
    if (n < 1) throw new UsageError(`--stages: must be at least 1, got ${t}`, HINT);
    return { plan: { stages: n }, stages: [] };
  }
  const ranges: [number, number][] = [];
  const stages: StageRuntimeOptions[] = [];
  for (const [i, raw] of t.split(',').entries()) {
    const m = ITEM.exec(raw.trim());
    if (!m) throw new UsageError(`--stages: stage ${i} "${raw.trim()}" is not FIRST-LAST[@DEVICE][/THREADS]`, HINT);
    const [, first, last, device, threads] = m;
    ranges.push([Number(first), Number(last)]);
    const opt: StageRuntimeOptions = {};
    if (device !== undefined) opt.device = device;
    if (threads !== undefined) {
      if (Number(threads) < 1) throw new UsageError(`--stages: stage ${i} threads must be at least 1`, HINT);
      opt.intraOpNumThreads = Number(threads);
    }
    stages.push(opt);
  }
  return { plan: { ranges }, stages };
}

/** A scenario stage as the deployment has it (inclusive layers, device, threads). */
export interface StageLayout {
  firstLayer: number;
  lastLayer: number;
  device: string;
  threads: number;
}

/** The `--stages` text for explicit stages (inverse of parseStagesOption). */
export function formatStagesOption(stages: readonly StageLayout[]): string {
  return stages.map((s) => `${s.firstLayer}-${s.lastLayer}@${s.device}/${s.threads}`).join(',');
}
