// The nginx driver against the system nginx and real upstream servers on 127.0.0.1.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename } from 'node:path';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { LlmbenchError } from '../../src/errors.js';
import { startNginx, type NginxHandle } from '../../src/balancer/index.js';
import { eventDelaysMs, post, startTestUpstream, waitFor, type TestUpstream } from '../helpers/testUpstream.js';

let upstreams: TestUpstream[] = [];
let nginx: NginxHandle | null = null;

afterEach(async () => {
  await nginx?.stop();
  nginx = null;
  await Promise.all(upstreams.map((u) => u.close()));
  upstreams = [];
});

async function setup(n = 2, opts: { tries?: number } = {}): Promise<NginxHandle> {
  upstreams = await Promise.all(Array.from({ length: n }, (_, i) => startTestUpstream(`replica-${i}`)));
  nginx = await startNginx({ upstreams: upstreams.map((u) => ({ name: u.name, url: u.url })), shutdownTimeoutSeconds: 1, ...opts });
  return nginx;
}

/** Pids of processes whose command line mentions `text` (pgrep -f), excluding pgrep itself. */
function pgrep(text: string): number[] {
  try {
    return execFileSync('pgrep', ['-f', text], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

/**
 * nginx processes of this suite's kind whose run prefix is gone: leaked by a failed start. Other test files run
 * their own nginx in parallel, so a live process with an existing prefix is not a leak.
 */
function orphanedNginx(): number[] {
  return pgrep('llmbench-nginx-').filter((pid) => {
    if (pid === process.pid) return false;
    try {
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      const prefix = args[args.indexOf('-p') + 1];
      return prefix !== undefined && args.includes('-p') && !existsSync(prefix);
    } catch {
      return false; // already gone
    }
  });
}

/** nginx prefixes in use by a running nginx (any test file's). */
function livePrefixes(): Set<string> {
  const live = new Set<string>();
  for (const pid of pgrep('llmbench-nginx-')) {
    try {
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (args.includes('-p')) live.add(basename(args[args.indexOf('-p') + 1] ?? ''));
    } catch {
      // gone
    }
  }
  return live;
}

/** Run prefixes startNginx created that still exist. */
function runPrefixes(): string[] {
  return readdirSync(tmpdir()).filter((d) => d.startsWith('llmbench-nginx-') && !d.startsWith('llmbench-nginx-test-'));
}

const addrOf = (u: TestUpstream): string => `127.0.0.1:${u.port}`;

describe('startNginx', () => {
  it('balances across two upstreams with least_conn and passes replica headers through', async () => {
    const n = await setup();
    expect(n.kind).toBe('nginx');
    expect(n.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(n.version).toMatch(/^\d+\.\d+\.\d+$/);
    const results = await Promise.all(Array.from({ length: 6 }, () => post(n.url, { chunks: 2, chunkDelayMs: 100 })));
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect(upstreams.map((u) => u.requests)).toEqual([3, 3]);
    for (const r of results) {
      const replica = String(r.headers['x-llmbench-replica']);
      const served = upstreams.find((u) => u.name === replica);
      expect(served).toBeDefined();
      expect(r.headers['x-llmbench-upstream-addr']).toBe(addrOf(served!));
    }
  });

  it('least_conn sends new requests away from the upstream holding a slow stream', async () => {
    const n = await setup();
    const slow = post(n.url, { chunks: 2, chunkDelayMs: 700 });
    await waitFor(() => upstreams.some((u) => u.inFlight === 1));
    const busy = upstreams.find((u) => u.inFlight === 1)!;
    const idle = upstreams.find((u) => u !== busy)!;
    for (let i = 0; i < 4; i++) {
      const r = await post(n.url, { chunks: 0 });
      expect(r.headers['x-llmbench-replica']).toBe(idle.name);
    }
    expect((await slow).headers['x-llmbench-replica']).toBe(busy.name);
  });

  it('retries a killed upstream on the live one: 200, and x-llmbench-upstream-addr lists both', async () => {
    const n = await setup();
    const [dead, live] = [upstreams[0]!, upstreams[1]!];
    await dead.close();
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await post(n.url, { chunks: 0 }));
    expect(results.every((r) => r.status === 200 && r.headers['x-llmbench-replica'] === live.name)).toBe(true);
    const retried = results.filter((r) => String(r.headers['x-llmbench-upstream-addr']).includes(','));
    // The dead one is tried once, then skipped for fail_timeout.
    expect(retried).toHaveLength(1);
    expect(retried[0]!.headers['x-llmbench-upstream-addr']).toBe(`${addrOf(dead)}, ${addrOf(live)}`);
    const stats = await n.stats();
    expect(stats).toMatchObject({ kind: 'nginx', requests: 4, retriedRequests: 1, failedRequests: 0 });
    expect(stats.upstreams.map((u) => [u.name, u.requests, u.failures, u.retries])).toEqual([
      ['replica-0', 1, 1, 0],
      ['replica-1', 4, 0, 1],
    ]);
  });

  it('retries a POST answered with 503 (non_idempotent) and gives up after tries', async () => {
    const n = await setup(2, { tries: 2 });
    upstreams[0]!.failWith = 503;
    upstreams[1]!.failWith = 503;
    const bad = await post(n.url, { chunks: 0 });
    // Both tried once (tries = 2), the last answer passed through.
    expect(bad.status).toBe(503);
    expect(String(bad.headers['x-llmbench-upstream-addr']).split(', ').sort()).toEqual(upstreams.map(addrOf).sort());
    expect(upstreams.map((u) => u.requests)).toEqual([1, 1]);
  });

  it('retries a POST answered with 503 on the other upstream, replaying the body', async () => {
    const n = await setup(2);
    upstreams[0]!.failWith = 503;
    const results = [await post(n.url, { chunks: 0, tag: 'a' }), await post(n.url, { chunks: 0, tag: 'b' })];
    expect(results.map((r) => r.status)).toEqual([200, 200]);
    const retried = results.filter((r) => String(r.headers['x-llmbench-upstream-addr']).includes(','));
    expect(retried).toHaveLength(1);
    expect(upstreams[0]!.bodies).toHaveLength(1);
    expect(upstreams[1]!.bodies).toContain(upstreams[0]!.bodies[0]);
  });

  it('forwards a request body larger than its memory buffer (spooled to the prefix temp folder)', async () => {
    const n = await setup(1);
    const big = 'x'.repeat(2 * 1024 * 1024);
    const r = await post(n.url, { chunks: 0, big });
    expect(r.status).toBe(200);
    expect(upstreams[0]!.bodies[0]?.length).toBe(JSON.stringify({ chunks: 0, big }).length);
  });

  it('streams SSE chunks through without buffering', async () => {
    const n = await setup(1);
    const r = await post(n.url, { chunks: 4, chunkDelayMs: 150 });
    expect(r.status).toBe(200);
    const delays = eventDelaysMs(r);
    expect(delays).toHaveLength(4);
    for (const d of delays) expect(d).toBeLessThan(75);
    expect(r.chunks.at(-1)!.atMs - r.chunks[0]!.atMs).toBeGreaterThan(2 * 150);
  });

  it('stop() leaves no nginx process and removes the prefix, even with a stream in flight', async () => {
    const n = await setup(1);
    const master = n.pid;
    const workers = n.workerPids();
    expect(workers.length).toBe(1);
    expect(pgrep(n.prefix)).toContain(master);
    const inflight = post(n.url, { chunks: 100, chunkDelayMs: 50 });
    await waitFor(() => upstreams[0]!.inFlight === 1);
    await n.stop();
    await inflight;
    expect(pgrep(n.prefix)).toEqual([]);
    for (const pid of [master, ...workers]) expect(existsSync(`/proc/${pid}`)).toBe(false);
    expect(existsSync(n.prefix)).toBe(false);
    // Stats survive stop (read before the prefix is removed).
    expect((await n.stats()).kind).toBe('nginx');
    nginx = null;
  });

  it('refuses a fixed port that is taken, and cleans up', async () => {
    upstreams = [await startTestUpstream('replica-0')];
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as net.AddressInfo).port;
    const prefixesBefore = runPrefixes();
    try {
      await expect(startNginx({ port, upstreams: [{ name: 'replica-0', url: upstreams[0]!.url }] })).rejects.toThrow(/address already in use/);
    } finally {
      blocker.close();
    }
    expect(orphanedNginx()).toEqual([]);
    // A prefix left behind by the failed start would be new and not used by any running nginx.
    const live = livePrefixes();
    expect(runPrefixes().filter((d) => !prefixesBefore.includes(d) && !live.has(d))).toEqual([]);
  });

  it('escalates to SIGTERM when the graceful stop overruns its bound, and still reaps everything', async () => {
    upstreams = [await startTestUpstream('replica-0')];
    nginx = await startNginx({ upstreams: [{ name: 'replica-0', url: upstreams[0]!.url }], shutdownTimeoutSeconds: 30, stopTimeoutMs: 200 });
    const n = nginx;
    const procs = [n.pid, ...n.workerPids()];
    const inflight = post(n.url, { chunks: 200, chunkDelayMs: 50 });
    await waitFor(() => upstreams[0]!.inFlight === 1);
    const t0 = performance.now();
    await n.stop();
    expect(performance.now() - t0).toBeLessThan(3_000);
    expect((await inflight).error).toBe('response cut');
    for (const pid of procs) expect(existsSync(`/proc/${pid}`)).toBe(false);
    expect(existsSync(n.prefix)).toBe(false);
    nginx = null;
  });

  it('says how to install nginx when it is missing', async () => {
    const err = await startNginx({ nginxBinary: '/nonexistent/sbin/nginx', upstreams: [{ name: 'a', url: 'http://127.0.0.1:8001' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LlmbenchError);
    const e = err as LlmbenchError;
    expect(e.code).toBe('NGINX');
    expect(e.message).toContain('nginx is not installed');
    expect(e.hint).toContain('apt-get install -y nginx');
    expect(e.hint).toContain('balancer: builtin');
  });
});
