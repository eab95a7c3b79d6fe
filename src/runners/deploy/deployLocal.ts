// A local pipeline as a Deployment: N `llmbench serve` replicas on 127.0.0.1 (free ports), fronted by the
// built-in balancer or nginx when there are several, with fault injection (kill / restart a replica).
import { formatStagesOption } from '../../engine/staged/stagedOptions.js';
import { LlmbenchError } from '../../errors.js';
import { startBalancer, type BalancerHandle, type NginxHandle } from '../../balancer/index.js';
import type { LocalPipelineSpec } from '../../scenarios/types.js';
import type { BalancerStats, DeployedProcess, Deployment } from '../../types.js';
import type { Deployer } from './deployers.js';
import { ResourceMonitor } from '../load/monitor.js';
import { spawnLlmbench, trackKillable, type ManagedProcess } from './processes.js';

export interface LocalDeployOptions {
  /** Bound on waiting for each server's ready line (model loading included). */
  readyTimeoutMs?: number;
  onProgress?: (msg: string) => void;
  /** Fault-injection and restart events, as they happen. */
  onEvent?: (kind: string, detail: string) => void;
}

/** Shutdown grace for servers: by the time a pipeline stops, its requests have finished. */
const STOP_GRACE_MS = 5000;

/** Environment of a local inference server process. */
export function serverEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    // glibc malloc: fewer per-thread arenas and an eager trim hand the model-loading buffers and per-step
    // scratch back to the OS. Measured on an int4 gpt2 replica: ~90 MB less idle RSS, ~55 MB less after load,
    // no throughput change. Same for every pipeline; a value already in the environment wins.
    MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2',
    MALLOC_TRIM_THRESHOLD_: process.env.MALLOC_TRIM_THRESHOLD_ ?? '1048576',
    // Blocks from 32 KiB up are mapped on their own and unmapped when freed, instead of coming from (and going
    // back to) malloc's heap: onnxruntime-node's larger output copies leave RSS when collected. Otherwise freed
    // copies stay resident for reuse, RSS stops following the JS side, and the memory breakdown cannot add up.
    // Measured on gpt2 int4, 8 streams of 448 + 64 tokens, 2 cores at load ~2 (bench:memory with the variable
    // set; `npm run bench:malloc -- gpt2 int4 3 <bytes>` for output tok/s, 3 alternating server starts each): 4096 B: peak 578 MiB, breakdown
    // within 6-9%, but -17.8% tok/s (183.6 -> 150.9); 32768 B: peak 587 MiB, breakdown -5.5%, -4.4% tok/s
    // (178.1 -> 170.3, within the noise of single rounds); 262144 B: breakdown -25%. Unset: breakdown -14..-20%.
    MALLOC_MMAP_THRESHOLD_: process.env.MALLOC_MMAP_THRESHOLD_ ?? '32768',
  };
}

/** Replica server processes a pipeline runs: one per replica, or one holding them all (replicaMode shared). */
export function serverProcessCount(spec: LocalPipelineSpec): number {
  return spec.serving.replicaMode === 'shared' ? 1 : spec.serving.replicas;
}

/** The `llmbench serve` command line (and environment) for one replica of a local pipeline. */
export function serveArgs(spec: LocalPipelineSpec, replica: number, port: number): { args: string[]; env: NodeJS.ProcessEnv } {
  const s = spec.serving;
  // Shared: one process serves every replica (replica-0, replica-1, ...) over one session; it gets the CPU
  // threads the separate processes would have had together, used by one run at a time.
  const shared = s.replicaMode === 'shared';
  const threads = shared ? s.threads * s.replicas : s.threads;
  const device = s.devices[replica] ?? 'cpu';
  const [kind, index] = device.split(':') as [string, string | undefined];
  const env = serverEnv();
  // The server takes a provider name; a device index is chosen the CUDA way.
  if (index !== undefined) env.CUDA_VISIBLE_DEVICES = index;
  const args = [
    'serve',
    '--model', spec.model.source,
    ...(spec.model.quantize ? ['--quantize', spec.model.quantize] : []),
    ...(spec.model.quantize && spec.model.blockSize ? ['--block-size', String(spec.model.blockSize)] : []),
    ...(spec.model.variant ? ['--variant', spec.model.variant] : []),
    '--host', '127.0.0.1',
    '--port', String(port),
    '--device', kind,
    '--threads', String(threads),
    '--max-batch', String(s.maxBatch),
    '--max-queue', String(s.maxQueue),
    '--timeout-ms', String(s.timeoutMs),
    ...(s.stages ? ['--stages', s.stages.explicit ? formatStagesOption(s.stages.explicit) : String(s.stages.count)] : []),
    ...deadlineArgs(s),
    ...(s.maxContext !== null ? ['--max-context', String(s.maxContext)] : []),
    ...(s.kvDtype !== null ? ['--kv-dtype', s.kvDtype] : []),
    ...(s.cpuFallback ? [] : ['--no-cpu-fallback']),
    ...(shared ? ['--replica-name', 'replica', '--replicas', String(s.replicas)] : ['--replica-name', `replica-${replica}`]),
    '--drain-ms', '2000',
    '--exit-with-parent',
  ];
  return { args, env };
}

function deadlineArgs(s: LocalPipelineSpec['serving']): string[] {
  const d = s.deadline;
  if (!d) return [];
  const fb = d.fallback;
  const fallback =
    fb.kind === 'canned'
      ? ['--fallback', `canned:${fb.text}`]
      : ['--fallback', `model:${fb.source}`, ...(fb.quantize ? ['--fallback-quantize', fb.quantize] : []), '--fallback-max-batch', String(fb.maxBatch)];
  return ['--deadline-ms', String(d.afterMs), '--deadline-scope', d.scope, ...fallback];
}

/** A backup server behind the balancer: the fallback model, no deadline of its own. */
function backupArgs(spec: LocalPipelineSpec, i: number, port: number): string[] {
  const b = spec.balancer.fallback as NonNullable<LocalPipelineSpec['balancer']['fallback']>;
  return [
    'serve',
    '--model', b.model.source,
    ...(b.model.quantize ? ['--quantize', b.model.quantize] : []),
    '--host', '127.0.0.1',
    '--port', String(port),
    '--threads', String(b.threads),
    '--max-batch', String(b.maxBatch),
    '--max-queue', String(spec.serving.maxQueue),
    '--timeout-ms', String(spec.serving.timeoutMs),
    '--replica-name', `backup-${i}`,
    '--drain-ms', '2000',
    '--exit-with-parent',
  ];
}

function portOf(url: string): number {
  return Number(new URL(url).port);
}

/** Starts a local pipeline's processes; everything is stopped again if any part fails to start. */
export async function deployLocal(spec: LocalPipelineSpec, o: LocalDeployOptions = {}): Promise<Deployment> {
  const readyTimeoutMs = o.readyTimeoutMs ?? 180_000;
  const replicas: Array<ManagedProcess | null> = [];
  const backups: ManagedProcess[] = [];
  const urls: string[] = [];
  let balancer: BalancerHandle | null = null;
  let untrackBalancer: (() => void) | null = null;
  const restarts = new Set<NodeJS.Timeout>();
  let stopped = false;

  const shared = spec.serving.replicaMode === 'shared';
  const startReplica = async (i: number, port: number): Promise<ManagedProcess> => {
    const { args, env } = serveArgs(spec, i, port);
    const name = shared ? `${spec.name}/replicas-0-${spec.serving.replicas - 1}` : `${spec.name}/replica-${i}`;
    return spawnLlmbench({ name, role: 'server', args, env, readyTimeoutMs });
  };

  const stopAll = async (): Promise<void> => {
    stopped = true;
    for (const t of restarts) clearTimeout(t);
    restarts.clear();
    // The front door first, so nothing new reaches a replica that is shutting down.
    if (balancer) await balancer.stop();
    untrackBalancer?.();
    await Promise.all([...new Set([...replicas, ...backups])].map((r) => r?.stop(STOP_GRACE_MS)));
  };

  try {
    const n = spec.serving.replicas;
    o.onProgress?.(shared ? `starting one server with ${n} replicas sharing its weights for ${spec.name}` : `starting ${n} server${n > 1 ? 's' : ''} for ${spec.name}`);
    const started = await Promise.allSettled(Array.from({ length: serverProcessCount(spec) }, (_, i) => startReplica(i, 0)));
    for (const r of started) replicas.push(r.status === 'fulfilled' ? r.value : null);
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    if (shared) {
      const proc = replicas[0] as ManagedProcess;
      const all = proc.ready.urls ?? [];
      if (all.length !== spec.serving.replicas) throw new LlmbenchError('RUN', `pipeline "${spec.name}": the shared server announced ${all.length} replica URLs, expected ${spec.serving.replicas}`);
      urls.push(...all);
      // Every replica lives in the same process.
      for (let i = 1; i < all.length; i++) replicas.push(proc);
    } else {
      for (const r of replicas) urls.push((r as ManagedProcess).ready.url);
    }
    const fb = spec.balancer.fallback;
    if (fb && spec.balancer.kind !== 'none') {
      o.onProgress?.(`starting ${fb.replicas} backup server${fb.replicas > 1 ? 's' : ''} (${fb.model.source}${fb.model.quantize ? ` ${fb.model.quantize}` : ''}) for ${spec.name}`);
      for (let i = 0; i < fb.replicas; i++) {
        backups.push(await spawnLlmbench({ name: `${spec.name}/backup-${i}`, role: 'server', args: backupArgs(spec, i, 0), env: serveArgs(spec, 0, 0).env, readyTimeoutMs }));
      }
    }
    if (spec.serving.replicas > 1 || backups.length > 0) {
      const upstreams: Array<{ name: string; url: string; backup?: boolean }> = [
        ...urls.map((url, i) => ({ name: `replica-${i}`, url })),
        ...backups.map((b, i) => ({ name: `backup-${i}`, url: b.ready.url, backup: true })),
      ];
      if (spec.balancer.kind !== 'none') {
        const handle = await startBalancer({
          kind: spec.balancer.kind,
          upstreams,
          policy: spec.balancer.policy,
          tries: spec.balancer.tries,
          upstreamTimeoutMs: spec.balancer.upstreamTimeoutMs,
          readyTimeoutMs: 30_000,
        });
        balancer = handle;
        untrackBalancer = trackKillable({
          name: `${spec.name}/${handle.kind === 'nginx' ? 'nginx' : 'balancer'}`,
          killNow: () => {
            for (const pid of [handle.pid, ...('workerPids' in handle ? (handle as NginxHandle).workerPids() : [])]) {
              if (pid === null) continue;
              try {
                process.kill(pid, 'SIGKILL');
              } catch {
                // Already gone.
              }
            }
          },
        });
      }
    }
  } catch (e) {
    await stopAll();
    throw e;
  }

  const front = balancer?.url ?? (urls[0] as string);
  const replicaList = urls.map((url, i) => ({ name: `replica-${i}`, url }));

  const deployment: Deployment = {
    url: front,
    kind: 'local',
    replicas: replicaList,
    processes(): DeployedProcess[] {
      const out: DeployedProcess[] = [];
      for (const r of new Set([...replicas, ...backups])) if (r) out.push({ pid: r.pid, name: r.name.split('/').pop() as string, role: 'server' });
      if (balancer?.pid) out.push({ pid: balancer.pid, name: balancer.kind === 'nginx' ? 'nginx' : 'balancer', role: balancer.kind === 'nginx' ? 'nginx' : 'balancer' });
      return out;
    },
    async kill(replica: string, restartAfterMs: number | null): Promise<void> {
      const i = replicaList.findIndex((r) => r.name === replica);
      const proc = replicas[i];
      if (i < 0 || !proc) throw new LlmbenchError('RUN', `pipeline "${spec.name}": no running replica "${replica}" to kill`);
      if (shared) throw new LlmbenchError('RUN', `pipeline "${spec.name}": replicas share one process (serving.replicaMode shared); killing "${replica}" would kill them all`, 'Use serving.replicaMode: process for fault injection.');
      proc.killNow();
      await proc.exited;
      replicas[i] = null;
      o.onEvent?.('kill', `${replica} (pid ${proc.pid}) killed with SIGKILL`);
      if (restartAfterMs === null) return;
      const timer = setTimeout(() => {
        restarts.delete(timer);
        if (stopped) return;
        o.onEvent?.('restart', `${replica} restarting`);
        const begun = Date.now();
        // Same port, so the balancer's upstream list stays right.
        startReplica(i, portOf(replicaList[i]?.url as string)).then(
          (p) => {
            if (stopped) {
              void p.stop(STOP_GRACE_MS);
              return;
            }
            replicas[i] = p;
            o.onEvent?.('ready', `${replica} serving again (pid ${p.pid}) ${Date.now() - begun} ms after the restart began`);
          },
          (e: unknown) => o.onEvent?.('restart-failed', `${replica}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`),
        );
      }, restartAfterMs);
      restarts.add(timer);
    },
    async balancerStats(): Promise<BalancerStats | null> {
      return balancer ? balancer.stats().catch(() => null) : null;
    },
    stop: stopAll,
  };
  return deployment;
}

export const localDeployer: Deployer<LocalPipelineSpec> = {
  async deploy(spec, ctx) {
    const deployment = await deployLocal(spec, { readyTimeoutMs: ctx.readyTimeoutMs, onProgress: ctx.onProgress, onEvent: ctx.onEvent });
    const monitor = new ResourceMonitor(() => deployment.processes(), ctx.monitorIntervalMs);
    try {
      await monitor.start();
    } catch (e) {
      await deployment.stop();
      throw e;
    }
    return { deployment, model: null, apiKey: null, extraBody: null, monitor };
  },
};
