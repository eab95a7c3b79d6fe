// Runs the built-in balancer as a child process (`node bin/llmbench.js balance ...`), so its CPU and memory
// belong to the pipeline under test, not to the load generator. Waits for the child's ready line.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { LlmbenchError } from '../errors.js';
import type { BalancerStats } from '../types.js';
import { READY_PREFIX } from '../commands/balance.js';
import { resolveBalancerOptions, type BalancerHandle, type BuiltinBalancerOptions } from './options.js';
import { STATS_PATH } from './proxy.js';

/** Options of the child-process balancer: the balancer's own, plus how long to wait for it. */
export interface SpawnBalancerOptions extends BuiltinBalancerOptions {
  /** Bound on waiting for the ready line. */
  readyTimeoutMs?: number;
  /** Defaults to the llmbench launcher of this checkout. */
  binPath?: string;
}

const STDERR_KEEP_CHARS = 8_000;

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** Starts `llmbench balance` as a child process and resolves once it prints its ready line. */
export async function spawnBuiltinBalancer(opts: SpawnBalancerOptions): Promise<BalancerHandle> {
  const o = resolveBalancerOptions(opts); // bad values fail here, with the caller's stack, not in the child
  const bin = opts.binPath ?? fileURLToPath(new URL('../../bin/llmbench.js', import.meta.url));
  const args = [
    bin,
    'balance',
    '--policy', o.policy,
    ...o.upstreams.flatMap((u) => [u.backup ? '--backup' : '--upstream', `${u.name}=${u.url}`]),
    '--tries', String(o.tries),
    '--upstream-timeout-ms', String(o.upstreamTimeoutMs),
    '--cooldown-ms', String(o.cooldownMs),
    '--seed', String(o.seed),
    '--host', o.host,
    '--port', String(o.port),
    '--exit-with-parent',
  ];
  // stdin stays an open pipe we never write to: if this process dies, the child sees EOF and exits.
  const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (c: string) => {
    stderr = (stderr + c).slice(-STDERR_KEEP_CHARS);
  });

  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const fail = (why: string): void => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new LlmbenchError('SERVER', `built-in balancer did not start: ${why}${stderr ? `\n${stderr.trim()}` : ''}`));
    };
    const timer = setTimeout(() => fail(`no ready line within ${opts.readyTimeoutMs ?? 15_000} ms`), opts.readyTimeoutMs ?? 15_000);
    child.once('error', (e) => fail(e.message));
    child.once('exit', (code, signal) => fail(`exited with ${signal ?? `code ${String(code)}`}`));
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', function onData(c: string) {
      out += c;
      const line = out.split('\n').find((l) => l.startsWith(READY_PREFIX));
      if (line === undefined) return;
      child.stdout?.off('data', onData);
      child.stdout?.resume(); // keep draining so the child never blocks on a full pipe
      child.removeAllListeners('exit');
      child.removeAllListeners('error');
      clearTimeout(timer);
      try {
        const ready = JSON.parse(line.slice(READY_PREFIX.length)) as { url: string };
        resolve(ready.url);
      } catch {
        fail(`unreadable ready line ${JSON.stringify(line)}`);
      }
    });
  });
  child.on('error', () => undefined);

  let stopped: Promise<void> | null = null;
  return {
    kind: 'builtin',
    url,
    pid: child.pid ?? null,
    async stats(): Promise<BalancerStats> {
      const res = await fetch(`${url}${STATS_PATH}`);
      if (!res.ok) throw new LlmbenchError('SERVER', `balancer stats: HTTP ${res.status}`);
      return (await res.json()) as BalancerStats;
    },
    stop(): Promise<void> {
      stopped ??= (async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM');
        if (await waitForExit(child, o.drainMs + 3_000)) return;
        child.kill('SIGKILL');
        await waitForExit(child, 5_000);
      })();
      return stopped;
    },
  };
}
