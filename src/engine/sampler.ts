// Next-token choice: greedy argmax, or temperature + nucleus (top-p) sampling driven by a seeded PRNG
// owned by the sequence, so a request's seed alone decides its tokens (batch neighbours never draw from it).
import { randomInt } from 'node:crypto';
import { mix32, Rng } from '../stats/rng.js';
import type { SamplingParams } from '../types.js';

/** A request's own draws: the project's generator (stats/rng.ts), seeded by any integer up to 2^53. */
export class SeededRandom {
  private readonly rng: Rng;

  constructor(seed: number) {
    // Both halves of the seed matter: fold the high 21 bits into the low 32.
    this.rng = new Rng((seed >>> 0) ^ mix32(Math.floor(seed / 4294967296)));
  }

  /** Uniform in [0, 1) with 53 bits. */
  next(): number {
    const hi = this.rng.nextU32() >>> 5;
    const lo = this.rng.nextU32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }
}

/** Index of the largest of logits[offset, offset+n) (first one on ties). */
export function argmax(logits: Float32Array, offset: number, n: number): number {
  let best = 0;
  let bestV = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = logits[offset + i] as number;
    if (v > bestV) {
      bestV = v;
      best = i;
    }
  }
  return best;
}

/** Per-sequence sampler. */
export class Sampler {
  private readonly rng: SeededRandom | null;
  private probs: Float64Array | null = null;
  private order: Uint32Array | null = null;

  constructor(readonly params: SamplingParams) {
    if (!(params.temperature >= 0) || !Number.isFinite(params.temperature)) throw new RangeError(`temperature must be >= 0, got ${params.temperature}`);
    if (!(params.topP > 0 && params.topP <= 1)) throw new RangeError(`topP must be in (0, 1], got ${params.topP}`);
    this.rng = params.temperature > 0 ? new SeededRandom(params.seed ?? randomInt(0, 2 ** 48 - 1)) : null;
  }

  /** Picks a token id from logits[offset, offset+n). */
  sample(logits: Float32Array, offset: number, n: number): number {
    if (this.rng === null) return argmax(logits, offset, n);
    const invT = 1 / this.params.temperature;
    const maxL = logits[offset + argmax(logits, offset, n)] as number;
    if (this.probs === null || this.probs.length < n) this.probs = new Float64Array(n);
    const p = this.probs;
    let z = 0;
    for (let i = 0; i < n; i++) {
      const e = Math.exp(((logits[offset + i] as number) - maxL) * invT);
      p[i] = e;
      z += e;
    }
    const topP = this.params.topP;
    if (topP >= 1) return this.drawFrom(p, n, z);
    return this.drawNucleus(p, n, z, topP);
  }

  private drawFrom(p: Float64Array, n: number, z: number): number {
    let u = (this.rng as SeededRandom).next() * z;
    for (let i = 0; i < n; i++) {
      u -= p[i] as number;
      if (u < 0) return i;
    }
    // Rounding left u a hair above zero: take the last token with mass.
    for (let i = n - 1; i >= 0; i--) if ((p[i] as number) > 0) return i;
    return 0;
  }

  /** Smallest set of most likely tokens whose mass reaches topP, then a draw within it. */
  private drawNucleus(p: Float64Array, n: number, z: number, topP: number): number {
    // Sorting the whole vocabulary every token is slow; candidates above a tiny fraction of the maximum
    // almost always hold the nucleus. If they do not, fall back to all tokens.
    for (const cutoff of [1e-4, 0]) {
      const order = this.candidates(p, n, cutoff);
      const target = topP * z;
      let mass = 0;
      let k = 0;
      while (k < order.length && mass < target) {
        mass += p[order[k] as number] as number;
        k++;
      }
      if (mass >= target || cutoff === 0) {
        let u = (this.rng as SeededRandom).next() * mass;
        for (let i = 0; i < k; i++) {
          u -= p[order[i] as number] as number;
          if (u < 0) return order[i] as number;
        }
        return order[k - 1] as number;
      }
    }
    return 0;
  }

  /** Ids with p >= cutoff (p is relative to the max, which is 1), most likely first, ties by id. */
  private candidates(p: Float64Array, n: number, cutoff: number): Uint32Array {
    if (this.order === null || this.order.length < n) this.order = new Uint32Array(n);
    let m = 0;
    for (let i = 0; i < n; i++) if ((p[i] as number) >= cutoff) this.order[m++] = i;
    const out = this.order.subarray(0, m);
    out.sort((a, b) => (p[b] as number) - (p[a] as number) || a - b);
    return out;
  }
}
