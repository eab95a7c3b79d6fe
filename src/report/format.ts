// Number formatting shared by every renderer, so the terminal, markdown and gate verdicts print the same text.
import type { MetricChange } from '../stats/compare.js';
import type { MetricUnit } from '../stats/metrics.js';

const KIB = 1024;
const MIB = 1024 ** 2;
const GIB = 1024 ** 3;

/** Fixed decimals chosen by magnitude: 3 significant-ish digits without scientific notation. */
export function formatNumber(v: number): string {
  const a = Math.abs(v);
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  if (a === 0) return '0';
  return v.toPrecision(3);
}

/** Bytes in binary units (the unit RSS tools use). */
export function formatBytes(v: number): string {
  if (Math.abs(v) >= GIB) return `${(v / GIB).toFixed(2)} GiB`;
  if (Math.abs(v) >= MIB) return `${(v / MIB).toFixed(1)} MiB`;
  if (Math.abs(v) >= KIB) return `${(v / KIB).toFixed(1)} KiB`;
  return `${v.toFixed(0)} B`;
}

/** Signed percent with one decimal ("+12.3%", "-60.0%"). */
export function formatPct(v: number, decimals = 1): string {
  const s = v.toFixed(decimals);
  return `${v > 0 ? '+' : ''}${s === `-${(0).toFixed(decimals)}` ? (0).toFixed(decimals) : s}%`;
}

/** A value in its unit. */
export function formatValue(v: number, unit: MetricUnit): string {
  switch (unit) {
    case 'ms':
      return `${formatNumber(v)} ms`;
    case 'bytes':
      return formatBytes(v);
    case 'req/s':
      return `${formatNumber(v)} req/s`;
    case 'tok/s':
      return `${formatNumber(v)} tok/s`;
    case 'pct':
      return formatPct(v, 2);
    case 'fraction':
      return `${(v * 100).toFixed(1)}%`;
    case 'nats':
      return formatNumber(v);
    case 'count':
      return v.toFixed(0);
    case 'number':
      return formatNumber(v);
  }
}

/** Value cell: the number, or why there is none. */
export function formatCell(v: number | null, note: string | null, unit: MetricUnit): string {
  if (v !== null) return formatValue(v, unit);
  if (note === 'no GPU') return 'n/a (no GPU)';
  if (note === 'reference') return '(reference)';
  return note ?? 'n/a';
}

const ARROW = { up: '↑', down: '↓', flat: '=' } as const;

/** Change cell: "-60.0% ↓ better"; fractions (error rate) change in percentage points. */
export function formatChange(c: MetricChange): string {
  if (c.unit === 'fraction' && c.baseline !== null && c.variant !== null) {
    const pp = (c.variant - c.baseline) * 100;
    const worse = (pp > 0) === (c.better === 'lower');
    return pp === 0 ? '0 pp = same' : `${pp > 0 ? '+' : ''}${pp.toFixed(1)} pp ${pp > 0 ? ARROW.up : ARROW.down} ${worse ? 'worse' : 'better'}`;
  }
  if (c.changePct === null) return c.baselineNote === 'reference' ? '—' : 'n/a';
  const arrow = c.changePct > 0 ? ARROW.up : c.changePct < 0 ? ARROW.down : ARROW.flat;
  const word = c.direction === 'same' ? 'same' : (c.direction ?? '');
  return `${formatPct(c.changePct)} ${arrow} ${word}`.trim();
}

// Table cells stay narrow; the report's method notes explain each reason at length.
const SHORT_CI_NOTE: Readonly<Record<string, string>> = {
  'single measurement per process': 'n/a (1 measurement)',
  'file size': 'n/a',
  'deterministic evaluation': 'n/a',
  'SLO judged per request by the run': 'n/a',
  count: 'n/a',
};

/** CI cell: "[-65.1%, -54.2%]" or "n/a (reason)". */
export function formatCi(c: MetricChange): string {
  if (c.ci) return `[${formatPct(c.ci.lowPct)}, ${formatPct(c.ci.highPct)}]`;
  if (c.changePct === null) return '—';
  const note = c.ciNote ?? 'no interval';
  return SHORT_CI_NOTE[note] ?? `n/a (${note})`;
}

/** Significance cell. */
export function formatSignificant(c: MetricChange): string {
  if (c.significant === null) return c.changePct === null ? '—' : 'n/a';
  return c.significant ? 'yes' : 'no';
}

/** A p-value: "p=0.032", "p<0.001". */
export function formatP(p: number): string {
  if (p < 0.001) return 'p<0.001';
  return `p=${p.toFixed(3)}`;
}

/** A ratio: "2.31x". */
export function formatRatio(v: number): string {
  return `${v.toFixed(2)}x`;
}
