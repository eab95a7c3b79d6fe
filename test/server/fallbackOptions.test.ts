// Parsing and checking of --deadline-ms / --fallback values: exact errors for every bad input.
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { checkDeadline, parseFallbackOption } from '../../src/server/fallbackOptions.js';
import { resolveServeOptions } from '../../src/server/serveOptions.js';

function message(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    expect((e as UsageError).exitCode).toBe(2);
    return (e as UsageError).message;
  }
  throw new Error('accepted');
}

describe('deadline and fallback options', () => {
  it('parses canned and model fallbacks', () => {
    expect(parseFallbackOption('canned:Busy: try again')).toEqual({ kind: 'canned', text: 'Busy: try again' });
    expect(parseFallbackOption('model:tiny', 'int4')).toEqual({ kind: 'model', model: 'tiny', quantize: 'int4' });
    expect(parseFallbackOption('model:/models/my model')).toEqual({ kind: 'model', model: '/models/my model', quantize: null });
  });

  it.each([
    ['canned:', '--fallback canned: the text is empty'],
    ['canned:   ', '--fallback canned: the text is empty'],
    ['model:', '--fallback model: no model given'],
    ['echo:hi', '--fallback: unknown kind "echo" in "echo:hi"'],
    ['tiny', '--fallback: unknown kind "tiny" in "tiny"'],
  ])('refuses --fallback %j', (value, expected) => {
    expect(message(() => parseFallbackOption(value))).toBe(expected);
  });

  it('refuses --fallback-quantize with a canned text', () => {
    expect(message(() => parseFallbackOption('canned:x', 'int8'))).toBe('--fallback-quantize only applies to --fallback model:...');
  });

  it.each([
    [0, null, '--deadline-ms: expected a whole number of milliseconds > 0, got 0'],
    [-5, null, '--deadline-ms: expected a whole number of milliseconds > 0, got -5'],
    [1.5, null, '--deadline-ms: expected a whole number of milliseconds > 0, got 1.5'],
    [5000, 2000, '--deadline-ms 5000 is not below --timeout-ms 2000'],
    [2000, 2000, '--deadline-ms 2000 is not below --timeout-ms 2000'],
  ])('refuses deadline %s with timeout %s', (deadlineMs, timeoutMs, expected) => {
    expect(message(() => checkDeadline(deadlineMs, timeoutMs))).toBe(expected);
  });

  it('resolveServeOptions checks the deadline against the timeout', () => {
    const deadline = { deadlineMs: 3000, scope: 'total' as const, fallback: { kind: 'canned' as const, text: 'x' }, fallbackMaxBatch: 1 };
    expect(message(() => resolveServeOptions({ model: 'tiny', timeoutMs: 1000, deadline }))).toBe('--deadline-ms 3000 is not below --timeout-ms 1000');
    expect(resolveServeOptions({ model: 'tiny', timeoutMs: null, deadline }).deadline).toEqual(deadline);
  });
});
