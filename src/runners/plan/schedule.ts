// Load profiles as pure functions: (profile, seed) -> when each request should be sent. The code that sends
// requests (driver.ts) only follows a plan; it never decides timing itself.
import type { LoadSpec } from '../../scenarios/types.js';
import { deriveSeed, Rng } from '../../stats/rng.js';

/** Upper bound on requests one level may schedule, whatever the duration says (memory stays bounded). */
export const MAX_REQUESTS_PER_LEVEL = 1_000_000;

export interface ArrivalOptions {
  arrival: 'constant' | 'poisson';
  ratePerSec: number;
  /** Gamma shape of inter-arrival gaps for poisson (1 = exponential). */
  burstiness: number;
  durationMs: number;
  maxRequests: number;
  seed: number;
}

/** Send times (ms from the start) of an open-loop schedule: t0 = 0, then gaps until duration or count runs out. */
export function arrivalTimesMs(o: ArrivalOptions): number[] {
  const meanGapMs = 1000 / o.ratePerSec;
  const limit = Math.min(o.maxRequests, MAX_REQUESTS_PER_LEVEL);
  const times: number[] = [];
  if (o.arrival === 'constant') {
    for (let i = 0; i < limit; i++) {
      const t = i * meanGapMs;
      if (t >= o.durationMs) break;
      times.push(t);
    }
    return times;
  }
  const rng = new Rng(deriveSeed(o.seed, 'arrivals'));
  let t = 0;
  while (times.length < limit && t < o.durationMs) {
    times.push(t);
    // Gamma(k, mean/k) keeps the mean gap at 1/rate while k < 1 makes arrivals burstier (CV = 1/sqrt(k)).
    t += o.burstiness === 1 ? rng.nextExponential(meanGapMs) : rng.nextGamma(o.burstiness, meanGapMs / o.burstiness);
  }
  return times;
}

/** What a driver runs for one load level. */
export type DrivePlan =
  | { kind: 'closed'; concurrency: number; durationMs: number; maxRequests: number }
  | {
      kind: 'open';
      arrivalsMs: number[];
      intendedRatePerSec: number;
      maxConcurrency: number | null;
      durationMs: number;
    };

/** One level of a run: the sweep value (null when not sweeping) and its plan. */
export interface PlannedLevel {
  level: number | null;
  plan: DrivePlan;
}

function openPlan(load: LoadSpec, arrival: 'constant' | 'poisson', rate: number, seed: number): DrivePlan {
  const maxRequests = load.requests ?? MAX_REQUESTS_PER_LEVEL;
  return {
    kind: 'open',
    arrivalsMs: arrivalTimesMs({ arrival, ratePerSec: rate, burstiness: load.burstiness, durationMs: load.durationMs, maxRequests, seed }),
    intendedRatePerSec: rate,
    maxConcurrency: load.maxConcurrency,
    durationMs: load.durationMs,
  };
}

function closedPlan(load: LoadSpec, concurrency: number): DrivePlan {
  return {
    kind: 'closed',
    concurrency,
    durationMs: load.durationMs,
    maxRequests: Math.min(load.requests ?? MAX_REQUESTS_PER_LEVEL, MAX_REQUESTS_PER_LEVEL),
  };
}

/** The levels a load spec runs: one, or one per sweep level (each with the load's duration and count bounds). */
export function planLevels(load: LoadSpec, seed: number): PlannedLevel[] {
  switch (load.profile) {
    case 'concurrency':
      return [{ level: null, plan: closedPlan(load, load.concurrency) }];
    case 'constant':
    case 'poisson':
      return [{ level: null, plan: openPlan(load, load.profile, load.rate as number, seed) }];
    case 'sweep': {
      const sweep = load.sweep;
      if (!sweep) return [];
      return sweep.levels.map((level, i) => ({
        level,
        plan:
          sweep.over === 'rate'
            ? openPlan(load, sweep.arrival, level, deriveSeed(seed, `level-${i}`))
            : closedPlan(load, Math.round(level)),
      }));
    }
  }
}
