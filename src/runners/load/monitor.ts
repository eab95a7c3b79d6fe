// Samples the memory of a deployment's processes while it runs: RSS of every process in each server's
// tree (from /proc) and, when nvidia-smi exists, per-process GPU memory.
import { performance } from 'node:perf_hooks';
import pidtree from 'pidtree';
import { readComm, readProcStatusAsync } from '../../sys/procStatus.js';
import type { DeployedProcess, ProcessRole, ProcessTrace, ResourceTrace } from '../../types.js';
import { COMPUTE_APPS_ARGS, parseComputeApps, runNvidiaSmi } from './nvidiaSmi.js';

/** Process trees change rarely (a restart, a worker); re-list them this often, not every tick. */
const TREE_REFRESH_MS = 1000;

async function rssBytes(pid: number): Promise<number | null> {
  return (await readProcStatusAsync(pid))?.rssBytes ?? null;
}

interface Tracked {
  pid: number;
  name: string;
  role: ProcessRole;
  rss: Array<[number, number]>;
  gpu: Array<[number, number]>;
}

/** Periodic sampler for one pipeline's processes. */
export class ResourceMonitor {
  private readonly tracked = new Map<number, Tracked>();
  private timer: NodeJS.Timeout | null = null;
  private tree: Array<{ pid: number; name: string; role: ProcessRole }> = [];
  private treeAt = -Infinity;
  private gpuAvailable: boolean | null = null;
  /** Set when nvidia-smi listed GPU processes none of which is ours (other PID namespace: a container). */
  private gpuUnattributed = false;
  private busy = false;
  private stopped = false;

  constructor(
    private readonly roots: () => DeployedProcess[],
    readonly intervalMs = 250,
  ) {}

  /** Starts sampling (first sample immediately). */
  async start(): Promise<void> {
    const probe = await runNvidiaSmi(COMPUTE_APPS_ARGS);
    this.gpuAvailable = probe !== null;
    await this.tick();
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
  }

  private async refreshTree(): Promise<void> {
    const roots = this.roots();
    let pairs: Array<{ pid: number; ppid: number }> = [];
    try {
      pairs = await pidtree(-1, { advanced: true });
    } catch {
      // Without a process list we still watch the roots themselves.
    }
    const children = new Map<number, number[]>();
    for (const { pid, ppid } of pairs) {
      const list = children.get(ppid);
      if (list) list.push(pid);
      else children.set(ppid, [pid]);
    }
    const out: typeof this.tree = [];
    for (const root of roots) {
      out.push({ pid: root.pid, name: root.name, role: root.role });
      const stack = [...(children.get(root.pid) ?? [])];
      while (stack.length > 0) {
        const pid = stack.pop() as number;
        out.push({ pid, name: `${root.name}/${await readComm(pid)}`, role: root.role });
        stack.push(...(children.get(pid) ?? []));
      }
    }
    this.tree = out;
    this.treeAt = performance.now();
  }

  private async tick(): Promise<void> {
    if (this.busy || this.stopped) return;
    this.busy = true;
    try {
      const now = performance.now();
      const rootPids = this.roots().map((r) => r.pid);
      const known = new Set(this.tree.map((t) => t.pid));
      if (now - this.treeAt > TREE_REFRESH_MS || rootPids.some((p) => !known.has(p))) await this.refreshTree();
      const apps = this.gpuAvailable ? parseComputeApps((await runNvidiaSmi(COMPUTE_APPS_ARGS)) ?? '') : null;
      const gpu = apps && gpuAttributable(apps, this.tree.map((t) => t.pid)) ? apps : null;
      if (apps && !gpu) this.gpuUnattributed = true;
      const at = performance.now();
      await Promise.all(
        this.tree.map(async (p) => {
          const rss = await rssBytes(p.pid);
          if (rss === null) return;
          let t = this.tracked.get(p.pid);
          if (!t) {
            t = { pid: p.pid, name: p.name, role: p.role, rss: [], gpu: [] };
            this.tracked.set(p.pid, t);
          }
          t.rss.push([at, rss]);
          if (gpu) t.gpu.push([at, gpu.get(p.pid) ?? 0]);
        }),
      );
    } finally {
      this.busy = false;
    }
  }

  /** Stops sampling; times in the trace are ms relative to `clock0` (a performance.now() value). */
  async stop(clock0: number): Promise<ResourceTrace> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    // One last sample so short runs are not empty, unless a tick is still in flight.
    await this.tick();
    this.stopped = true;
    const processes: ProcessTrace[] = [...this.tracked.values()].map((t) => ({
      pid: t.pid,
      name: t.name,
      role: t.role,
      rss: t.rss.map(([at, v]) => [at - clock0, v]),
      gpu: t.gpu.map(([at, v]) => [at - clock0, v]),
    }));
    return { intervalMs: this.intervalMs, processes, gpuAvailable: this.gpuAvailable === true && !this.gpuUnattributed, clientCpuPct: null };
  }
}

/**
 * Whether per-process GPU memory can be attributed to our processes: no GPU process at all (everything
 * uses 0 bytes), or at least one of ours among them. GPU processes listed while none of ours is (nvidia-smi
 * in a container reports host PIDs) cannot be attributed: the memory is then unknown (n/a), not 0.
 */
export function gpuAttributable(apps: ReadonlyMap<number, number>, ourPids: readonly number[]): boolean {
  return apps.size === 0 || ourPids.some((p) => apps.has(p));
}
