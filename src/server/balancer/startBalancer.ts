// One entry point for pipelines: start the balancer a scenario names, with the same retry settings for both kinds.
import { UsageError } from '../../errors.js';
import type { BalancerPolicy } from '../../types.js';
import { startNginx } from './nginx.js';
import type { BalancerHandle } from './options.js';
import { spawnBuiltinBalancer } from './spawn.js';

/** Balancer kinds a pipeline can put in front of its replicas (`none` needs no balancer). */
export const BALANCER_KINDS = ['builtin', 'nginx'] as const;
export type BalancerKind = (typeof BALANCER_KINDS)[number];

/** Settings shared by both kinds; nginx always uses least_conn and takes its skip time in whole seconds. */
export interface PipelineBalancerOptions {
  kind: string;
  upstreams: ReadonlyArray<{ name: string; url: string }>;
  policy?: BalancerPolicy;
  tries?: number;
  upstreamTimeoutMs?: number;
  /** How long a failed upstream is skipped (nginx: rounded up to whole seconds, at least 1). */
  cooldownMs?: number;
  seed?: number;
}

/** Starts the built-in balancer as a child process, or nginx; the caller must `stop()` it. */
export function startBalancer(o: PipelineBalancerOptions): Promise<BalancerHandle> {
  const common = { upstreams: o.upstreams, tries: o.tries, upstreamTimeoutMs: o.upstreamTimeoutMs };
  switch (o.kind) {
    case 'builtin':
      return spawnBuiltinBalancer({ ...common, policy: o.policy, cooldownMs: o.cooldownMs, seed: o.seed });
    case 'nginx':
      if (o.policy !== undefined && o.policy !== 'least-connections') {
        return Promise.reject(new UsageError(`nginx balancing uses least_conn; policy "${o.policy}" needs balancer: builtin`));
      }
      return startNginx({
        ...common,
        failTimeoutSeconds: o.cooldownMs === undefined ? undefined : Math.max(1, Math.ceil(o.cooldownMs / 1000)),
      });
    default:
      return Promise.reject(new UsageError(`unknown balancer "${o.kind}"`, `Available: ${BALANCER_KINDS.join(', ')} (or none).`));
  }
}
