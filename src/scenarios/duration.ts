// Human durations in scenario files ("500ms", "30s", "2m", "1h") and their millisecond values.

/** Pattern a duration string must match; shared by the validator and the generated JSON Schema. */
export const DURATION_PATTERN = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds in a duration string, or null when it is not one. */
export function parseDurationMs(text: string): number | null {
  const m = DURATION_PATTERN.exec(text.trim());
  if (!m) return null;
  const value = Number(m[1]);
  const unit = UNIT_MS[m[2] as string] as number;
  return value * unit;
}

/** Short human form of a millisecond count ("1.5s", "250ms", "2m"). */
export function formatDurationMs(ms: number): string {
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms >= 1000) return `${Number((ms / 1000).toFixed(3))}s`;
  return `${Number(ms.toFixed(3))}ms`;
}
