import { describe, expect, it } from 'vitest';
import { LlmbenchError } from '../../src/errors.js';
import { parseGate, parseGates, validMetricList } from '../../src/gate/parse.js';

describe('parseGate', () => {
  it.each([
    ['variant.e2eMs.p95 <= 300', { kind: 'value', target: { kind: 'variants' }, metric: 'e2eMs.p95', op: '<=', threshold: 300 }],
    ['variant.e2eMs.p95 <= 0.3s', { kind: 'value', metric: 'e2eMs.p95', threshold: 300 }],
    ['baseline.ttftMs.p50 < 500ms', { kind: 'value', target: { kind: 'baseline' }, metric: 'ttftMs.p50', op: '<', threshold: 500 }],
    ['speedup(outputTokensPerSecond) >= 1.5', { kind: 'speedup', target: { kind: 'variants' }, metric: 'outputTokensPerSecond', op: '>=', threshold: 1.5 }],
    ['speedup( e2eMs.p50 ) >= 2x', { kind: 'speedup', metric: 'e2eMs.p50', threshold: 2 }],
    ['ratio(memory.peakRssBytes) <= 0.5', { kind: 'ratio', metric: 'memory.peakRssBytes', threshold: 0.5 }],
    ['ratio(peakRssBytes) <= 0.5', { kind: 'ratio', metric: 'memory.peakRssBytes', threshold: 0.5 }],
    ['change(tpotMs.mean) <= -20%', { kind: 'change', metric: 'tpotMs.mean', op: '<=', threshold: -20 }],
    ['quality.perplexityDeltaPct <= 2', { kind: 'value', target: { kind: 'variants' }, metric: 'quality.perplexityDeltaPct', threshold: 2 }],
    ['quality.perplexityDeltaPct <= 2%', { metric: 'quality.perplexityDeltaPct', threshold: 2 }],
    ['quality.top1Agreement >= 95%', { metric: 'quality.top1Agreement', op: '>=', threshold: 0.95 }],
    ['pipeline("int8").speedup(outputTokensPerSecond) >= 2', { kind: 'speedup', target: { kind: 'pipeline', name: 'int8' }, threshold: 2 }],
    ["pipeline('int8 x2').e2eMs.p99 < 1s", { kind: 'value', target: { kind: 'pipeline', name: 'int8 x2' }, metric: 'e2eMs.p99', threshold: 1000 }],
    ['variant.memory.peakRssBytes <= 1.5GiB', { metric: 'memory.peakRssBytes', threshold: 1.5 * 1024 ** 3 }],
    ['variant.peakRssBytes <= 800MB', { metric: 'memory.peakRssBytes', threshold: 800e6 }],
    ['variant.errorRate == 0', { metric: 'errorRate', op: '==', threshold: 0 }],
    ['variant.goodput >= 5', { metric: 'goodputRequestsPerSecond', threshold: 5 }],
  ])('%s', (src, want) => {
    expect(parseGate(src)).toMatchObject(want);
  });

  it.each([
    ['e2eMs.p95 <= 300', 'gate "e2eMs.p95 <= 300": say which pipeline "e2eMs.p95" belongs to: variant.e2eMs.p95, baseline.e2eMs.p95 or pipeline("NAME").e2eMs.p95'],
    ['variant.e2e.p95 <= 300', 'gate "variant.e2e.p95 <= 300": unknown metric "e2e.p95" (did you mean e2eMs.p95?)'],
    ['speedup(tokensPerSecond) >= 1.5', 'gate "speedup(tokensPerSecond) >= 1.5": unknown metric "tokensPerSecond"'],
    ['variant.e2eMs.p95 <= 300MB', 'gate "variant.e2eMs.p95 <= 300MB": unit "MB" does not fit e2eMs.p95 (measured in ms)'],
    ['speedup(outputTokensPerSecond) >= 50%', 'gate "speedup(outputTokensPerSecond) >= 50%": speedup() compares as a plain ratio; use a number like 1.5 or 1.5x, not "%"'],
    ['variant.e2eMs.p95 300', 'gate "variant.e2eMs.p95 300": expected <subject> <op> <number>[unit]'],
    ['pipeline("a").variant.e2eMs.p95 < 3', 'gate "pipeline("a").variant.e2eMs.p95 < 3": pipeline("a") already picks the pipeline; drop "variant."'],
  ])('rejects %s', (src, message) => {
    let err: unknown;
    try {
      parseGate(src);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(LlmbenchError);
    expect((err as LlmbenchError).message).toBe(message);
    expect((err as LlmbenchError).exitCode).toBe(2);
  });

  it('lists the valid metrics when one is unknown', () => {
    let hint = '';
    try {
      parseGate('speedup(tokensPerSecond) >= 1.5');
    } catch (e) {
      hint = (e as LlmbenchError).hint ?? '';
    }
    expect(hint).toContain('Valid metrics: e2eMs.{p50,p90,p95,p99,mean}, ttftMs.{p50,p90,p95,p99,mean}');
    expect(hint).toContain('outputTokensPerSecond');
    expect(hint).toContain('memory.peakRssBytes');
    expect(hint).toContain('quality.perplexityDeltaPct');
    expect(validMetricList().split(', ').length).toBeGreaterThan(15);
  });

  it('collects every bad expression into one error', () => {
    expect(() => parseGates(['variant.x < 1', 'variant.e2eMs.p50 < 1', 'nonsense'])).toThrow(/2 invalid gate expressions:\n {2}gate "variant.x < 1": unknown metric "x"/);
  });
});
