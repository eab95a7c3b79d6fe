import { describe, expect, it } from 'vitest';
import { MetricsRegistry } from '../../src/server/metricsRegistry.js';

describe('MetricsRegistry', () => {
  it('renders counters, gauges and histograms in the Prometheus text format', () => {
    const r = new MetricsRegistry();
    const c = r.counter('x_requests_total', 'Requests.', ['endpoint', 'status']);
    c.inc({ endpoint: '/v1/completions', status: '200' });
    c.inc({ endpoint: '/v1/completions', status: '200' }, 2);
    c.inc({ endpoint: 'a"b\\c\nd', status: '404' });
    r.counter('x_plain_total', 'Never incremented.');
    r.gauge('x_depth', 'Depth.', () => 3);
    const h = r.histogram('x_seconds', 'Latency.', [1, 0.5]);
    h.observe(0.2);
    h.observe(0.7);
    h.observe(5);
    expect(r.render()).toBe(
      [
        '# HELP x_requests_total Requests.',
        '# TYPE x_requests_total counter',
        'x_requests_total{endpoint="/v1/completions",status="200"} 3',
        'x_requests_total{endpoint="a\\"b\\\\c\\nd",status="404"} 1',
        '# HELP x_plain_total Never incremented.',
        '# TYPE x_plain_total counter',
        'x_plain_total 0',
        '# HELP x_depth Depth.',
        '# TYPE x_depth gauge',
        'x_depth 3',
        '# HELP x_seconds Latency.',
        '# TYPE x_seconds histogram',
        'x_seconds_bucket{le="0.5"} 1',
        'x_seconds_bucket{le="1"} 2',
        'x_seconds_bucket{le="+Inf"} 3',
        'x_seconds_sum 5.9',
        'x_seconds_count 3',
        '',
      ].join('\n'),
    );
    expect(c.get({ endpoint: '/v1/completions', status: '200' })).toBe(3);
  });

  it('refuses duplicate names and missing labels', () => {
    const r = new MetricsRegistry();
    const c = r.counter('a_total', 'A.', ['k']);
    expect(() => r.counter('a_total', 'again')).toThrow(/registered twice/);
    expect(() => c.inc({})).toThrow(/missing label "k"/);
  });
});
