// Command-line overrides (`--quick`, `--repeat N`) expand into a full Scenario, like k6 shortcuts.
import type { Scenario } from './types.js';

/** What the command line may change about a scenario. */
export interface RunOverrides {
  quick?: boolean;
  repeat?: number;
}

/** The scenario with overrides applied; the input is not modified. */
export function applyOverrides(scenario: Scenario, o: RunOverrides): Scenario {
  let load = scenario.load;
  let repeat = o.repeat ?? scenario.repeat;
  if (o.quick) {
    const q = scenario.quick;
    load = {
      ...load,
      durationMs: Math.min(load.durationMs, q.durationMs),
      requests: q.requests ?? load.requests,
      warmupRequests: Math.min(load.warmupRequests, q.warmupRequests),
      sweep: load.sweep ? { ...load.sweep, levels: load.sweep.levels.slice(0, q.sweepLevels) } : null,
    };
    if (o.repeat === undefined) repeat = 1;
    const model = q.model;
    if (model !== null) {
      const pipelines = scenario.pipelines.map((p) => (p.kind === 'local' ? { ...p, model: { ...p.model, source: model } } : p));
      return { ...scenario, load, repeat, pipelines };
    }
  }
  return { ...scenario, load, repeat };
}
