// Streaming through the built-in balancer: chunks pass as they are produced, client hang-ups reach the
// upstream, and an upstream killed mid-stream breaks only the streams it was serving.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { startBuiltinBalancer, type BalancerHandle } from '../../src/balancer/index.js';
import { eventDelaysMs, post, startTestUpstream, waitFor, type TestUpstream } from '../helpers/testUpstream.js';

let upstreams: TestUpstream[] = [];
let children: ChildProcess[] = [];
let balancer: BalancerHandle | null = null;

afterEach(async () => {
  await balancer?.stop();
  balancer = null;
  await Promise.all(upstreams.map((u) => u.close()));
  upstreams = [];
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  children = [];
});

function spawnUpstreamProcess(name: string): Promise<{ child: ChildProcess; url: string }> {
  const script = fileURLToPath(new URL('../helpers/sseServerProcess.mjs', import.meta.url));
  const child = spawn(process.execPath, [script, name], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`upstream process exited early (${String(code)})`)));
    child.stdout?.setEncoding('utf8');
    child.stdout?.once('data', (line: string) => {
      const port = /port (\d+)/.exec(line)?.[1];
      if (port) resolve({ child, url: `http://127.0.0.1:${port}` });
      else reject(new Error(`unexpected output ${line}`));
    });
  });
}

describe('built-in balancer streaming', () => {
  it('passes SSE chunks through as they are produced, not buffered', async () => {
    upstreams = [await startTestUpstream('replica-0')];
    balancer = await startBuiltinBalancer({ upstreams: [{ name: 'replica-0', url: upstreams[0]!.url }] });
    const chunkDelayMs = 150;
    const r = await post(balancer.url, { chunks: 5, chunkDelayMs });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/event-stream');
    expect(r.headers['x-llmbench-replica']).toBe('replica-0');
    expect(r.text.match(/^data: /gm)).toHaveLength(6);
    // Each event must reach the client right after the upstream wrote it, far sooner than the next one is
    // produced (150 ms): a buffering proxy would hold early events until later ones or the end arrived.
    const delays = eventDelaysMs(r);
    expect(delays).toHaveLength(5);
    for (const d of delays) expect(d).toBeLessThan(chunkDelayMs / 2);
    // And they arrived spread out over the stream, not in one burst.
    expect(r.chunks.length).toBeGreaterThanOrEqual(5);
    expect(r.chunks.at(-1)!.atMs - r.chunks[0]!.atMs).toBeGreaterThan(3 * chunkDelayMs);
  });

  it('a client hang-up aborts the upstream request and frees its slot', async () => {
    upstreams = [await startTestUpstream('replica-0')];
    balancer = await startBuiltinBalancer({ upstreams: [{ name: 'replica-0', url: upstreams[0]!.url }] });
    const ctl = new AbortController();
    const pending = post(balancer.url, { chunks: 50, chunkDelayMs: 100 }, { signal: ctl.signal }).catch((e: Error) => e);
    await waitFor(() => upstreams[0]!.inFlight === 1);
    await new Promise((r) => setTimeout(r, 150));
    ctl.abort();
    await pending;
    await waitFor(() => upstreams[0]!.inFlight === 0, 2_000);
    expect(upstreams[0]!.abortedByPeer).toBe(1);
    const stats = await balancer.stats();
    expect(stats.upstreams[0]).toMatchObject({ inFlight: 0, failures: 0, healthy: true });
    expect(stats.failedRequests).toBe(0);
  });

  it('an upstream killed mid-stream cuts its streams, is skipped after, and the live one keeps serving', async () => {
    const a = await spawnUpstreamProcess('replica-0');
    const b = await spawnUpstreamProcess('replica-1');
    balancer = await startBuiltinBalancer({
      policy: 'round-robin',
      cooldownMs: 5_000,
      upstreams: [
        { name: 'replica-0', url: a.url },
        { name: 'replica-1', url: b.url },
      ],
    });
    const url = balancer.url;
    const streams = [post(url, { chunks: 10, chunkDelayMs: 50 }), post(url, { chunks: 10, chunkDelayMs: 50 })];
    await new Promise((r) => setTimeout(r, 150));
    a.child.kill('SIGKILL');
    const [onA, onB] = await Promise.all(streams);
    // Headers were already sent, so the stream on the killed replica cannot be retried: it is cut.
    expect(onA?.headers['x-llmbench-replica']).toBe('replica-0');
    expect(onA?.error).toBe('response cut');
    expect(onB?.error).toBeNull();
    expect(onB?.text).toContain('[DONE]');

    for (let i = 0; i < 3; i++) {
      const r = await post(url, { chunks: 2, chunkDelayMs: 10 });
      expect(r.status).toBe(200);
      expect(r.headers['x-llmbench-replica']).toBe('replica-1');
      expect(r.headers['x-llmbench-retries']).toBe('0');
    }
    const stats = await balancer.stats();
    expect(stats.upstreams[0]).toMatchObject({ requests: 1, failures: 1, healthy: false, inFlight: 0 });
    expect(stats.failedRequests).toBe(1);
  });
});
