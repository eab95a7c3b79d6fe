// Sampling math with exact expectations: seeded generator streams, greedy ties, temperature and top-p limits.
import { describe, expect, it } from 'vitest';
import { argmax, Sampler, SeededRandom } from '../../src/engine/sampler.js';

describe('SeededRandom', () => {
  it('is a pure function of the seed', () => {
    const a = new SeededRandom(42);
    const b = new SeededRandom(42);
    const c = new SeededRandom(43);
    // Seeds that differ only above bit 32 still give different streams.
    const d = new SeededRandom(42 + 2 ** 40);
    const xs = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => c.next())).not.toEqual(xs);
    expect(Array.from({ length: 5 }, () => d.next())).not.toEqual(xs);
  });

  it('gives uniform floats in [0, 1)', () => {
    const r = new SeededRandom(1);
    let sum = 0;
    let min = 1;
    let max = 0;
    for (let i = 0; i < 20000; i++) {
      const x = r.next();
      sum += x;
      min = Math.min(min, x);
      max = Math.max(max, x);
    }
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThan(1);
    expect(sum / 20000).toBeCloseTo(0.5, 2);
  });
});

describe('Sampler', () => {
  const logits = Float32Array.from([0.5, 3, 3, -1, 2.9]);

  it('greedy takes the first maximum and ignores the seed', () => {
    expect(argmax(logits, 0, 5)).toBe(1);
    expect(new Sampler({ temperature: 0, topP: 1, seed: 9 }).sample(logits, 0, 5)).toBe(1);
    // offset and limit select a row and a vocabulary prefix
    expect(argmax(Float32Array.from([9, 9, 1, 2, 0]), 2, 3)).toBe(1);
  });

  it('top-p keeps only the smallest set reaching the mass', () => {
    // Probabilities ~ [0.03, 0.35, 0.35, 0.01, 0.26] at T=1: topP 0.5 keeps ids 1 and 2 only.
    const s = new Sampler({ temperature: 1, topP: 0.5, seed: 3 });
    const seen = new Set<number>();
    for (let i = 0; i < 300; i++) seen.add(s.sample(logits, 0, 5));
    expect([...seen].sort()).toEqual([1, 2]);
    // A tiny topP is greedy.
    const g = new Sampler({ temperature: 1, topP: 1e-6, seed: 3 });
    for (let i = 0; i < 50; i++) expect(g.sample(logits, 0, 5)).toBe(1);
  });

  it('temperature sampling follows the softmax', () => {
    const s = new Sampler({ temperature: 1, topP: 1, seed: 5 });
    const counts = new Array<number>(5).fill(0);
    const n = 20000;
    for (let i = 0; i < n; i++) {
      const k = s.sample(logits, 0, 5);
      counts[k] = (counts[k] ?? 0) + 1;
    }
    const z = Array.from(logits).reduce((a, l) => a + Math.exp(l), 0);
    Array.from(logits).forEach((l, i) => expect((counts[i] as number) / n).toBeCloseTo(Math.exp(l) / z, 1));
  });

  it('same seed, same choices', () => {
    const draw = (seed: number): number[] => {
      const s = new Sampler({ temperature: 0.9, topP: 0.9, seed });
      return Array.from({ length: 40 }, () => s.sample(logits, 0, 5));
    };
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7)).not.toEqual(draw(8));
  });

  it('rejects out-of-range parameters', () => {
    expect(() => new Sampler({ temperature: -1, topP: 1, seed: 1 })).toThrow(/temperature/);
    expect(() => new Sampler({ temperature: 1, topP: 1.5, seed: 1 })).toThrow(/topP/);
    expect(() => new Sampler({ temperature: 1, topP: 0, seed: 1 })).toThrow(/topP/);
  });
});
