// The balancer as a child process (what pipelines use) and the `llmbench balance` command contract.
// Needs the compiled CLI (dist/), which `npm test` builds first.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/program.js';
import { spawnBuiltinBalancer, type BalancerHandle } from '../../src/balancer/index.js';
import { post, startTestUpstream, type TestUpstream } from '../helpers/testUpstream.js';

const bin = fileURLToPath(new URL('../../bin/llmbench.js', import.meta.url));
let upstreams: TestUpstream[] = [];
let balancer: BalancerHandle | null = null;

afterEach(async () => {
  await balancer?.stop();
  balancer = null;
  await Promise.all(upstreams.map((u) => u.close()));
  upstreams = [];
});

/** True while `pid` exists and is not a zombie. */
function alive(pid: number): boolean {
  if (!existsSync(`/proc/${pid}`)) return false;
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

describe('spawnBuiltinBalancer', () => {
  it('runs the balancer in its own process, forwards, reports stats, and exits on stop', async () => {
    upstreams = [await startTestUpstream('replica-0'), await startTestUpstream('replica-1')];
    balancer = await spawnBuiltinBalancer({ policy: 'round-robin', upstreams: upstreams.map((u) => ({ name: u.name, url: u.url })) });
    const pid = balancer.pid;
    expect(pid).not.toBe(process.pid);
    expect(typeof pid).toBe('number');
    expect(balancer.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    const r = await post(balancer.url, { chunks: 3, chunkDelayMs: 20 });
    expect(r.status).toBe(200);
    expect(r.headers['x-llmbench-retries']).toBe('0');
    expect(r.text).toContain('[DONE]');
    await post(balancer.url, { chunks: 0 });
    const stats = await balancer.stats();
    expect(stats).toMatchObject({ kind: 'builtin', policy: 'round-robin', requests: 2 });
    expect(stats.upstreams.map((u) => u.requests)).toEqual([1, 1]);

    await balancer.stop();
    expect(alive(pid!)).toBe(false);
    await expect(post(balancer.url, { chunks: 0 })).rejects.toThrow(/ECONNREFUSED/);
  });

  it('rejects bad options before spawning anything', async () => {
    await expect(spawnBuiltinBalancer({ upstreams: [{ name: 'a;b', url: 'http://127.0.0.1:1' }] })).rejects.toThrow(/upstream name "a;b" is invalid/);
  });
});

describe('llmbench balance', () => {
  it('prints the ready line and exits 0 on SIGTERM', async () => {
    upstreams = [await startTestUpstream('replica-0')];
    const child = spawn(process.execPath, [bin, 'balance', '--upstream', `replica-0=${upstreams[0]!.url}`, '--port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          if (out.includes('\n')) resolve(out.split('\n')[0]!);
        });
        child.on('exit', () => reject(new Error(`exited before ready: ${out}`)));
      });
      const m = /^llmbench-ready (\{.*\})$/.exec(line);
      expect(m).not.toBeNull();
      const ready = JSON.parse(m![1]!) as { url: string; pid: number };
      expect(ready.pid).toBe(child.pid);
      const r = await post(ready.url, { chunks: 0 });
      expect(r.headers['x-llmbench-replica']).toBe('replica-0');
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it('with --exit-with-parent, exits 0 when its stdin closes (the parent died)', async () => {
    upstreams = [await startTestUpstream('replica-0')];
    const child = spawn(process.execPath, [bin, 'balance', '--upstream', `replica-0=${upstreams[0]!.url}`, '--exit-with-parent'], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
      child.stdin.end();
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });

  it.each([
    [['--upstream', 'replica-0=http://10.1.2.3:8000'], 'host "10.1.2.3" is not a loopback address'],
    [['--upstream', 'replica-0=http://127.0.0.1:8000/;}'], 'is invalid'],
    [['--upstream', 'no-equals-sign'], '--upstream "no-equals-sign" is invalid'],
    [['--upstream', 'r=http://127.0.0.1:8000', '--policy', 'random'], '--policy: unknown policy "random"'],
    [['--upstream', 'r=http://127.0.0.1:8000', '--tries', '0'], '--tries: expected an integer in 1..16, got "0"'],
    [['--upstream', 'r=http://127.0.0.1:70000'], 'port 70000 is invalid'],
    [[], 'at least one upstream is required'],
  ])('refuses %j with exit 2', async (args, message) => {
    const stderr: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stderr.push(String(chunk));
      return true;
    });
    const listenersBefore = process.listenerCount('SIGTERM');
    try {
      expect(await main(['node', 'llmbench', 'balance', ...args])).toBe(2);
    } finally {
      spy.mockRestore();
    }
    expect(stderr.join('')).toContain(message);
    // Nothing was started: no signal handler left behind.
    expect(process.listenerCount('SIGTERM')).toBe(listenersBefore);
  });
});
