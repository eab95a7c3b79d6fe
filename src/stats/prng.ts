// Seeded pseudo-random numbers, so that bootstrap intervals and fixtures are reproducible bit for bit.

/** A source of uniform floats in [0, 1). */
export type Rng = () => number;

/**
 * Seeded 32-bit generator: a Weyl sequence scrambled by a murmur3-style finalizer. Not cryptographic;
 * statistically adequate for resampling, and identical on every platform because it uses only 32-bit integer ops.
 */
export function createRng(seed: number): Rng {
  let state = (Math.trunc(seed) ^ 0x5bd1e995) >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    z = (z ^ (z >>> 16)) >>> 0;
    return z / 4294967296;
  };
}

/** Uniform integer in [0, n). */
export function randomInt(rng: Rng, n: number): number {
  return Math.floor(rng() * n);
}

/** Standard normal deviate (Box-Muller; one of the pair is discarded to keep the generator stateless). */
export function randomNormal(rng: Rng): number {
  let u = rng();
  while (u <= 0) u = rng();
  const v = rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}
