import { describe, expect, it } from 'vitest';
import { ConcurrencyLimiter } from '../../src/runners/load/limiter.js';
import { arrivalTimesMs, planLevels } from '../../src/runners/plan/schedule.js';
import { parseScenario } from '../../src/scenarios/load.js';

const scenario = (load: string) =>
  parseScenario(`name: s\nseed: 7\nload: ${load}\npipelines: [{ name: a, model: { source: tiny } }]\n`, {
    source: 's.yaml',
    baseDir: '/tmp',
  });

function stats(times: number[]) {
  const gaps = times.slice(1).map((t, i) => t - (times[i] as number));
  const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
  const sd = Math.sqrt(gaps.reduce((a, b) => a + (b - mean) ** 2, 0) / gaps.length);
  return { mean, cv: sd / mean };
}

describe('schedules', () => {
  it('constant rate: exact times, bounded by duration and by count', () => {
    const base = { arrival: 'constant' as const, ratePerSec: 4, burstiness: 1, seed: 1 };
    expect(arrivalTimesMs({ ...base, durationMs: 1000, maxRequests: 100 })).toEqual([0, 250, 500, 750]);
    expect(arrivalTimesMs({ ...base, durationMs: 1000, maxRequests: 3 })).toEqual([0, 250, 500]);
  });

  it('poisson: exact times for a seed, identical on every call, different for another seed', () => {
    const o = { arrival: 'poisson' as const, ratePerSec: 10, burstiness: 1, durationMs: 1000, maxRequests: 1000, seed: 42 };
    const a = arrivalTimesMs(o);
    expect(a.map((t) => Number(t.toFixed(3)))).toEqual([0, 77.477, 207.145, 458.535, 601.783, 602.195, 664.344, 716.691, 760.019, 798.215, 812.532, 828.556, 979.265, 993.791]);
    expect(arrivalTimesMs(o)).toEqual(a);
    // The count bound cuts the same sequence short.
    expect(arrivalTimesMs({ ...o, maxRequests: 4 })).toEqual(a.slice(0, 4));
    expect(arrivalTimesMs({ ...o, seed: 43 })).not.toEqual(a);
  });

  it('poisson mean rate within 1% over many arrivals; exponential gaps (CV 1); gamma burstiness raises CV', () => {
    const poisson = arrivalTimesMs({ arrival: 'poisson', ratePerSec: 50, burstiness: 1, durationMs: 2_000_000, maxRequests: 1e6, seed: 3 });
    expect(poisson.length).toBeGreaterThan(90_000);
    const p = stats(poisson);
    expect(Math.abs(1000 / p.mean - 50) / 50).toBeLessThan(0.01);
    expect(Math.abs(p.cv - 1)).toBeLessThan(0.02);
    const bursty = stats(arrivalTimesMs({ arrival: 'poisson', ratePerSec: 50, burstiness: 0.25, durationMs: 2_000_000, maxRequests: 1e6, seed: 3 }));
    expect(Math.abs(1000 / bursty.mean - 50) / 50).toBeLessThan(0.02);
    expect(Math.abs(bursty.cv - 2)).toBeLessThan(0.1);
  });

  it('plans: closed loop, open loop with cap, sweep levels', () => {
    const closed = planLevels(scenario('{ profile: concurrency, concurrency: 3, duration: 2s, requests: 10 }').load, 7);
    expect(closed).toEqual([{ level: null, plan: { kind: 'closed', concurrency: 3, durationMs: 2000, maxRequests: 10 } }]);
    const open = planLevels(scenario('{ profile: constant, rate: 2, duration: 2s, maxConcurrency: 1 }').load, 7);
    expect(open).toEqual([
      { level: null, plan: { kind: 'open', arrivalsMs: [0, 500, 1000, 1500], intendedRatePerSec: 2, maxConcurrency: 1, durationMs: 2000 } },
    ]);
    const sweep = planLevels(scenario('{ profile: sweep, duration: 1s, sweep: { over: rate, levels: [2, 4], arrival: constant } }').load, 7);
    expect(sweep.map((l) => [l.level, l.plan.kind === 'open' ? l.plan.arrivalsMs.length : -1])).toEqual([
      [2, 2],
      [4, 4],
    ]);
    const users = planLevels(scenario('{ profile: sweep, sweep: { over: concurrency, levels: [1, 8] } }').load, 7);
    expect(users.map((l) => (l.plan.kind === 'closed' ? l.plan.concurrency : 0))).toEqual([1, 8]);
  });

  it('the limiter never lets more than its limit through, and serves waiters in order', async () => {
    const lim = new ConcurrencyLimiter(2);
    const order: number[] = [];
    let active = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 10 }, async (_, i) => {
        await lim.acquire();
        active++;
        peak = Math.max(peak, active);
        order.push(i);
        await new Promise((r) => setTimeout(r, 2));
        active--;
        lim.release();
      }),
    );
    expect(peak).toBe(2);
    expect(lim.peak).toBe(2);
    expect(order).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});
