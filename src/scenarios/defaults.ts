// Every default a scenario gets, in one place. The schema reads these; the JSON Schema shows them.

/** Defaults applied to fields a scenario file leaves out. */
export const SCENARIO_DEFAULTS = {
  seed: 1,
  repeat: 1,
  workload: {
    api: 'completions',
    stream: true,
    distinctRequests: 128,
    promptTokens: 64,
    outputTokens: 32,
  },
  load: {
    profile: 'concurrency',
    concurrency: 1,
    burstiness: 1,
    warmupRequests: 2,
    duration: '30s',
    driver: 'streaming',
    requestTimeout: '60s',
  },
  sweep: { over: 'rate', arrival: 'poisson' },
  serving: {
    replicas: 1,
    replicaMode: 'process',
    threads: 1,
    device: 'cpu',
    maxBatch: 1,
    maxQueue: 256,
    timeoutMs: 60_000,
  },
  balancer: {
    /** With several replicas and no balancer section, the built-in balancer fronts them. */
    kindForReplicas: 'builtin',
    policy: 'least-connections',
    tries: 3,
    upstreamTimeout: '60s',
  },
  deadline: { scope: 'first-token' },
  capacityProbe: { probe: '6s' },
  balancerFallback: { replicas: 1 },
  quick: { duration: '5s', warmupRequests: 1, sweepLevels: 2 },
  /** Lower bound of normal/lognormal token lengths. */
  lengthMin: 1,
} as const;
