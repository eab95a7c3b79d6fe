// Options of the built-in balancer, their defaults, and their validation (done once, up front).
import type { BalancerPolicy, BalancerStats } from '../types.js';
import { createPolicy } from './policies.js';
import { validateIntRange, validateLoopbackHost, validateUpstreams, type UpstreamSpec } from './upstreamSpec.js';

/** What a caller may set on the built-in balancer. */
export interface BuiltinBalancerOptions {
  /** `backup: true` upstreams only take requests no primary can (their answers are marked as fallbacks). */
  upstreams: ReadonlyArray<{ name: string; url: string; backup?: boolean }>;
  policy?: BalancerPolicy;
  /** Attempts per request in total (1 = no retry). Each upstream is tried at most once per request. */
  tries?: number;
  /** Time allowed until an upstream's response headers arrive; past it the attempt counts as a timeout. */
  upstreamTimeoutMs?: number;
  /** How long a failed upstream is skipped. */
  cooldownMs?: number;
  /** Seed of the power-of-two-choices sampler. */
  seed?: number;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  /** Largest request body buffered for replay; bigger requests get 413. */
  maxBodyBytes?: number;
  /** Bound on waiting for in-flight requests when stopping. */
  drainMs?: number;
}

/** Options after defaults and validation. */
export interface ResolvedBalancerOptions {
  upstreams: UpstreamSpec[];
  policy: BalancerPolicy;
  tries: number;
  upstreamTimeoutMs: number;
  cooldownMs: number;
  seed: number;
  host: string;
  port: number;
  maxBodyBytes: number;
  drainMs: number;
}

/** Defaults: nginx-like retry behaviour (3 tries, 2 s fail timeout) and generous header time for slow generations. */
export const BALANCER_DEFAULTS = {
  policy: 'least-connections',
  tries: 3,
  upstreamTimeoutMs: 120_000,
  cooldownMs: 2_000,
  seed: 1,
  host: '127.0.0.1',
  port: 0,
  maxBodyBytes: 16 * 1024 * 1024,
  drainMs: 5_000,
} as const satisfies Omit<ResolvedBalancerOptions, 'upstreams'>;

/** Applies defaults and validates every field; throws UsageError on the first bad one. */
export function resolveBalancerOptions(opts: BuiltinBalancerOptions): ResolvedBalancerOptions {
  const policy = opts.policy ?? BALANCER_DEFAULTS.policy;
  createPolicy(policy); // throws with the list of policies when unknown
  return {
    upstreams: validateUpstreams(opts.upstreams),
    policy,
    tries: validateIntRange(opts.tries ?? BALANCER_DEFAULTS.tries, 1, 16, 'tries'),
    upstreamTimeoutMs: validateIntRange(opts.upstreamTimeoutMs ?? BALANCER_DEFAULTS.upstreamTimeoutMs, 1, 3_600_000, 'upstream timeout (ms)'),
    cooldownMs: validateIntRange(opts.cooldownMs ?? BALANCER_DEFAULTS.cooldownMs, 0, 3_600_000, 'cooldown (ms)'),
    seed: validateIntRange(opts.seed ?? BALANCER_DEFAULTS.seed, 0, 2 ** 32 - 1, 'seed'),
    host: validateLoopbackHost(opts.host ?? BALANCER_DEFAULTS.host),
    port: validateIntRange(opts.port ?? BALANCER_DEFAULTS.port, 0, 65535, 'port'),
    maxBodyBytes: validateIntRange(opts.maxBodyBytes ?? BALANCER_DEFAULTS.maxBodyBytes, 1, 1024 ** 3, 'max body bytes'),
    drainMs: validateIntRange(opts.drainMs ?? BALANCER_DEFAULTS.drainMs, 0, 600_000, 'drain (ms)'),
  };
}

/** A running balancer, built-in (in-process or child process) or nginx. */
export interface BalancerHandle {
  kind: 'builtin' | 'nginx';
  /** Base URL clients send requests to, e.g. http://127.0.0.1:PORT */
  url: string;
  /** Process serving the balancer (nginx: the master); null when it runs inside the calling process. */
  pid: number | null;
  stats(): Promise<BalancerStats>;
  /** Stops accepting, drains within a bound, and frees everything it started. Safe to call twice. */
  stop(): Promise<void>;
}
