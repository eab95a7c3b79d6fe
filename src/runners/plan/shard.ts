// Several load generators, one workload: shard I of N takes every N-th request of each level's plan (positions
// I, I+N, I+2N, ...), keeping their scheduled times, so N shards together replay the unsharded schedule at the
// same total rate. Closed loops split the users instead. Pure: (plan, shard) -> the shard's plan.
import { UsageError } from '../../errors.js';
import type { DrivePlan } from './schedule.js';

/** Which share of the load this process drives. */
export interface ShardSpec {
  index: number;
  count: number;
}

/**
 * Parses `--shard I/N`, or `--shard N` with I from $JOB_COMPLETION_INDEX (what a Kubernetes Indexed Job sets).
 */
export function parseShard(value: string, env: NodeJS.ProcessEnv = process.env): ShardSpec {
  const full = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(value);
  const countOnly = /^\s*(\d+)\s*$/.exec(value);
  let index: number;
  let count: number;
  if (full) {
    index = Number(full[1]);
    count = Number(full[2]);
  } else if (countOnly) {
    count = Number(countOnly[1]);
    const fromEnv = env['JOB_COMPLETION_INDEX'];
    if (fromEnv === undefined || !/^\d+$/.test(fromEnv)) {
      throw new UsageError(`--shard ${value}: no shard index given and JOB_COMPLETION_INDEX is ${fromEnv === undefined ? 'not set' : `"${fromEnv}"`}`, 'Pass --shard I/N (e.g. --shard 0/4), or run inside a Kubernetes Indexed Job.');
    }
    index = Number(fromEnv);
  } else {
    throw new UsageError(`--shard: expected I/N (e.g. 0/4) or N with JOB_COMPLETION_INDEX set, got "${value}"`);
  }
  if (count < 1 || count > 1024) throw new UsageError(`--shard ${value}: the shard count must be 1 to 1024, got ${count}`);
  if (index >= count) throw new UsageError(`--shard ${value}: the index must be below the count (0 to ${count - 1}), got ${index}`);
  return { index, count };
}

/** Share of `total` that shard i of n gets when `total` is dealt round-robin. */
export function shareOf(total: number, s: ShardSpec): number {
  return Math.floor(total / s.count) + (s.index < total % s.count ? 1 : 0);
}

/** A shard's plan, and for each of its requests the position it has in the unsharded level. */
export interface ShardedPlan {
  plan: DrivePlan;
  positions: (k: number) => number;
}

/** The part of one level's plan that shard `s` drives. */
export function shardPlan(plan: DrivePlan, s: ShardSpec): ShardedPlan {
  if (s.count === 1) return { plan, positions: (k) => k };
  if (plan.kind === 'open') {
    const arrivalsMs: number[] = [];
    for (let j = s.index; j < plan.arrivalsMs.length; j += s.count) arrivalsMs.push(plan.arrivalsMs[j] as number);
    return {
      plan: {
        ...plan,
        arrivalsMs,
        intendedRatePerSec: plan.intendedRatePerSec / s.count,
        maxConcurrency: plan.maxConcurrency === null ? null : Math.max(1, shareOf(plan.maxConcurrency, s)),
      },
      positions: (k) => s.index + k * s.count,
    };
  }
  const concurrency = shareOf(plan.concurrency, s);
  if (concurrency === 0) {
    throw new UsageError(`shard ${s.index}/${s.count}: a closed loop of ${plan.concurrency} users leaves this shard none`, 'Use at most as many shards as load.concurrency.');
  }
  return { plan: { ...plan, concurrency, maxRequests: shareOf(plan.maxRequests, s) }, positions: (k) => s.index + k * s.count };
}
