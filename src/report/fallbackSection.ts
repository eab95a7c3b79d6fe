// The resilience view of a run: per pipeline, its deadline/fallback policy, how requests ended (primary answer,
// fallback answer, failure), latency of primary and fallback answers apart, and the fallback model's quality.
// Pure: result in, markdown out ('' when no pipeline has a fallback configured or used).
import type { Distribution, PipelineResult, ResultFile } from '../types.js';
import { formatNumber, formatValue } from './format.js';
import { mdTable } from './mdTable.js';

interface PolicyView {
  serving?: { deadline?: { afterMs: number; scope: string; fallback: { kind: string; text?: string; source?: string; quantize?: string | null } } | null };
  balancer?: { kind?: string; fallback?: { replicas: number; model: { source: string; quantize: string | null } } | null };
}

function shortSource(s: string): string {
  return s.split(/[\\/]/).filter(Boolean).pop() ?? s;
}

/** "deadline 1500 ms (first-token) → model small int4; backup small int4 x1", or "none". */
export function fallbackPolicy(p: PipelineResult): string {
  const spec = p.spec as PolicyView;
  const parts: string[] = [];
  const d = spec.serving?.deadline;
  if (d) {
    const f = d.fallback;
    const who = f.kind === 'canned' ? 'canned text' : `model ${shortSource(f.source ?? '?')}${f.quantize ? ` ${f.quantize}` : ''}`;
    parts.push(`deadline ${d.afterMs} ms (${d.scope}) → ${who}`);
  }
  const b = spec.balancer?.fallback;
  if (b && spec.balancer?.kind !== 'none') parts.push(`${spec.balancer?.kind} backup: ${shortSource(b.model.source)}${b.model.quantize ? ` ${b.model.quantize}` : ''} x${b.replicas}`);
  return parts.length > 0 ? parts.join('; ') : 'none';
}

const p = (d: Distribution | undefined, k: 'p50' | 'p95' | 'p99'): string => {
  if (!d || d.count === 0) return '—';
  const v = d[k];
  return v === null ? 'too few samples' : formatValue(v, 'ms');
};

function share(n: number, total: number): string {
  return total > 0 ? `${n} (${((n / total) * 100).toFixed(1)}%)` : String(n);
}

/** Markdown section; '' when no pipeline has or used a fallback. */
export function fallbackSection(result: ResultFile): string {
  const relevant = result.pipelines.some((x) => x.summary.fallback !== undefined || fallbackPolicy(x) !== 'none');
  if (!relevant) return '';
  const head = ['Pipeline', 'Fallback policy', 'Primary answers', 'Fallback answers', 'Failed', 'E2E p50 (all)', 'E2E p95 (all)', 'E2E p99 (all)', 'Primary E2E p50', 'Primary E2E p99', 'Fallback E2E p50', 'Fallback E2E p99', 'Fallback TTFT p50', 'Goodput req/s'];
  const rows = result.pipelines.map((x) => {
    const s = x.summary;
    const c = s.counts;
    const fb = s.fallback;
    const reasons = fb ? ` ${Object.entries(fb.reasons).map(([r, n]) => `${r}: ${n}`).join(', ')}` : '';
    return [
      x.name,
      fallbackPolicy(x),
      share(c.ok, c.total),
      `${share(fb?.count ?? 0, c.total)}${reasons}`,
      share(c.error + c.timeout, c.total),
      p(s.e2eMs, 'p50'),
      p(s.e2eMs, 'p95'),
      p(s.e2eMs, 'p99'),
      p(fb?.primaryE2eMs ?? s.e2eMs, 'p50'),
      p(fb?.primaryE2eMs ?? s.e2eMs, 'p99'),
      p(fb?.e2eMs, 'p50'),
      p(fb?.e2eMs, 'p99'),
      p(fb?.ttftMs, 'p50'),
      s.goodputRequestsPerSecond === null ? '—' : formatNumber(s.goodputRequestsPerSecond),
    ];
  });
  const parts = [
    '## Deadlines and fallbacks',
    '',
    'Every measured request ends as a primary answer, a fallback answer (a server past its deadline, or a balancer backup) or a failure (error or client timeout). ' +
      '"E2E (all)" counts every answer the client waited for; throughput and goodput count primary answers only.',
    '',
    mdTable(head, rows, ['l', 'l', ...head.slice(2).map(() => 'r' as const)]),
  ];
  const quality = result.pipelines.filter((x) => x.fallbackQuality);
  if (quality.length > 0) {
    const qRows = quality.map((x) => {
      const q = x.fallbackQuality as NonNullable<PipelineResult['fallbackQuality']>;
      const r = q.report;
      return [
        x.name,
        q.model,
        r ? r.perplexity.toFixed(2) : '—',
        r?.perplexityDeltaPct == null ? '—' : `${r.perplexityDeltaPct >= 0 ? '+' : ''}${r.perplexityDeltaPct.toFixed(2)}%`,
        r?.top1Agreement == null ? '—' : `${(r.top1Agreement * 100).toFixed(1)}%`,
        q.note ?? '',
      ];
    });
    parts.push('', '### Fallback model quality (held-out text)', '', mdTable(['Pipeline', 'Fallback model', 'Perplexity', 'Δ perplexity vs primary', 'Top-1 agreement w/ primary', 'Note'], qRows));
  }
  return parts.join('\n');
}
