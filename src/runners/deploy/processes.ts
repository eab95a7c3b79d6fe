// Child processes llmbench starts for a pipeline (servers, balancers): spawned in their own process group,
// ready when they print `llmbench-ready {...}`, stopped by group so nothing they started outlives them.
// Every live one is in a registry that an exit or signal path can kill synchronously.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { LlmbenchError } from '../../errors.js';
import type { ProcessRole } from '../../types.js';

/** Prefix of the ready line `llmbench serve` and `llmbench balance` print. */
export const READY_PREFIX = 'llmbench-ready ';
/** The llmbench launcher of this installation. */
export const LLMBENCH_BIN = fileURLToPath(new URL('../../../bin/llmbench.js', import.meta.url));

const STDERR_KEEP = 6000;

/** What a child announced in its ready line. */
export interface ReadyInfo {
  url: string;
  /** Every replica's URL when one server process holds several (`serve --replicas N`). */
  urls?: string[];
  pid: number;
  model?: string;
}

/** A started child process. */
export interface ManagedProcess {
  name: string;
  role: ProcessRole;
  pid: number;
  ready: ReadyInfo;
  /** Resolves when the process has exited. */
  exited: Promise<void>;
  /** Last few KB of its stderr. */
  stderrTail(): string;
  /** SIGTERM to the group, SIGKILL after `graceMs`; resolves once it exited. Safe to call twice. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL to the group now (fault injection, emergency exit). */
  killNow(): void;
}

/** Anything that can be killed synchronously in an emergency. */
export interface Killable {
  name: string;
  killNow(): void;
}

const live = new Set<Killable>();

/** Processes (and other started things) that are still alive. */
export function liveProcesses(): Killable[] {
  return [...live];
}

/** SIGKILLs every live process group, synchronously (for exit and signal paths). */
export function killAllNow(): void {
  for (const p of live) p.killNow();
}

/** Adds something started outside spawnLlmbench (nginx) to the emergency kill list; returns the removal. */
export function trackKillable(k: Killable): () => void {
  installExitHook();
  live.add(k);
  return () => live.delete(k);
}

let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last resort: whatever way this process ends, its servers do not outlive it.
  process.on('exit', killAllNow);
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // Already gone.
    }
  }
}

export interface SpawnOptions {
  name: string;
  role: ProcessRole;
  /** Arguments after the llmbench launcher, e.g. ['serve', '--model', 'tiny', ...]. */
  args: string[];
  env?: NodeJS.ProcessEnv;
  readyTimeoutMs: number;
}

/** Starts `node bin/llmbench.js <args>` and resolves once it printed its ready line. */
export function spawnLlmbench(o: SpawnOptions): Promise<ManagedProcess> {
  installExitHook();
  // stdin stays an open pipe: if this process dies without cleaning up, the child sees EOF (--exit-with-parent).
  const child = spawn(process.execPath, [LLMBENCH_BIN, ...o.args], {
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: o.env ?? process.env,
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (c: string) => {
    stderr = (stderr + c).slice(-STDERR_KEEP);
  });
  child.stdin?.on('error', () => undefined);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  let stopping: Promise<void> | null = null;
  const proc: ManagedProcess = {
    name: o.name,
    role: o.role,
    pid: child.pid ?? -1,
    ready: { url: '', pid: child.pid ?? -1 },
    exited,
    stderrTail: () => stderr.trim(),
    killNow: () => signalGroup(child, 'SIGKILL'),
    stop(graceMs = 5000) {
      stopping ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          signalGroup(child, 'SIGTERM');
          const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), graceMs);
          await exited;
          clearTimeout(timer);
        }
        // The leader may be gone while a grandchild lingers in the group.
        signalGroup(child, 'SIGKILL');
      })();
      return stopping;
    },
  };
  live.add(proc);
  void exited.then(() => {
    live.delete(proc);
    child.stdin?.destroy();
  });

  return new Promise<ManagedProcess>((resolve, reject) => {
    let out = '';
    let done = false;
    const fail = (why: string): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signalGroup(child, 'SIGKILL');
      // Give stderr a moment to flush what explains the failure.
      setTimeout(() => {
        const tail = stderr.trim();
        reject(new LlmbenchError('SERVER', `${o.name} did not start: ${why}${tail ? `\n--- its stderr ---\n${tail}` : ''}`));
      }, 50);
    };
    const timer = setTimeout(() => fail(`no ready line within ${o.readyTimeoutMs} ms`), o.readyTimeoutMs);
    child.once('error', (e) => fail(e.message));
    child.once('exit', (code, signal) => fail(`exited with ${signal ?? `code ${String(code)}`} before it was ready`));
    child.stdout?.setEncoding('utf8');
    const onData = (c: string): void => {
      out += c;
      const line = out.split('\n').find((l) => l.startsWith(READY_PREFIX));
      if (line === undefined || done) return;
      try {
        const info = JSON.parse(line.slice(READY_PREFIX.length)) as ReadyInfo;
        if (typeof info.url !== 'string') throw new Error('no url');
        done = true;
        clearTimeout(timer);
        proc.ready = info;
        out = '';
        // Keep draining so the child never blocks on a full pipe.
        child.stdout?.off('data', onData);
        child.stdout?.resume();
        resolve(proc);
      } catch {
        fail(`unreadable ready line ${JSON.stringify(line)}`);
      }
    };
    child.stdout?.on('data', onData);
  });
}
