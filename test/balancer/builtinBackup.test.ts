// Backup upstreams of the built-in balancer: untouched while a primary can answer, used when none can (refused,
// 503, no headers in time), and their answers marked `x-llmbench-fallback: backup`.
import { afterEach, describe, expect, it } from 'vitest';
import { startBuiltinBalancer, type BalancerHandle } from '../../src/balancer/index.js';
import { post, startTestUpstream, type TestUpstream } from '../helpers/testUpstream.js';

let upstreams: TestUpstream[] = [];
let balancer: BalancerHandle | null = null;

afterEach(async () => {
  await balancer?.stop();
  balancer = null;
  await Promise.all(upstreams.map((u) => u.close()));
  upstreams = [];
});

async function setup(upstreamTimeoutMs = 10_000, primaryHeaderDelayMs = 0): Promise<{ b: BalancerHandle; primary: TestUpstream; backup: TestUpstream }> {
  const primary = await startTestUpstream('replica-0', { headerDelayMs: primaryHeaderDelayMs });
  const backup = await startTestUpstream('backup-0');
  upstreams = [primary, backup];
  balancer = await startBuiltinBalancer({
    policy: 'least-connections',
    tries: 2,
    upstreamTimeoutMs,
    cooldownMs: 60_000,
    upstreams: [
      { name: primary.name, url: primary.url },
      { name: backup.name, url: backup.url, backup: true },
    ],
  });
  return { b: balancer, primary, backup };
}

describe('built-in balancer backup upstreams', () => {
  it('sends nothing to the backup while the primary answers, then everything it cannot take', async () => {
    const { b, primary, backup } = await setup();
    for (let i = 0; i < 3; i++) {
      const r = await post(b.url, { chunks: 1 });
      expect(r.status).toBe(200);
      expect(r.headers['x-llmbench-replica']).toBe('replica-0');
      expect(r.headers['x-llmbench-fallback']).toBeUndefined();
    }
    expect(backup.requests).toBe(0);

    primary.failWith = 503;
    const r = await post(b.url, { chunks: 1 });
    expect(r.status).toBe(200);
    expect(r.headers['x-llmbench-replica']).toBe('backup-0');
    expect(r.headers['x-llmbench-fallback']).toBe('backup');
    expect(r.headers['x-llmbench-retries']).toBe('1');
    // The failed primary is in cooldown: the next request goes straight to the backup.
    const next = await post(b.url, { chunks: 1 });
    expect([next.headers['x-llmbench-replica'], next.headers['x-llmbench-retries']]).toEqual(['backup-0', '0']);
    const stats = await b.stats();
    expect(stats.upstreams.map((u) => [u.name, u.requests, u.failures])).toEqual([
      ['replica-0', 4, 1],
      ['backup-0', 2, 0],
    ]);
    expect(stats.failedRequests).toBe(0);
  });

  it('a primary that sends no headers within the upstream timeout is abandoned for the backup', async () => {
    const { b, backup } = await setup(150, 2_000);
    const r = await post(b.url, { chunks: 1 });
    expect(r.status).toBe(200);
    expect(r.headers['x-llmbench-fallback']).toBe('backup');
    expect(backup.requests).toBe(1);
  });

  it('needs at least one primary', async () => {
    await expect(startBuiltinBalancer({ upstreams: [{ name: 'b', url: 'http://127.0.0.1:9', backup: true }] })).rejects.toThrow('at least one upstream that is not a backup is required');
  });
});
