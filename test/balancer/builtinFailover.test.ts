// Retries, passive health and error handling of the built-in balancer, against real upstream servers.
import { afterEach, describe, expect, it } from 'vitest';
import { startBuiltinBalancer, type BalancerHandle, type BuiltinBalancerOptions } from '../../src/balancer/index.js';
import { startTestServer } from '../helpers/testServer.js';
import { post, startTestUpstream, waitFor, type TestUpstream } from '../helpers/testUpstream.js';

let upstreams: TestUpstream[] = [];
let balancer: BalancerHandle | null = null;

afterEach(async () => {
  await balancer?.stop();
  balancer = null;
  await Promise.all(upstreams.map((u) => u.close()));
  upstreams = [];
});

async function setup(opts: Partial<BuiltinBalancerOptions> = {}, n = 2): Promise<BalancerHandle> {
  upstreams = await Promise.all(Array.from({ length: n }, (_, i) => startTestUpstream(`replica-${i}`)));
  balancer = await startBuiltinBalancer({
    policy: 'round-robin',
    upstreams: upstreams.map((u) => ({ name: u.name, url: u.url })),
    ...opts,
  });
  return balancer;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('built-in balancer failover', () => {
  it('retries a killed upstream on the live one and skips the dead one during cooldown', async () => {
    const b = await setup({ cooldownMs: 400 });
    await upstreams[0]?.close(); // replica-0 now refuses connections
    const first = await post(b.url, { chunks: 0 });
    expect(first.status).toBe(200);
    expect(first.headers['x-llmbench-replica']).toBe('replica-1');
    expect(first.headers['x-llmbench-retries']).toBe('1');

    // During the cooldown, round-robin would pick replica-0 every other time; it must be skipped.
    for (let i = 0; i < 4; i++) {
      const r = await post(b.url, { chunks: 0 });
      expect(r.status).toBe(200);
      expect(r.headers['x-llmbench-replica']).toBe('replica-1');
      expect(r.headers['x-llmbench-retries']).toBe('0');
    }
    let stats = await b.stats();
    expect(stats.upstreams[0]).toMatchObject({ name: 'replica-0', requests: 1, failures: 1, healthy: false });
    expect(stats.upstreams[1]).toMatchObject({ name: 'replica-1', requests: 5, failures: 0, retries: 1, healthy: true });
    expect(stats).toMatchObject({ requests: 5, retriedRequests: 1, failedRequests: 0 });

    // After the cooldown the dead one is probed again by a real request, fails, and that request is retried.
    await sleep(450);
    const rs = [await post(b.url, { chunks: 0 }), await post(b.url, { chunks: 0 })];
    expect(rs.every((r) => r.status === 200 && r.headers['x-llmbench-replica'] === 'replica-1')).toBe(true);
    expect(rs.map((r) => r.headers['x-llmbench-retries']).sort()).toEqual(['0', '1']);
    stats = await b.stats();
    expect(stats.upstreams[0]?.failures).toBe(2);
  });

  it('retries 503 on another upstream and passes the replica header through', async () => {
    const b = await setup({ cooldownMs: 10_000 });
    upstreams[0]!.failWith = 503;
    const r = await post(b.url, { chunks: 0, tag: 'replayed-body' });
    expect(r.status).toBe(200);
    expect(r.headers['x-llmbench-replica']).toBe('replica-1');
    expect(r.headers['x-llmbench-retries']).toBe('1');
    // The buffered body was replayed byte for byte to the second upstream.
    expect(upstreams[0]?.bodies).toEqual(upstreams[1]?.bodies);
    expect(upstreams[1]?.bodies[0]).toContain('replayed-body');
  });

  it('passes the last 503 through when tries are exhausted', async () => {
    const b = await setup({ tries: 2 });
    upstreams[0]!.failWith = 503;
    upstreams[1]!.failWith = 503;
    const r = await post(b.url, { chunks: 0 });
    expect(r.status).toBe(503);
    expect(r.headers['x-llmbench-retries']).toBe('1');
    expect(upstreams.map((u) => u.requests)).toEqual([1, 1]);
    expect((await b.stats()).failedRequests).toBe(1);
  });

  it('does not retry with tries = 1', async () => {
    const b = await setup({ tries: 1 });
    upstreams[0]!.failWith = 503;
    const r = await post(b.url, { chunks: 0 });
    expect(r.status).toBe(503);
    expect(r.headers['x-llmbench-retries']).toBe('0');
    expect(upstreams[1]?.requests).toBe(0);
  });

  it('does not retry a 500 but marks the upstream failed', async () => {
    const b = await setup({ cooldownMs: 10_000 });
    upstreams[0]!.failWith = 500;
    const r = await post(b.url, { chunks: 0 });
    expect(r.status).toBe(500);
    expect(upstreams[1]?.requests).toBe(0);
    const next = await post(b.url, { chunks: 0 });
    expect(next.headers['x-llmbench-replica']).toBe('replica-1');
    expect((await b.stats()).upstreams[0]?.healthy).toBe(false);
  });

  it('retries an upstream that does not send headers within upstreamTimeoutMs, and aborts it', async () => {
    const b = await setup({ upstreamTimeoutMs: 200 });
    // replica-0 gets the first request and sits on it for 3 s before headers.
    const t0 = performance.now();
    const pending = post(b.url, { chunks: 0, headerDelayMs: 3_000 });
    const r = await pending;
    const elapsedMs = performance.now() - t0;
    // replica-1 also delays (same body): the balancer gives up on both and answers 504.
    expect(r.status).toBe(504);
    expect(r.headers['x-llmbench-retries']).toBe('1');
    expect(elapsedMs).toBeLessThan(1_500);
    expect(JSON.parse(r.text).error.message).toContain('timeout');
    // Both upstream requests were aborted by the balancer, not left running.
    await waitFor(() => upstreams.every((u) => u.abortedByPeer === 1), 2_000);
    expect(upstreams.map((u) => u.inFlight)).toEqual([0, 0]);
  });

  it('a timed-out upstream is retried on a fast one', async () => {
    upstreams = [await startTestUpstream('slow', { headerDelayMs: 3_000 }), await startTestUpstream('fast')];
    balancer = await startBuiltinBalancer({
      policy: 'round-robin',
      upstreamTimeoutMs: 200,
      upstreams: upstreams.map((u) => ({ name: u.name, url: u.url })),
    });
    const r = await post(balancer.url, { chunks: 0 });
    expect(r.status).toBe(200);
    expect(r.headers['x-llmbench-replica']).toBe('fast');
    expect(r.headers['x-llmbench-retries']).toBe('1');
    expect(r.headersMs).toBeGreaterThanOrEqual(190);
    expect(r.headersMs).toBeLessThan(1_500);
  });

  it('answers 502 with a JSON error when every upstream is down', async () => {
    const b = await setup();
    await Promise.all(upstreams.map((u) => u.close()));
    const r = await post(b.url, { chunks: 0 });
    expect(r.status).toBe(502);
    expect(r.headers['x-llmbench-retries']).toBe('1');
    expect(JSON.parse(r.text).error).toMatchObject({ type: 'balancer_error', code: 502 });
    expect(JSON.parse(r.text).error.message).toContain('ECONNREFUSED');
  });

  it('resends on a fresh connection when a pooled keep-alive socket was closed by the upstream, without counting a failure', async () => {
    // Mimics an upstream whose idle timeout closes a kept-alive connection just as the balancer reuses it.
    const server = await startTestServer((req, res) => {
      const socket = req.socket as typeof req.socket & { served?: number };
      socket.served = (socket.served ?? 0) + 1;
      if (socket.served > 1) {
        socket.destroy();
        return;
      }
      res.end('ok');
    });
    try {
      balancer = await startBuiltinBalancer({ tries: 1, upstreams: [{ name: 'only', url: server.url }] });
      for (let i = 0; i < 3; i++) {
        const r = await post(balancer.url, { chunks: 0 });
        expect(r.text).toBe('ok');
        expect(r.status).toBe(200);
        expect(r.headers['x-llmbench-retries']).toBe('0');
      }
      const stats = await balancer.stats();
      expect(stats.upstreams[0]).toMatchObject({ requests: 3, failures: 0, healthy: true });
    } finally {
      await balancer?.stop();
      balancer = null;
      await server.close();
    }
  });

  it('answers 413 to a body over maxBodyBytes without contacting an upstream', async () => {
    const b = await setup({ maxBodyBytes: 1024 });
    const r = await post(b.url, { chunks: 0, pad: 'y'.repeat(2048) });
    expect(r.status).toBe(413);
    expect(JSON.parse(r.text).error.message).toBe('request body exceeds 1024 bytes');
    expect(upstreams.map((u) => u.requests)).toEqual([0, 0]);
    const ok = await post(b.url, { chunks: 0 });
    expect(ok.status).toBe(200);
  });

  it('serves its own stats at GET /balancer/stats', async () => {
    const b = await setup();
    await post(b.url, { chunks: 0 });
    const res = await fetch(`${b.url}/balancer/stats`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { kind: string; policy: string; requests: number; upstreams: Array<{ name: string; requests: number }> };
    expect(body).toMatchObject({ kind: 'builtin', policy: 'round-robin', requests: 1 });
    expect(body.upstreams.map((u) => [u.name, u.requests])).toEqual([['replica-0', 1], ['replica-1', 0]]);
    // The stats request itself is not forwarded.
    expect(upstreams.map((u) => u.requests)).toEqual([1, 0]);
  });
});
