// Balancing policies: given the upstreams a request may go to, pick one. Pure apart from their own cursor / seed.
import { UsageError } from '../errors.js';
import { Rng } from '../stats/rng.js';
import { BALANCER_POLICIES, type BalancerPolicy } from '../types.js';
import type { UpstreamState } from './upstreamPool.js';

/** Picks one upstream from a non-empty candidate list (ordered by configured index). */
export interface Policy {
  readonly name: BalancerPolicy;
  pick(candidates: readonly UpstreamState[]): UpstreamState;
}

/** Rotates through upstreams by configured index, skipping those not among the candidates. */
class RoundRobin {
  private next = 0;

  /** First candidate at or after the cursor (wrapping), among `among` (default: all candidates). */
  pick(candidates: readonly UpstreamState[], among: readonly UpstreamState[] = candidates): UpstreamState {
    const sorted = [...among].sort((a, b) => a.index - b.index);
    const chosen = sorted.find((u) => u.index >= this.next) ?? sorted[0];
    if (!chosen) throw new Error('policy called with no candidates');
    this.next = chosen.index + 1;
    return chosen;
  }
}

function roundRobin(): Policy {
  const rr = new RoundRobin();
  return { name: 'round-robin', pick: (c) => rr.pick(c) };
}

function leastConnections(): Policy {
  // Ties go round-robin, so an idle fleet is still spread instead of always hitting the first upstream.
  const rr = new RoundRobin();
  return {
    name: 'least-connections',
    pick(candidates) {
      const fewest = Math.min(...candidates.map((u) => u.inFlight));
      return rr.pick(candidates, candidates.filter((u) => u.inFlight === fewest));
    },
  };
}

/** Uniform draws from the project's seeded generator: reproducible choices for a given seed. */
function seededRandom(seed: number): () => number {
  const rng = new Rng(seed);
  return () => rng.nextFloat();
}

function powerOfTwoChoices(seed: number): Policy {
  const random = seededRandom(seed);
  return {
    name: 'power-of-two-choices',
    pick(candidates) {
      const n = candidates.length;
      const i = Math.floor(random() * n);
      // Second choice uniformly among the others, so the two are always distinct.
      const j = (i + 1 + Math.floor(random() * (n - 1))) % n;
      const first = candidates[i];
      const second = candidates[j];
      if (!first || !second) throw new Error('policy called with no candidates');
      if (n === 1) return first;
      return second.inFlight < first.inFlight ? second : first;
    },
  };
}

/** Builds a policy by name; an unknown name's error lists the available ones. */
export function createPolicy(name: string, seed = 1): Policy {
  switch (name) {
    case 'least-connections':
      return leastConnections();
    case 'round-robin':
      return roundRobin();
    case 'power-of-two-choices':
      return powerOfTwoChoices(seed);
    default:
      throw new UsageError(`unknown balancer policy ${JSON.stringify(name)}`, `Available: ${BALANCER_POLICIES.join(', ')}.`);
  }
}
