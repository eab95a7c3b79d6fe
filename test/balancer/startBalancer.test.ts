// startBalancer: the kind registry pipelines use, with real upstreams, for both kinds.
import { afterEach, describe, expect, it } from 'vitest';
import { startBalancer, type BalancerHandle, type BalancerKind } from '../../src/balancer/index.js';
import { post, startTestUpstream, type TestUpstream } from '../helpers/testUpstream.js';

let upstreams: TestUpstream[] = [];
let handle: BalancerHandle | null = null;

afterEach(async () => {
  await handle?.stop();
  handle = null;
  await Promise.all(upstreams.map((u) => u.close()));
  upstreams = [];
});

describe('startBalancer', () => {
  it.each(['builtin', 'nginx'] as const)('starts %s in its own process and retries a dead upstream', async (kind) => {
    upstreams = [await startTestUpstream('replica-0'), await startTestUpstream('replica-1')];
    handle = await startBalancer({ kind, upstreams: upstreams.map((u) => ({ name: u.name, url: u.url })), tries: 2, cooldownMs: 1_500 });
    expect(handle.kind).toBe(kind);
    expect(handle.pid).toBeGreaterThan(0);
    expect(handle.pid).not.toBe(process.pid);
    await upstreams[0]!.close();
    for (let i = 0; i < 3; i++) {
      const r = await post(handle.url, { chunks: 0 });
      expect(r.status).toBe(200);
      expect(r.headers['x-llmbench-replica']).toBe('replica-1');
    }
    const stats = await handle.stats();
    expect(stats.kind).toBe(kind);
    expect(stats.retriedRequests).toBe(1);
    expect(stats.upstreams[0]).toMatchObject({ requests: 1, failures: 1 });
  });

  it('lists the available kinds for an unknown one, and refuses a policy nginx cannot do', async () => {
    await expect(startBalancer({ kind: 'haproxy' as BalancerKind, upstreams: [] })).rejects.toThrow('unknown balancer "haproxy"');
    await expect(startBalancer({ kind: 'haproxy' as BalancerKind, upstreams: [] })).rejects.toMatchObject({ hint: 'Available: builtin, nginx (or none).' });
    await expect(startBalancer({ kind: 'nginx', policy: 'round-robin', upstreams: [] })).rejects.toThrow('needs balancer: builtin');
  });
});
