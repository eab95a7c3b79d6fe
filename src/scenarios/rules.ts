// Cross-field rules, attached to the schema section they concern so that they run (and report) even when
// another section of the file has problems: a user sees every mistake in one go.
import type { z } from 'zod';
import { isLoopbackHost } from './loopback.js';

type Ctx = z.core.$RefinementCtx;

function problem(ctx: Ctx, path: PropertyKey[], message: string): void {
  ctx.addIssue({ code: 'custom', path, message });
}

interface LoadFields {
  profile: 'concurrency' | 'constant' | 'poisson' | 'sweep';
  rate?: number | undefined;
  rateFromCapacity?: unknown;
  burstiness: number;
  maxConcurrency?: number | undefined;
  sweep?: { over: 'rate' | 'concurrency'; levels: number[]; arrival: 'constant' | 'poisson' } | undefined;
  driver: 'streaming' | 'autocannon';
}

/** Which fields a load profile needs, and which only make sense with others. */
export function loadRules(l: LoadFields, ctx: Ctx): void {
  if ((l.profile === 'constant' || l.profile === 'poisson') && l.rate === undefined && l.rateFromCapacity === undefined) {
    problem(ctx, ['rate'], `required for profile ${l.profile} (or set rateFromCapacity)`);
  }
  if (l.rate !== undefined && l.rateFromCapacity !== undefined) problem(ctx, ['rateFromCapacity'], 'give either rate or rateFromCapacity, not both');
  if (l.rateFromCapacity !== undefined && l.profile !== 'constant' && l.profile !== 'poisson') {
    problem(ctx, ['rateFromCapacity'], `only applies to profiles constant and poisson (got ${l.profile})`);
  }
  if (l.profile === 'sweep' && l.sweep === undefined) problem(ctx, ['sweep'], 'required for profile sweep');
  if (l.profile !== 'sweep' && l.sweep !== undefined) problem(ctx, ['sweep'], 'only allowed with profile sweep');
  if (l.sweep?.over === 'concurrency') {
    l.sweep.levels.forEach((level, i) => {
      if (!Number.isInteger(level)) problem(ctx, ['sweep', 'levels', i], 'concurrency levels must be integers');
    });
  }
  const poissonArrivals = l.profile === 'poisson' || (l.profile === 'sweep' && l.sweep?.arrival === 'poisson');
  if (l.burstiness !== 1 && !poissonArrivals) problem(ctx, ['burstiness'], 'only applies to poisson arrivals');
  const closedLoop = l.profile === 'concurrency' || (l.profile === 'sweep' && l.sweep?.over === 'concurrency');
  if (l.maxConcurrency !== undefined && closedLoop) {
    problem(ctx, ['maxConcurrency'], 'only applies to open-loop profiles (constant, poisson, sweep over rate)');
  }
  if (l.driver === 'autocannon' && l.profile !== 'concurrency' && l.profile !== 'constant') {
    problem(ctx, ['driver'], `autocannon supports profiles concurrency and constant (got ${l.profile})`);
  }
}

interface LocalFields {
  serving: {
    replicas: number;
    replicaMode?: 'process' | 'shared' | undefined;
    device: string | string[];
    stages?: number | Array<{ layers: [number, number] }> | undefined;
    timeoutMs: number;
    deadline?: { after: number } | undefined;
    fallback?: unknown;
  };
  balancer?: { kind: 'none' | 'builtin' | 'nginx'; policy?: string; fallback?: unknown } | undefined;
  faults: Array<{ kill: string }>;
}

/** Replicas, devices, balancer, faults and stages of one local pipeline must agree. */
export function localPipelineRules(p: LocalFields, ctx: Ctx): void {
  const replicas = p.serving.replicas;
  if (Array.isArray(p.serving.device) && p.serving.device.length !== replicas) {
    problem(ctx, ['serving', 'device'], `lists ${p.serving.device.length} devices for ${replicas} replicas`);
  }
  if (p.balancer?.kind === 'none' && replicas > 1) problem(ctx, ['balancer', 'kind'], `none needs serving.replicas 1 (got ${replicas})`);
  if (p.balancer?.kind === 'nginx' && p.balancer.policy !== undefined && p.balancer.policy !== 'least-connections') {
    problem(ctx, ['balancer', 'policy'], `nginx balances with least_conn only (got ${p.balancer.policy}); use balancer.kind builtin for other policies`);
  }
  if (p.balancer?.fallback !== undefined && p.balancer.kind === 'none') problem(ctx, ['balancer', 'fallback'], 'needs a balancer (kind builtin or nginx) to route to the backup');
  const d = p.serving.deadline;
  if (d !== undefined && p.serving.fallback === undefined) problem(ctx, ['serving', 'deadline'], 'needs serving.fallback (who answers past the deadline)');
  if (d === undefined && p.serving.fallback !== undefined) problem(ctx, ['serving', 'fallback'], 'needs serving.deadline (when the fallback answers)');
  if (d !== undefined && d.after <= 0) problem(ctx, ['serving', 'deadline', 'after'], 'must be > 0');
  if (d !== undefined && d.after >= p.serving.timeoutMs) {
    problem(ctx, ['serving', 'deadline', 'after'], `must be below serving.timeoutMs (${p.serving.timeoutMs} ms), or the fallback never runs`);
  }
  p.faults.forEach((f, i) => {
    if (!(Number(f.kill.slice('replica-'.length)) < replicas)) {
      const names = replicas === 1 ? 'replica-0' : `replica-0..replica-${replicas - 1}`;
      problem(ctx, ['faults', i, 'kill'], `no replica "${f.kill}" (this pipeline has ${names})`);
    }
  });
  if (p.serving.replicaMode === 'shared') sharedReplicaRules(p, ctx);
  if (Array.isArray(p.serving.stages)) {
    let next = 0;
    p.serving.stages.forEach((s, i) => {
      const [first, last] = s.layers;
      if (first !== next) problem(ctx, ['serving', 'stages', i, 'layers'], `must start at layer ${next}`);
      if (last < first) problem(ctx, ['serving', 'stages', i, 'layers'], `last layer ${last} is before first ${first}`);
      next = last + 1;
    });
  }
}

/** Shared replicas are one process over one session: one device, no layer split, no per-replica kill. */
function sharedReplicaRules(p: LocalFields, ctx: Ctx): void {
  if (p.serving.stages !== undefined) problem(ctx, ['serving', 'replicaMode'], 'shared runs every replica over one onnxruntime session; it cannot be combined with serving.stages (use replicaMode: process)');
  if (Array.isArray(p.serving.device) && new Set(p.serving.device).size > 1) {
    problem(ctx, ['serving', 'replicaMode'], `shared puts every replica in one process on one device; serving.device lists ${[...new Set(p.serving.device)].join(', ')} (use replicaMode: process)`);
  }
  if (p.faults.length > 0) problem(ctx, ['faults'], 'killing a replica kills a process, and with serving.replicaMode shared one process holds every replica (use replicaMode: process)');
}

/** An external target must be an http(s) URL, on this machine unless the user opted in with allowRemote. */
export function targetUrlRule(t: { url: string; allowRemote?: boolean | undefined }, ctx: Ctx): void {
  const url = t.url;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    problem(ctx, ['url'], `not a valid URL: "${url}"`);
    return;
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    problem(ctx, ['url'], `expected an http:// or https:// URL, got ${parsed.protocol}`);
  }
  if (!isLoopbackHost(parsed.hostname) && t.allowRemote !== true) {
    problem(
      ctx,
      ['url'],
      `host "${parsed.hostname}" is not on this machine; llmbench only sends load elsewhere when asked, so that a ` +
        'benchmark never floods a shared service by mistake: add target.allowRemote: true (or pass --allow-remote)',
    );
  }
}

/** Pipeline names are unique and at most one pipeline claims to be the baseline. */
export function pipelineListRules(list: Array<{ name: string; baseline?: boolean | undefined }>, ctx: Ctx): void {
  const seen = new Map<string, number>();
  list.forEach((p, i) => {
    const earlier = seen.get(p.name);
    if (earlier !== undefined) problem(ctx, [i, 'name'], `duplicate name "${p.name}" (also pipelines[${earlier}])`);
    else seen.set(p.name, i);
  });
  const marked = list.flatMap((p, i) => (p.baseline === true ? [i] : []));
  for (const i of marked.slice(1)) {
    problem(ctx, [i, 'baseline'], `only one pipeline can be the baseline (pipelines[${marked[0]}] already is)`);
  }
}
