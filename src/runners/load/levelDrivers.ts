// Load drivers, keyed by `load.driver`. A driver runs one planned level against a deployment and returns what
// it measured. Adding one is a file exporting a LevelDriver plus one line in LEVEL_DRIVERS.
import { performance } from 'node:perf_hooks';
import type { LoadSpec } from '../../scenarios/types.js';
import { HdrHistogram } from '../../stats/hdrHistogram.js';
import { SampleColumns } from '../../stats/sampleColumns.js';
import type { AutocannonStats, HdrHistogramData, Sample } from '../../types.js';
import { runAutocannon } from './autocannonDriver.js';
import { drive, type DriveOptions } from './driver.js';
import type { PlannedLevel } from '../plan/schedule.js';
import { shardPlan, type ShardSpec } from '../plan/shard.js';

/** What one level measured. */
export interface LevelRecord {
  level: number | null;
  intendedRate: number | null;
  /** The level's requests (compacted, as stored), as typed columns: no object per request is kept. */
  requests: SampleColumns;
  /** Open-loop dispatcher lag (us); null for closed loops and autocannon. */
  dispatchLag: HdrHistogramData | null;
  clientCpuPct: number;
  autocannon: AutocannonStats | null;
  /** Gaps of the level's measured ok requests (the samples keep only count, mean and max). */
  itlHistogram: HdrHistogramData | null;
}

/** What a driver gets for one level. */
export interface LevelInput {
  planned: PlannedLevel;
  /** Send options shared by every level; `firstRequest` is this level's first workload ordinal. */
  drive: DriveOptions;
  /** Every request body of the workload, in order (drivers that replay a fixed list use these). */
  bodies: string[];
  baseUrl: string;
  apiKey: string | null;
  load: LoadSpec;
  repeat: number;
  shard: ShardSpec | null;
  /** Offered rate of this generator (a shard's share), or null for closed loops. */
  intendedRate: number | null;
  /** Keeps a finished sample (compacted, logged); returns the copy to hold. */
  keep(s: Sample): Sample;
}

export interface LevelDriver {
  /** Whether responses are read as streams (per-token timing) or whole. */
  streams: boolean;
  /** Runs the level; `consumed` is how many workload ordinals it used. */
  run(input: LevelInput): Promise<{ record: LevelRecord; consumed: number }>;
}

const streamingDriver: LevelDriver = {
  streams: true,
  async run(input) {
    const { planned, shard } = input;
    const { level, plan } = planned;
    const itl = new HdrHistogram();
    const requests = new SampleColumns();
    const opts: DriveOptions = {
      ...input.drive,
      onSample: (s) => {
        s.run = input.repeat;
        if (!s.warmup && s.status === 'ok') for (const g of s.itlMs) itl.record(g * 1000);
        requests.push(input.keep(s));
      },
    };
    let r;
    let consumed: number;
    if (shard && shard.count > 1) {
      // This shard's requests keep the workload items they have in the unsharded level.
      const sharded = shardPlan(plan, shard);
      const levelStart = opts.firstRequest;
      r = await drive(sharded.plan, { ...opts, request: (j) => opts.request(levelStart + sharded.positions(j)), firstRequest: 0 });
      consumed = plan.kind === 'open' ? plan.arrivalsMs.length : r.consumed * shard.count;
    } else {
      r = await drive(plan, opts);
      consumed = r.consumed;
    }
    const record: LevelRecord = {
      level,
      intendedRate: input.intendedRate,
      requests,
      dispatchLag: plan.kind === 'open' ? r.dispatchLag.toData() : null,
      clientCpuPct: r.clientCpuPct,
      autocannon: null,
      itlHistogram: itl.toData(),
    };
    return { record, consumed };
  },
};

const autocannonDriver: LevelDriver = {
  // autocannon reads whole responses: it always gets the non-streamed form of the same requests.
  streams: false,
  async run(input) {
    const { planned, load } = input;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    input.drive.onStart?.(t0);
    const stats = await runAutocannon({
      baseUrl: input.baseUrl,
      path: input.drive.path,
      bodies: input.bodies,
      apiKey: input.apiKey,
      plan: planned.plan,
      timeoutMs: load.requestTimeoutMs,
      signal: input.drive.signal,
    });
    const cpu = process.cpuUsage(cpu0);
    const wallMs = performance.now() - t0;
    const record: LevelRecord = {
      level: planned.level,
      intendedRate: input.intendedRate,
      requests: new SampleColumns(16),
      dispatchLag: null,
      clientCpuPct: ((cpu.user + cpu.system) / 1000 / wallMs) * 100,
      autocannon: stats,
      itlHistogram: null,
    };
    return { record, consumed: 0 };
  },
};

export const LEVEL_DRIVERS: Record<LoadSpec['driver'], LevelDriver> = {
  streaming: streamingDriver,
  autocannon: autocannonDriver,
};
