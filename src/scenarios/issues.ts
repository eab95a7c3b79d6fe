// Turns zod issues into "path: message" lines a user can act on. Unions are resolved to the branch the
// input was evidently meant for, so a typo in a local pipeline is not reported as "not an external one".
import type { z } from 'zod';

type Issue = z.core.$ZodIssue;
type PathKey = PropertyKey;

/** `pipelines[1].model.quantize` from ['pipelines', 1, 'model', 'quantize']. */
export function formatPath(path: readonly PathKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out === '' ? '(root)' : out;
}

function typeName(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return `"${value.length > 40 ? `${value.slice(0, 40)}...` : value}"`;
  return String(value);
}

function valueAt(root: unknown, path: readonly PathKey[]): unknown {
  let cur: unknown = root;
  for (const key of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key as string];
  }
  return cur;
}

const EXPECTED_WORDS: Record<string, string> = {
  int: 'an integer',
  number: 'a number',
  string: 'a string',
  boolean: 'true or false',
  object: 'an object',
  array: 'a list',
  tuple: 'a list',
};

/** Branch issues that mean "this input is not this kind of thing at all". */
function isShapeMismatch(issue: Issue, depth: number): boolean {
  return issue.path.length === depth && (issue.code === 'invalid_type' || issue.code === 'unrecognized_keys');
}

function messageFor(issue: Issue, input: unknown, fullPath: readonly PathKey[]): string {
  const value = valueAt(input, fullPath);
  switch (issue.code) {
    case 'invalid_type': {
      if (value === undefined) return 'required';
      // A schema-specific message (durations, names) says more than the generic type mismatch.
      if (!issue.message.startsWith('Invalid input')) return issue.message;
      const expected = EXPECTED_WORDS[issue.expected] ?? issue.expected;
      return `expected ${expected}, got ${typeName(value)}`;
    }
    case 'invalid_value':
      return issue.values.length === 1
        ? `expected ${String(issue.values[0])}, got ${typeName(value)}`
        : `expected one of ${issue.values.map(String).join(', ')}`;
    case 'too_small': {
      const min = Number(issue.minimum);
      if (issue.origin === 'array') return `must have at least ${min} item${min === 1 ? '' : 's'}`;
      if (issue.origin === 'string') return min === 1 ? 'must not be empty' : `must be at least ${min} characters`;
      return issue.inclusive ? `must be >= ${min}` : `must be > ${min}`;
    }
    case 'too_big': {
      const max = Number(issue.maximum);
      if (issue.origin === 'array') return `must have at most ${max} items`;
      if (issue.origin === 'string') return `must be at most ${max} characters`;
      return issue.inclusive ? `must be <= ${max}` : `must be < ${max}`;
    }
    case 'invalid_format':
      return issue.message.startsWith('Invalid') ? 'invalid format' : issue.message;
    default:
      return issue.message;
  }
}

/** All problems in a failed parse, one "path: message" line each, in schema order. */
export function formatIssues(issues: readonly Issue[], input: unknown, prefix: readonly PathKey[] = []): string[] {
  const lines: string[] = [];
  for (const issue of issues) {
    const fullPath = [...prefix, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) lines.push(`${formatPath([...fullPath, key])}: unknown field`);
      continue;
    }
    if (issue.code === 'invalid_union') {
      lines.push(...formatUnion(issue, input, fullPath));
      continue;
    }
    lines.push(`${formatPath(fullPath)}: ${messageFor(issue, input, fullPath)}`);
  }
  return lines;
}

function formatUnion(issue: Issue & { code: 'invalid_union' }, input: unknown, fullPath: readonly PathKey[]): string[] {
  const value = valueAt(input, fullPath);
  if (issue.errors.length === 0) {
    // A discriminated union with no matching tag: list the tags.
    const options = (issue as { options?: unknown[] }).options;
    const tagDetail = Array.isArray(options) ? `expected one of ${options.map(String).join(', ')}` : 'invalid value';
    return [`${formatPath(fullPath)}: ${value === undefined ? 'required' : tagDetail}`];
  }
  const fitting = issue.errors.filter((branch) => !branch.some((i) => isShapeMismatch(i, 0)));
  if (fitting.length === 0) {
    if (value === undefined) return [`${formatPath(fullPath)}: required`];
    const expected = new Set<string>();
    for (const branch of issue.errors) {
      for (const i of branch) {
        if (i.code === 'invalid_type' && i.path.length === 0) expected.add(EXPECTED_WORDS[i.expected] ?? i.expected);
      }
    }
    // Objects that match no branch: report the branch with the fewest complaints.
    if (typeof value === 'object' && value !== null) {
      const best = [...issue.errors].sort((a, b) => a.length - b.length)[0] ?? [];
      return formatIssues(best, input, fullPath);
    }
    return [`${formatPath(fullPath)}: expected ${[...expected].join(' or ')}, got ${typeName(value)}`];
  }
  const best = [...fitting].sort((a, b) => a.length - b.length)[0] ?? [];
  return formatIssues(best, input, fullPath);
}
