// The one seeded pseudo-random generator of llmbench: generated models and corpora, workloads and arrival
// schedules, bootstrap resampling, sampling and balancing choices. Everything must be reproducible from a seed,
// so nothing here touches Math.random, and these streams are the same on every machine. Independent named
// streams come from `deriveSeed(seed, "arrivals")`. The generator is xoshiro128** (32-bit state words, so every step is exact integer arithmetic
// in JS); seeds are expanded with a 32-bit mixing hash so that nearby seeds give unrelated streams.

/** A well-mixed 32-bit hash of `x` (golden-ratio step + murmur3 finalizer), to expand seeds and derive sub-streams. */
export function mix32(x: number): number {
  let z = (x + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** A seed for an independent stream derived from `seed` and a label (e.g. "layer3.qkv"). */
export function deriveSeed(seed: number, label: string): number {
  let h = mix32(seed >>> 0);
  for (let i = 0; i < label.length; i++) h = mix32(h ^ label.charCodeAt(i));
  return h;
}

const TWO_POW_32 = 4294967296;

/** xoshiro128** generator. Methods are small so V8 inlines them; bulk fills use `fillNormal`. */
export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spareNormal: number | null = null;

  constructor(seed: number) {
    let x = seed >>> 0;
    x = mix32(x);
    this.s0 = x;
    x = mix32(x);
    this.s1 = x;
    x = mix32(x);
    this.s2 = x;
    x = mix32(x);
    this.s3 = x;
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** Next uniform 32-bit unsigned integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0;
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result;
  }

  /** Uniform in [0, 1). */
  nextFloat(): number {
    return this.nextU32() / TWO_POW_32;
  }

  /** Uniform integer in [0, n). */
  nextInt(n: number): number {
    return Math.floor(this.nextFloat() * n);
  }

  /** Standard normal (Box-Muller; the second value of each pair is kept for the next call). */
  nextNormal(): number {
    const spare = this.spareNormal;
    if (spare !== null) {
      this.spareNormal = null;
      return spare;
    }
    const u1 = (this.nextU32() + 1) / (TWO_POW_32 + 1);
    const u2 = this.nextFloat();
    const r = Math.sqrt(-2 * Math.log(u1));
    const theta = 2 * Math.PI * u2;
    this.spareNormal = r * Math.sin(theta);
    return r * Math.cos(theta);
  }

  /** Uniform integer in [min, max] (inclusive). */
  nextIntBetween(min: number, max: number): number {
    return min + this.nextInt(max - min + 1);
  }

  /** Exponential with the given mean. */
  nextExponential(mean: number): number {
    let u = 0;
    while (u === 0) u = this.nextFloat();
    return -Math.log(u) * mean;
  }

  /** Gamma(shape, scale) by Marsaglia-Tsang; shape < 1 via the boost u^(1/shape). */
  nextGamma(shape: number, scale: number): number {
    if (shape < 1) {
      let u = 0;
      while (u === 0) u = this.nextFloat();
      return this.nextGamma(shape + 1, scale) * Math.pow(u, 1 / shape);
    }
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number;
      let v: number;
      do {
        x = this.nextNormal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = this.nextFloat();
      if (u < 1 - 0.0331 * x * x * x * x) return d * v * scale;
      if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v * scale;
    }
  }

  /** A uniformly chosen element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    const item = items[this.nextInt(items.length)];
    if (item === undefined) throw new RangeError('pick from an empty array');
    return item;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** Acklam's rational approximation of the standard normal quantile (relative error < 1.2e-9). */
export function normalQuantile(p: number): number {
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const [a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0, a5 = 0] = a;
  const [b0 = 0, b1 = 0, b2 = 0, b3 = 0, b4 = 0] = b;
  const [c0 = 0, c1 = 0, c2 = 0, c3 = 0, c4 = 0, c5 = 0] = c;
  const [d0 = 0, d1 = 0, d2 = 0, d3 = 0] = d;
  const low = 0.02425;
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) / ((((d0 * q + d1) * q + d2) * q + d3) * q + 1);
  }
  if (p > 1 - low) return -normalQuantile(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return ((((((a0 * r + a1) * r + a2) * r + a3) * r + a4) * r + a5) * q) / (((((b0 * r + b1) * r + b2) * r + b3) * r + b4) * r + 1);
}

const QUANTILE_BINS = 65536;
let quantileTable: Float64Array | null = null;

/** Normal quantiles at the centers of 2^16 equal-probability bins (tails end near ±4.4σ). */
function quantiles(): Float64Array {
  if (quantileTable === null) {
    quantileTable = new Float64Array(QUANTILE_BINS + 1);
    for (let k = 0; k < QUANTILE_BINS; k++) quantileTable[k] = normalQuantile((k + 0.5) / QUANTILE_BINS);
    quantileTable[QUANTILE_BINS] = quantileTable[QUANTILE_BINS - 1] ?? 0;
  }
  return quantileTable;
}

/**
 * Fills `out` with N(0, std²) values from a stream seeded by `seed`: one xoshiro128** step per value,
 * mapped through the normal quantile function (a 2^16-entry table, linearly interpolated with the low
 * 16 bits). Box-Muller's log/sqrt/cos per pair made the ~10^8 weights of the gpt2 preset take seconds;
 * this takes a fraction of one. The generator state lives in locals for the same reason.
 */
export function fillNormal(out: Float32Array | Float64Array, std: number, seed: number): void {
  const table = quantiles();
  let x = mix32(seed >>> 0);
  let s0 = x;
  x = mix32(x);
  let s1 = x;
  x = mix32(x);
  let s2 = x;
  x = mix32(x);
  let s3 = x;
  if ((s0 | s1 | s2 | s3) === 0) s0 = 1;
  const n = out.length;
  for (let i = 0; i < n; i++) {
    let r = Math.imul(s1, 5);
    r = Math.imul((r << 7) | (r >>> 25), 9) >>> 0;
    const t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = (s3 << 11) | (s3 >>> 21);
    const k = r >>> 16;
    const frac = (r & 0xffff) / 65536;
    const lo = table[k]!;
    out[i] = std * (lo + frac * (table[k + 1]! - lo));
  }
}

/** A source of uniform floats in [0, 1), for code that only needs draws (bootstrap resampling). */
export type Uniform = () => number;

/** Uniform draws from the generator seeded with `seed`. */
export function createRng(seed: number): Uniform {
  const rng = new Rng(seed);
  return () => rng.nextFloat();
}

/** Uniform integer in [0, n). */
export function randomInt(u: Uniform, n: number): number {
  return Math.floor(u() * n);
}

/** Standard normal deviate (Box-Muller; one of the pair is discarded so a Uniform stays the only state). */
export function randomNormal(u: Uniform): number {
  let a = u();
  while (a <= 0) a = u();
  const b = u();
  return Math.sqrt(-2 * Math.log(a)) * Math.cos(2 * Math.PI * b);
}
