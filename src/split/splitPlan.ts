// What a layer split asks for (a stage count or explicit layer ranges), checked against a model's
// layer count and turned into one inclusive layer range per stage.
import { ModelError } from '../errors.js';

/** Inclusive range of decoder layers one stage runs. */
export interface LayerRange {
  firstLayer: number;
  lastLayer: number;
}

/** How to split a decoder by layers: N stages dividing the layers evenly, or explicit inclusive ranges. */
export type SplitPlan = { stages: number } | { ranges: ReadonlyArray<LayerRange | readonly [number, number]> };

/**
 * Resolves a plan to one range per stage, in order, covering layers 0..numLayers-1 without gaps or
 * overlaps. An even split gives the first `numLayers % stages` stages one extra layer (the last stage
 * also carries the LM head). Throws ModelError naming what is wrong.
 */
export function resolveSplitPlan(plan: SplitPlan, numLayers: number): LayerRange[] {
  if (!Number.isInteger(numLayers) || numLayers < 1) throw new ModelError(`cannot split a model with ${numLayers} layers`);
  if ('stages' in plan) {
    const k = plan.stages;
    if (!Number.isInteger(k) || k < 1) throw new ModelError(`split: stage count must be a positive integer (got ${k})`);
    if (k > numLayers) {
      throw new ModelError(`split: ${k} stages for a model with ${numLayers} layers`, `Use at most ${numLayers} stages (one layer per stage at the finest).`);
    }
    const base = Math.floor(numLayers / k);
    const extra = numLayers % k;
    const ranges: LayerRange[] = [];
    let next = 0;
    for (let s = 0; s < k; s++) {
      const size = base + (s < extra ? 1 : 0);
      ranges.push({ firstLayer: next, lastLayer: next + size - 1 });
      next += size;
    }
    return ranges;
  }
  const ranges = plan.ranges.map((r): LayerRange => (isPair(r) ? { firstLayer: r[0], lastLayer: r[1] } : { firstLayer: r.firstLayer, lastLayer: r.lastLayer }));
  if (ranges.length === 0) throw new ModelError('split: no stage ranges given');
  const hint = `Give consecutive inclusive ranges covering layers 0..${numLayers - 1}, e.g. [[0, ${Math.floor((numLayers - 1) / 2)}], [${Math.floor((numLayers - 1) / 2) + 1}, ${numLayers - 1}]].`;
  let next = 0;
  for (const [s, r] of ranges.entries()) {
    const { firstLayer: a, lastLayer: b } = r;
    if (!Number.isInteger(a) || !Number.isInteger(b) || a < 0 || b < 0) throw new ModelError(`split: stage ${s} range [${a}, ${b}] is not a pair of layer indices`, hint);
    if (b < a) throw new ModelError(`split: stage ${s} range [${a}, ${b}] ends before it starts`, hint);
    if (a < next) throw new ModelError(`split: stage ${s} range [${a}, ${b}] overlaps stage ${s - 1} (which ends at layer ${next - 1})`, hint);
    if (a > next) throw new ModelError(`split: layers ${next}..${a - 1} are in no stage (stage ${s} starts at ${a})`, hint);
    if (b >= numLayers) throw new ModelError(`split: stage ${s} range [${a}, ${b}] goes past the last layer ${numLayers - 1}`, hint);
    next = b + 1;
  }
  if (next !== numLayers) throw new ModelError(`split: layers ${next}..${numLayers - 1} are in no stage`, hint);
  return ranges;
}

/** Stage index of every layer, for resolved ranges. */
export function stageOfLayers(ranges: readonly LayerRange[], numLayers: number): number[] {
  const out = new Array<number>(numLayers).fill(-1);
  for (const [s, r] of ranges.entries()) for (let l = r.firstLayer; l <= r.lastLayer; l++) out[l] = s;
  return out;
}

function isPair(r: LayerRange | readonly [number, number]): r is readonly [number, number] {
  return Array.isArray(r);
}
