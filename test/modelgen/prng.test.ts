import { describe, expect, it } from 'vitest';
import { Rng, deriveSeed, fillNormal, mix32, normalQuantile } from '../../src/stats/rng.js';

describe('prng', () => {
  it('xoshiro128** gives the reference sequence for a seed (checked against an independent implementation)', () => {
    expect(mix32(0)).toBe(2462723854);
    expect(mix32(1)).toBe(2527132011);
    const r = new Rng(42);
    expect([r.nextU32(), r.nextU32(), r.nextU32()]).toEqual([2014437610, 2536506388, 439704051]);
  });

  it('derived seeds differ by label and are stable', () => {
    expect(deriveSeed(1, 'h0.qkv')).toBe(deriveSeed(1, 'h0.qkv'));
    expect(deriveSeed(1, 'h0.qkv')).not.toBe(deriveSeed(1, 'h1.qkv'));
    expect(deriveSeed(1, 'h0.qkv')).not.toBe(deriveSeed(2, 'h0.qkv'));
  });

  it('normal quantile matches known values', () => {
    expect(normalQuantile(0.5)).toBe(0);
    expect(normalQuantile(0.975)).toBeCloseTo(1.959964, 5);
    expect(normalQuantile(0.001)).toBeCloseTo(-3.090232, 5);
    expect(normalQuantile(0.999)).toBeCloseTo(3.090232, 5);
  });

  it('fillNormal is deterministic and has the requested mean and spread', () => {
    const a = new Float32Array(200_000);
    const b = new Float32Array(200_000);
    fillNormal(a, 0.5, 7);
    fillNormal(b, 0.5, 7);
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
    fillNormal(b, 0.5, 8);
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(false);
    let sum = 0;
    let sq = 0;
    let beyondTwoSigma = 0;
    for (const v of a) {
      sum += v;
      sq += v * v;
      if (Math.abs(v) > 1) beyondTwoSigma++;
    }
    const mean = sum / a.length;
    const std = Math.sqrt(sq / a.length - mean * mean);
    expect(Math.abs(mean)).toBeLessThan(0.005);
    expect(std).toBeGreaterThan(0.495);
    expect(std).toBeLessThan(0.505);
    // P(|z| > 2) = 4.55% for a normal.
    expect(beyondTwoSigma / a.length).toBeGreaterThan(0.043);
    expect(beyondTwoSigma / a.length).toBeLessThan(0.048);
  });

  it('Box-Muller normals from Rng have unit variance', () => {
    const r = new Rng(3);
    let sq = 0;
    for (let i = 0; i < 50_000; i++) sq += r.nextNormal() ** 2;
    expect(sq / 50_000).toBeGreaterThan(0.97);
    expect(sq / 50_000).toBeLessThan(1.03);
  });
});
