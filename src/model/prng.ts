// Seeded pseudo-random numbers for generated models and corpora. Everything llmbench generates must be
// byte-identical for a seed on every machine, so nothing here touches Math.random. The generator is
// xoshiro128** (32-bit state words, so every step is exact integer arithmetic in JS); seeds are expanded
// with splitmix32 so that nearby seeds give unrelated streams.

/** splitmix32 step: a well-mixed 32-bit hash of `x`, used to expand seeds and derive sub-streams. */
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

/**
 * Fills `out` with N(0, std²) values from a stream seeded by `seed`. The generator state lives in
 * locals so that filling the ~10^8 floats of the gpt2 preset costs about a second, not a function
 * call per element.
 */
export function fillNormal(out: Float32Array | Float64Array, std: number, seed: number): void {
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
  const twoPi = 2 * Math.PI;
  for (let i = 0; i < n; i += 2) {
    // Two xoshiro128** steps, inlined.
    let r = Math.imul(s1, 5);
    r = Math.imul((r << 7) | (r >>> 25), 9) >>> 0;
    let t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = (s3 << 11) | (s3 >>> 21);
    const u1 = (r + 1) / (TWO_POW_32 + 1);

    r = Math.imul(s1, 5);
    r = Math.imul((r << 7) | (r >>> 25), 9) >>> 0;
    t = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = (s3 << 11) | (s3 >>> 21);
    const theta = (r / TWO_POW_32) * twoPi;

    const radius = std * Math.sqrt(-2 * Math.log(u1));
    out[i] = radius * Math.cos(theta);
    if (i + 1 < n) out[i + 1] = radius * Math.sin(theta);
  }
}
