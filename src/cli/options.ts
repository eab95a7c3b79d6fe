// Parsing helpers for CLI option values: one clear error naming the option and the bad value.
import { UsageError } from '../errors.js';

/** Parses an integer option within [min, max]. */
export function parseIntOption(name: string, value: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(value);
  if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`${name}: expected an integer ${max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in ${min}..${max}`}, got "${value}"`);
  }
  return n;
}

/** Parses a number option within [min, max]. */
export function parseNumberOption(name: string, value: string, min: number, max = Number.POSITIVE_INFINITY): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
    throw new UsageError(`${name}: expected a number ${max === Number.POSITIVE_INFINITY ? `>= ${min}` : `in ${min}..${max}`}, got "${value}"`);
  }
  return n;
}
