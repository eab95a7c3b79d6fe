// Balancer kinds a pipeline can put in front of its replicas, keyed by `balancer.kind`. Adding one is a starter
// returning a BalancerHandle plus one line in BALANCERS; `none` needs no balancer.
import { UsageError } from '../errors.js';
import type { BalancerPolicy } from '../types.js';
import { startNginx } from './nginx.js';
import type { BalancerHandle } from './options.js';
import { spawnBuiltinBalancer } from './spawn.js';

/** Settings shared by every kind; nginx always uses least_conn and takes its skip time in whole seconds. */
export interface PipelineBalancerOptions {
  kind: BalancerKind;
  /** `backup: true` upstreams take only requests no primary can. */
  upstreams: ReadonlyArray<{ name: string; url: string; backup?: boolean }>;
  policy?: BalancerPolicy;
  tries?: number;
  upstreamTimeoutMs?: number;
  /** How long a failed upstream is skipped (nginx: rounded up to whole seconds, at least 1). */
  cooldownMs?: number;
  seed?: number;
  /** Bound on waiting for the balancer to answer. */
  readyTimeoutMs?: number;
}

type Starter = (o: PipelineBalancerOptions) => Promise<BalancerHandle>;

const BALANCERS = {
  builtin: (o) => spawnBuiltinBalancer({ upstreams: o.upstreams, tries: o.tries, upstreamTimeoutMs: o.upstreamTimeoutMs, policy: o.policy, cooldownMs: o.cooldownMs, seed: o.seed, readyTimeoutMs: o.readyTimeoutMs }),
  nginx: (o) => {
    if (o.policy !== undefined && o.policy !== 'least-connections') {
      return Promise.reject(new UsageError(`nginx balancing uses least_conn; policy "${o.policy}" needs balancer: builtin`));
    }
    return startNginx({
      upstreams: o.upstreams,
      tries: o.tries,
      upstreamTimeoutMs: o.upstreamTimeoutMs,
      failTimeoutSeconds: o.cooldownMs === undefined ? undefined : Math.max(1, Math.ceil(o.cooldownMs / 1000)),
    });
  },
} satisfies Record<string, Starter>;

export type BalancerKind = keyof typeof BALANCERS;
export const BALANCER_KINDS = Object.keys(BALANCERS) as BalancerKind[];

/** Starts the balancer `o.kind` names on 127.0.0.1; the caller must `stop()` it. */
export function startBalancer(o: PipelineBalancerOptions): Promise<BalancerHandle> {
  const start: Starter | undefined = (BALANCERS as Record<string, Starter>)[o.kind];
  if (!start) return Promise.reject(new UsageError(`unknown balancer "${String(o.kind)}"`, `Available: ${BALANCER_KINDS.join(', ')} (or none).`));
  return start(o);
}
