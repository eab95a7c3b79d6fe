// Markdown sections about the run itself: scenario, pipelines at a glance, load, balancing, failures, sweeps,
// provenance. Each returns a string ('' when it has nothing to say).
import { isAnswered } from '../stats/answered.js';
import { stringify } from 'yaml';
import type { PipelineResult, PipelineSummary, ResultFile } from '../types.js';
import { formatBytes, formatNumber, formatValue } from './format.js';
import { mdTable } from './mdTable.js';
import { invalidReasonsText } from './invalidReasons.js';

function at(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const k of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

function text(v: unknown): string {
  if (v === undefined || v === null) return '—';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) return JSON.stringify(v);
  // One level of "key: value" reads better in a table cell than raw JSON.
  return Object.entries(v as Record<string, unknown>)
    .filter(([, x]) => x !== null && x !== undefined)
    .map(([k, x]) => `${k}: ${typeof x === 'object' ? JSON.stringify(x) : String(x)}`)
    .join(', ');
}

const ms = (v: number | null): string => (v === null ? 'too few samples' : formatValue(v, 'ms'));
const bytes = (v: number | null, missing = '—'): string => (v === null ? missing : formatBytes(v));

/** Scenario name, description, workload, load, SLO and gates, plus the full scenario folded away. */
export function scenarioSection(result: ResultFile): string {
  const s = result.scenario;
  const rows: string[][] = [];
  const add = (k: string, v: unknown): void => {
    if (v !== undefined && v !== null) rows.push([k, text(v)]);
  };
  add('Name', s['name']);
  add('Description', s['description']);
  add('Source', s['source']);
  add('Seed', s['seed']);
  add('Workload', s['workload']);
  add('Load', s['load']);
  add('SLO', s['slo']);
  const gates = s['gates'];
  if (Array.isArray(gates) && gates.length > 0) add('Gates', gates.map((g) => `\`${text(g)}\``).join(', '));
  add('Repeats', result.repeats);
  const parts = ['## Scenario', '', mdTable(['', ''], rows)];
  parts.push('', pipelineSpecTable(result));
  parts.push('', '<details><summary>Full scenario as run</summary>', '', '```yaml', stringify(s).trimEnd(), '```', '', '</details>');
  return parts.join('\n');
}

function pipelineSpecTable(result: ResultFile): string {
  const rows = result.pipelines.map((p) => {
    const sp = p.spec;
    const external = at(sp, 'kind') === 'external';
    const stages = at(sp, 'serving.stages.count');
    const balancer = at(sp, 'balancer.kind');
    return [
      p.name,
      p.baseline ? 'baseline' : 'variant',
      external ? `external: ${text(at(sp, 'target.url'))}` : text(at(sp, 'model.source') ?? at(sp, 'model.preset') ?? at(sp, 'model')),
      text(at(sp, 'model.quantize') ?? at(sp, 'model.quantization') ?? (external ? '—' : 'none')),
      at(sp, 'serving.replicaMode') === 'shared' ? `${text(at(sp, 'serving.replicas'))} (one process, shared weights)` : text(at(sp, 'serving.replicas')),
      text(at(sp, 'serving.threads')),
      text(at(sp, 'serving.maxBatch')),
      stages === undefined || stages === null ? '—' : text(stages),
      balancer === undefined ? text(at(sp, 'balancer')) : balancer === 'none' ? 'none' : `${text(balancer)} ${text(at(sp, 'balancer.policy'))}`,
    ];
  });
  return mdTable(['Pipeline', 'Role', 'Model', 'Quantization', 'Replicas', 'Threads/replica', 'Max batch', 'Stages', 'Balancer'], rows);
}

function overviewRow(name: string, s: PipelineSummary): string[] {
  return [
    name,
    `${s.counts.ok}/${s.counts.total}`,
    ms(s.e2eMs.p50),
    ms(s.e2eMs.p95),
    ms(s.e2eMs.p99),
    ms(s.ttftMs.p50),
    ms(s.tpotMs.p50),
    ms(s.itlMs.p50),
    formatNumber(s.requestsPerSecond),
    formatNumber(s.outputTokensPerSecond),
    s.goodputRequestsPerSecond === null ? '—' : formatNumber(s.goodputRequestsPerSecond),
    bytes(s.memory.peakRssBytes),
    bytes(s.memory.gpuPeakBytes, 'n/a (no GPU)'),
    bytes(s.memory.modelFileBytes),
  ];
}

/** Absolute numbers for every pipeline, then the load each one actually received. */
export function overviewSection(result: ResultFile): string {
  const head = ['Pipeline', 'ok/total', 'E2E p50', 'E2E p95', 'E2E p99', 'TTFT p50', 'TPOT p50', 'ITL p50', 'req/s', 'tok/s', 'goodput req/s', 'peak RSS', 'GPU peak', 'model file'];
  const table = mdTable(head, result.pipelines.map((p) => overviewRow(p.name, p.summary)), ['l', ...head.slice(1).map(() => 'r' as const)]);
  const load = mdTable(
    ['Pipeline', 'Load profile', 'Intended rate', 'Achieved rate', 'p95 schedule lag', 'Max schedule lag', 'Client CPU', 'Window'],
    result.pipelines.map((p) => {
      const l = p.summary.load;
      return [
        p.name,
        l.profile,
        l.intendedRate === null ? 'closed loop' : `${formatNumber(l.intendedRate)} req/s`,
        `${formatNumber(l.achievedRate)} req/s`,
        l.p95ScheduleLagMs === null ? '—' : formatValue(l.p95ScheduleLagMs, 'ms'),
        l.maxScheduleLagMs === null ? '—' : formatValue(l.maxScheduleLagMs, 'ms'),
        l.clientCpuPct === null ? '—' : `${l.clientCpuPct.toFixed(0)}%`,
        `${(p.summary.windowMs / 1000).toFixed(1)} s`,
      ];
    }),
  );
  const probe = result.scenario['capacityProbe'] as { pipeline: string; concurrency: number; durationMs: number; requestsPerSecond: number; factor: number; rate: number; maxContext?: number | null } | undefined;
  // Older result files have no maxContext in the probe record.
  const bound = typeof probe?.maxContext === 'number' ? `, servers bounded to ${probe.maxContext} tokens per sequence as in the run` : '';
  const probeLine = probe
    ? `\n\nOpen-loop rate set from a capacity probe: \`${probe.pipeline}\` completed ${formatNumber(probe.requestsPerSecond)} req/s with ${probe.concurrency} closed-loop users over ${(probe.durationMs / 1000).toFixed(0)} s${bound}; rate = ${probe.factor} x that = ${formatNumber(probe.rate)} req/s.`
    : '';
  return ['## All pipelines', '', table, '', '### Load as delivered', '', load + probeLine].join('\n');
}

/** Per-replica requests, share and latency, for pipelines with more than one replica. */
export function balancingSection(result: ResultFile): string {
  const withReplicas = result.pipelines.filter((p) => p.summary.replicas.length > 1);
  if (withReplicas.length === 0) return '';
  const parts = ['## Load balancing', ''];
  for (const p of withReplicas) {
    const shares = p.summary.replicas.map((r) => r.share);
    const imbalance = Math.max(...shares) / Math.max(1e-9, Math.min(...shares));
    parts.push(`**${p.name}** (max/min share ${imbalance.toFixed(2)}, retries ${p.summary.retries})`, '');
    parts.push(
      mdTable(
        ['Replica', 'Requests', 'Share', 'Errors', 'E2E p50', 'E2E p95'],
        p.summary.replicas.map((r) => [r.replica, String(r.requests), `${(r.share * 100).toFixed(1)}%`, String(r.errors), ms(r.e2eMs.p50), ms(r.e2eMs.p95)]),
        ['l', 'r', 'r', 'r', 'r', 'r'],
      ),
      '',
    );
  }
  parts.push('![Per-replica load split](replicas.svg)');
  return parts.join('\n');
}

function errorMessages(p: PipelineResult): string {
  const counts = new Map<string, number>();
  for (const s of p.samples) {
    if (s.warmup || isAnswered(s)) continue;
    const key = `${s.status}: ${s.error ?? (s.httpStatus !== null ? `HTTP ${s.httpStatus}` : 'no detail')}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, 3)
    .map(([k, n]) => `${n}x ${k}`)
    .join('; ');
}

/** Errors, timeouts, retries and fault-injection events. */
export function failuresSection(result: ResultFile): string {
  const rows = result.pipelines.map((p) => {
    const c = p.summary.counts;
    return [p.name, String(c.error), String(c.timeout), String(p.summary.retries), String(p.summary.tokenCountMismatches), errorMessages(p) || '—'];
  });
  const parts = ['## Errors, retries and faults', '', mdTable(['Pipeline', 'Errors', 'Timeouts', 'Retries', 'Token-count mismatches', 'Most common failures'], rows)];
  const events = result.pipelines.flatMap((p) => p.events.map((e) => [p.name, `${(e.atMs / 1000).toFixed(2)} s`, e.kind, e.detail]));
  if (events.length > 0) parts.push('', '### Fault events', '', mdTable(['Pipeline', 'At', 'Event', 'Detail'], events));
  return parts.join('\n');
}

/** One table per pipeline with sweep points, and the throughput-latency chart. */
export function sweepSection(result: ResultFile): string {
  const swept = result.pipelines.filter((p) => p.sweep && p.sweep.length > 0);
  if (swept.length === 0) return '';
  const parts = ['## Sweep', ''];
  for (const p of swept) {
    parts.push(`**${p.name}**`, '');
    parts.push(
      mdTable(
        ['Level', 'ok/total', 'req/s', 'tok/s', 'E2E p50', 'E2E p95', 'TTFT p50', 'TPOT p50', 'Valid'],
        (p.sweep ?? []).map(({ level, summary: s }) => [
          formatNumber(level), `${s.counts.ok}/${s.counts.total}`, formatNumber(s.requestsPerSecond), formatNumber(s.outputTokensPerSecond),
          ms(s.e2eMs.p50), ms(s.e2eMs.p95), ms(s.ttftMs.p50), ms(s.tpotMs.p50), s.valid ? 'yes' : `no: ${invalidReasonsText(s.invalidReasons)}`,
        ]),
        ['r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'l'],
      ),
      '',
    );
  }
  parts.push('![Throughput vs latency](throughput-latency.svg)');
  return parts.join('\n');
}

/** Versions, machine and model hashes. */
export function provenanceSection(result: ResultFile): string {
  const p = result.provenance;
  const rows: string[][] = [
    ['Run id', result.runId],
    ['Started / finished', `${result.startedAt} / ${result.finishedAt}`],
    ['llmbench', p.llmbenchVersion + (p.gitCommit ? ` (commit ${p.gitCommit.slice(0, 12)})` : '')],
    ['Node', p.node],
    ['onnxruntime', p.onnxruntime],
    ['OS', p.os],
    ['CPU', `${p.cpuModel}, ${p.cpuCores} cores`],
    ['Memory', formatBytes(p.totalMemoryBytes)],
    ['GPU', p.gpu ?? 'none detected'],
    ...(p.int8Dot
      ? [['int8 dot product', `${p.int8Dot.saturates ? 'saturates (int8 weights quantized here use 7 bits)' : 'exact (8-bit weights)'}; flags: ${p.int8Dot.cpuFlags.join(', ') || 'none of avx512_vnni, avx_vnni, amx_int8'}`]]
      : []),
    ...Object.entries(p.modelHashes)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => [`Model ${k}`, v]),
  ];
  return ['## Provenance', '', mdTable(['', ''], rows)].join('\n');
}
