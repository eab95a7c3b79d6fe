// A small Prometheus registry: counters, gauges and histograms with labels, rendered in the text exposition
// format (version 0.0.4). Written here rather than pulled in so the server has no metrics dependency.

type LabelValues = Record<string, string>;

/** Content-Type of the text exposition format. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function formatValue(v: number): string {
  if (v === Number.POSITIVE_INFINITY) return '+Inf';
  if (v === Number.NEGATIVE_INFINITY) return '-Inf';
  if (Number.isNaN(v)) return 'NaN';
  return String(v);
}

function labelText(names: readonly string[], values: readonly string[], extra = ''): string {
  const parts = names.map((n, i) => `${n}="${escapeLabel(values[i] ?? '')}"`);
  if (extra) parts.push(extra);
  return parts.length ? `{${parts.join(',')}}` : '';
}

abstract class Metric {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {}

  protected key(labels: LabelValues): string[] {
    return this.labelNames.map((n) => {
      const v = labels[n];
      if (v === undefined) throw new Error(`metric ${this.name}: missing label "${n}"`);
      return v;
    });
  }

  abstract readonly type: 'counter' | 'gauge' | 'histogram';
  abstract lines(): string[];

  render(): string {
    return [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.type}`, ...this.lines()].join('\n');
  }
}

/** A monotonically increasing count. */
export class Counter extends Metric {
  readonly type = 'counter';
  private readonly values = new Map<string, { labels: string[]; value: number }>();

  inc(labels: LabelValues = {}, by = 1): void {
    const values = this.key(labels);
    const k = JSON.stringify(values);
    const cur = this.values.get(k);
    if (cur) cur.value += by;
    else this.values.set(k, { labels: values, value: by });
  }

  /** Current value for a label set (0 when never incremented). */
  get(labels: LabelValues = {}): number {
    return this.values.get(JSON.stringify(this.key(labels)))?.value ?? 0;
  }

  lines(): string[] {
    if (this.values.size === 0 && this.labelNames.length === 0) return [`${this.name} 0`];
    return [...this.values.values()].map((v) => `${this.name}${labelText(this.labelNames, v.labels)} ${formatValue(v.value)}`);
  }
}

/** A value read at scrape time from a callback. */
export class Gauge extends Metric {
  readonly type = 'gauge';

  constructor(name: string, help: string, private readonly read: () => number) {
    super(name, help, []);
  }

  lines(): string[] {
    return [`${this.name} ${formatValue(this.read())}`];
  }
}

/** Cumulative-bucket histogram. */
export class Histogram extends Metric {
  readonly type = 'histogram';
  private readonly bucketCounts: number[];
  private sum = 0;
  private count = 0;

  constructor(name: string, help: string, readonly buckets: readonly number[]) {
    super(name, help, []);
    this.bucketCounts = buckets.map(() => 0);
  }

  observe(v: number): void {
    this.sum += v;
    this.count += 1;
    for (let i = 0; i < this.buckets.length; i++) {
      if (v <= (this.buckets[i] ?? Number.POSITIVE_INFINITY)) this.bucketCounts[i] = (this.bucketCounts[i] ?? 0) + 1;
    }
  }

  /** Observations so far. */
  get observations(): number {
    return this.count;
  }

  lines(): string[] {
    const out = this.buckets.map((b, i) => `${this.name}_bucket${labelText([], [], `le="${formatValue(b)}"`)} ${this.bucketCounts[i] ?? 0}`);
    out.push(`${this.name}_bucket{le="+Inf"} ${this.count}`);
    out.push(`${this.name}_sum ${formatValue(this.sum)}`);
    out.push(`${this.name}_count ${this.count}`);
    return out;
  }
}

/** Holds metrics in registration order and renders them all. */
export class MetricsRegistry {
  private readonly metrics: Metric[] = [];

  private add<M extends Metric>(m: M): M {
    if (this.metrics.some((x) => x.name === m.name)) throw new Error(`metric ${m.name} registered twice`);
    this.metrics.push(m);
    return m;
  }

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.add(new Counter(name, help, labelNames));
  }

  gauge(name: string, help: string, read: () => number): Gauge {
    return this.add(new Gauge(name, help, read));
  }

  histogram(name: string, help: string, buckets: readonly number[]): Histogram {
    return this.add(new Histogram(name, help, [...buckets].sort((a, b) => a - b)));
  }

  /** The whole registry in the text exposition format. */
  render(): string {
    return this.metrics.map((m) => m.render()).join('\n') + '\n';
  }
}
