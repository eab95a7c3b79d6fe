// Distribution under each policy of the built-in balancer, with real upstream servers on 127.0.0.1.
import { afterEach, describe, expect, it } from 'vitest';
import { startBuiltinBalancer, type BalancerHandle } from '../../src/balancer/index.js';
import type { BalancerPolicy } from '../../src/types.js';
import { post, startTestUpstream, waitFor, type TestUpstream } from '../helpers/testUpstream.js';

let upstreams: TestUpstream[] = [];
let balancer: BalancerHandle | null = null;

afterEach(async () => {
  await balancer?.stop();
  balancer = null;
  await Promise.all(upstreams.map((u) => u.close()));
  upstreams = [];
});

async function setup(policy: BalancerPolicy, n: number, seed = 1): Promise<BalancerHandle> {
  upstreams = await Promise.all(Array.from({ length: n }, (_, i) => startTestUpstream(`replica-${i}`)));
  balancer = await startBuiltinBalancer({ policy, seed, upstreams: upstreams.map((u) => ({ name: u.name, url: u.url })) });
  return balancer;
}

async function replicasOfSequential(url: string, count: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const r = await post(url, { chunks: 0 });
    expect(r.status).toBe(200);
    out.push(String(r.headers['x-llmbench-replica']));
  }
  return out;
}

/** Opens a slow streaming request through the balancer and waits until an upstream holds it. */
async function holdSlowRequest(url: string): Promise<{ replica: Promise<string>; holder: TestUpstream }> {
  const before = upstreams.map((u) => u.inFlight);
  const replica = post(url, { chunks: 2, chunkDelayMs: 600 }).then((r) => String(r.headers['x-llmbench-replica']));
  await waitFor(() => upstreams.some((u, i) => u.inFlight > (before[i] ?? 0)));
  const holder = upstreams.find((u, i) => u.inFlight > (before[i] ?? 0));
  if (!holder) throw new Error('no upstream holds the slow request');
  return { replica, holder };
}

describe('built-in balancer policies', () => {
  it('round-robin alternates between upstreams in order', async () => {
    const b = await setup('round-robin', 2);
    expect(await replicasOfSequential(b.url, 6)).toEqual(['replica-0', 'replica-1', 'replica-0', 'replica-1', 'replica-0', 'replica-1']);
    const stats = await b.stats();
    expect(stats.upstreams.map((u) => u.requests)).toEqual([3, 3]);
    expect(stats.requests).toBe(6);
  });

  it('round-robin keeps alternating even when one upstream is busy', async () => {
    const b = await setup('round-robin', 2);
    const slow = await holdSlowRequest(b.url);
    const fast = await replicasOfSequential(b.url, 4);
    // The busy one still gets every other request: round-robin ignores load.
    expect(fast.filter((r) => r === slow.holder.name)).toHaveLength(2);
    await slow.replica;
  });

  it('least-connections sends new requests to the upstream without slow in-flight requests', async () => {
    const b = await setup('least-connections', 2);
    const slow = await holdSlowRequest(b.url);
    const other = upstreams.find((u) => u !== slow.holder)?.name;
    expect(await replicasOfSequential(b.url, 4)).toEqual([other, other, other, other]);
    expect(await slow.replica).toBe(slow.holder.name);
    const stats = await b.stats();
    expect(stats.upstreams.find((u) => u.name === slow.holder.name)?.requests).toBe(1);
    expect(stats.upstreams.every((u) => u.inFlight === 0)).toBe(true);
  });

  it('least-connections breaks ties round-robin when idle', async () => {
    const b = await setup('least-connections', 3);
    expect(await replicasOfSequential(b.url, 6)).toEqual(['replica-0', 'replica-1', 'replica-2', 'replica-0', 'replica-1', 'replica-2']);
  });

  it('least-connections spreads concurrent slow requests evenly', async () => {
    const b = await setup('least-connections', 2);
    const results = await Promise.all(Array.from({ length: 8 }, () => post(b.url, { chunks: 2, chunkDelayMs: 150 })));
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect(upstreams.map((u) => u.requests)).toEqual([4, 4]);
  });

  it('power-of-two-choices spreads idle requests, reproducibly for a seed', async () => {
    const b = await setup('power-of-two-choices', 3, 42);
    const first = await replicasOfSequential(b.url, 30);
    for (const u of upstreams) expect(first.filter((r) => r === u.name).length).toBeGreaterThanOrEqual(4);
    await b.stop();
    balancer = await startBuiltinBalancer({ policy: 'power-of-two-choices', seed: 42, upstreams: upstreams.map((u) => ({ name: u.name, url: u.url })) });
    expect(await replicasOfSequential(balancer.url, 30)).toEqual(first);
  });

  it('power-of-two-choices avoids the loaded upstream when it compares it', async () => {
    const b = await setup('power-of-two-choices', 2, 7);
    const slow = await holdSlowRequest(b.url);
    const other = upstreams.find((u) => u !== slow.holder)?.name;
    // With two upstreams both are always compared, so the idle one wins every time.
    expect(await replicasOfSequential(b.url, 5)).toEqual([other, other, other, other, other]);
    await slow.replica;
  });
});
