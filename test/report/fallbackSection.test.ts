// The "Deadlines and fallbacks" report section: policy text, shares, latency of primary and fallback answers
// apart, the fallback model's quality row; absent when no pipeline has a fallback.
import { beforeAll, describe, expect, it } from 'vitest';
import { fallbackPolicy, fallbackSection } from '../../src/report/fallbackSection.js';
import { readResultFile } from '../../src/result/readResult.js';
import { renderRunReport } from '../../src/report/runReport.js';
import { summarizePipeline } from '../../src/stats/summarize.js';
import type { PipelineResult, ResultFile } from '../../src/types.js';
import { STUDY_FIXTURE } from '../fixtures/paths.js';

let study: ResultFile;
beforeAll(async () => {
  study = await readResultFile(STUDY_FIXTURE);
});

/** The fixture's variant with every third measured answer turned into a deadline fallback. */
function withFallbacks(p: PipelineResult): PipelineResult {
  let i = 0;
  const samples = p.samples.map((s) => (!s.warmup && s.status === 'ok' && i++ % 3 === 0 ? { ...s, status: 'fallback' as const, fallbackReason: 'deadline' } : s));
  const summary = summarizePipeline(samples, [], { profile: 'concurrency', slo: null, intendedRate: null, dispatchLagMs: [], clientCpuPct: null, modelFileBytes: null, faultsInjected: false });
  return {
    ...p,
    samples,
    summary: { ...p.summary, counts: summary.counts, e2eMs: summary.e2eMs, ...(summary.fallback ? { fallback: summary.fallback } : {}) },
    spec: { ...p.spec, serving: { deadline: { afterMs: 1500, scope: 'first-token', fallback: { kind: 'model', source: '/models/gpt2-int4', quantize: 'int4' } } } },
    fallbackQuality: { model: 'gpt2 (int4)', report: { ...(study.pipelines[1]?.quality as NonNullable<PipelineResult['quality']>), perplexity: 22.71, perplexityDeltaPct: 1.25, top1Agreement: 0.93 }, note: 'vs the primary model' },
  };
}

describe('fallback section', () => {
  it('is empty when no pipeline has or used a fallback', () => {
    expect(fallbackSection(study)).toBe('');
  });

  it('describes policies', () => {
    const base = study.pipelines[0] as PipelineResult;
    expect(fallbackPolicy(base)).toBe('none');
    expect(fallbackPolicy({ ...base, spec: { serving: { deadline: { afterMs: 800, scope: 'total', fallback: { kind: 'canned', text: 'x' } } } } })).toBe('deadline 800 ms (total) → canned text');
    expect(fallbackPolicy({ ...base, spec: { balancer: { kind: 'nginx', fallback: { replicas: 2, model: { source: 'tiny', quantize: null } } } } })).toBe('nginx backup: tiny x2');
  });

  it('shows shares, all / primary / fallback latency and the fallback model quality, in the markdown and terminal reports', async () => {
    const variant = withFallbacks(study.pipelines[1] as PipelineResult);
    const result: ResultFile = { ...study, pipelines: [study.pipelines[0] as PipelineResult, variant] };
    const md = fallbackSection(result);
    const s = variant.summary;
    const fb = s.fallback;
    if (!fb) throw new Error('no fallbacks');
    const row = md.split('\n').find((l) => l.startsWith(`| ${variant.name} |`)) ?? '';
    const cells = row.split('|').slice(1, -1).map((c) => c.trim());
    expect(cells[1]).toBe('deadline 1500 ms (first-token) → model gpt2-int4 int4');
    expect(cells[2]).toBe(`${s.counts.ok} (${((s.counts.ok / s.counts.total) * 100).toFixed(1)}%)`);
    expect(cells[3]).toBe(`${fb.count} (${(fb.share * 100).toFixed(1)}%) deadline: ${fb.count}`);
    expect(cells[4]).toBe('0 (0.0%)');
    expect(cells[5]).toBe(`${Math.round(s.e2eMs.p50 as number)} ms`);
    expect(s.e2eMs.count).toBe(s.counts.ok + fb.count);
    expect(fb.primaryE2eMs.count).toBe(s.counts.ok);
    expect(md).toContain('| int8 | gpt2 (int4) | 22.71 | +1.25% | 93.0% | vs the primary model |');
    const rendered = await renderRunReport(result);
    expect(rendered.markdown).toContain('## Deadlines and fallbacks');
    expect(rendered.terminal).toContain('Deadlines and fallbacks');
    expect(rendered.terminal).toMatch(/Fallback answers +│ 0\.0% +│ \d+\.\d% +│/);
  });
});
