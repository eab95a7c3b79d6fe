// Live state of the upstreams behind the built-in balancer: in-flight counts, counters, and passive health
// (an upstream that just failed is skipped until its cooldown ends, like nginx max_fails=1 fail_timeout).
import type { BalancerUpstreamStats } from '../types.js';
import type { UpstreamSpec } from './upstreamSpec.js';

/** One upstream's mutable state. `index` is its position in the configured list. */
export interface UpstreamState {
  readonly index: number;
  readonly spec: UpstreamSpec;
  inFlight: number;
  requests: number;
  failures: number;
  retries: number;
  /** Monotonic ms until which the upstream is skipped; 0 when healthy. */
  downUntilMs: number;
}

/** The set of upstreams and their health. `nowMs` is injectable so cooldowns can be tested exactly. */
export class UpstreamPool {
  readonly upstreams: UpstreamState[];

  constructor(
    specs: readonly UpstreamSpec[],
    private readonly cooldownMs: number,
    private readonly nowMs: () => number = () => performance.now(),
  ) {
    this.upstreams = specs.map((spec, index) => ({ index, spec, inFlight: 0, requests: 0, failures: 0, retries: 0, downUntilMs: 0 }));
  }

  isHealthy(u: UpstreamState): boolean {
    return u.downUntilMs <= this.nowMs();
  }

  /**
   * Upstreams a new attempt may go to, excluding those already tried for this request. Healthy ones when
   * there are any; otherwise the untried ones in cooldown, soonest-to-recover first, so that a request
   * still gets a chance when every upstream failed recently (a fleet that is restarting).
   */
  candidates(tried: ReadonlySet<number>): UpstreamState[] {
    const untried = this.upstreams.filter((u) => !tried.has(u.index));
    const healthy = untried.filter((u) => this.isHealthy(u));
    // Backups only stand in when no primary is healthy and untried (nginx `backup` semantics).
    const primaries = healthy.filter((u) => u.spec.backup !== true);
    if (primaries.length > 0) return primaries;
    if (healthy.length > 0) return healthy;
    return untried.sort((a, b) => a.downUntilMs - b.downUntilMs).slice(0, 1);
  }

  markFailure(u: UpstreamState): void {
    u.failures += 1;
    u.downUntilMs = this.nowMs() + this.cooldownMs;
  }

  markSuccess(u: UpstreamState): void {
    u.downUntilMs = 0;
  }

  stats(): BalancerUpstreamStats[] {
    return this.upstreams.map((u) => ({
      name: u.spec.name,
      url: u.spec.url,
      requests: u.requests,
      failures: u.failures,
      retries: u.retries,
      inFlight: u.inFlight,
      healthy: this.isHealthy(u),
    }));
  }
}
