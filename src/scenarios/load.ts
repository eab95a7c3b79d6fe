// Reads a scenario (YAML or JSON) into a validated Scenario, or throws ScenarioError listing every problem.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { ScenarioError, UsageError } from '../errors.js';
import { builtinScenarioPath, listBuiltinScenarios } from './builtin.js';
import { crossSectionProblems, finalizeScenario } from './finalize.js';
import { formatIssues } from './issues.js';
import { scenarioFileSchema } from './schema.js';
import type { Scenario } from './types.js';

/** How to read one scenario text. */
export interface ParseOptions {
  /** Shown in errors and kept in the Scenario. */
  source: string;
  /** Folder relative paths resolve against. */
  baseDir: string;
  /** Check that model folders and JSONL files exist (default true). */
  checkFiles?: boolean;
  /** --allow-remote: every external target may be off this machine, as if it said target.allowRemote: true. */
  allowRemote?: boolean;
}

/** The data with allowRemote set on every external target (the command line's --allow-remote). */
function withRemoteAllowed(data: unknown): unknown {
  const d = data as { pipelines?: unknown } | null;
  if (!d || typeof d !== 'object' || !Array.isArray(d.pipelines)) return data;
  const pipelines = d.pipelines.map((p: unknown) => {
    const t = (p as { target?: unknown } | null)?.target;
    return t && typeof t === 'object' ? { ...(p as object), target: { ...t, allowRemote: true } } : p;
  });
  return { ...d, pipelines };
}

/** Parses and validates scenario text (YAML, of which JSON is a subset). */
export function parseScenario(text: string, opts: ParseOptions): Scenario {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((e) => {
      const pos = e.linePos?.[0];
      const what = (e.message.split('\n')[0] ?? e.message).replace(/ at line \d+, column \d+:?$/, '');
      return `${pos ? `line ${pos.line}, column ${pos.col}` : 'syntax'}: ${what}`;
    });
    throw new ScenarioError(opts.source, problems);
  }
  const data: unknown = doc.toJS();
  return validateScenario(data, opts);
}

/** Validates already-parsed data (e.g. a scenario object built in code). */
export function validateScenario(raw: unknown, opts: ParseOptions): Scenario {
  const data = opts.allowRemote === true ? withRemoteAllowed(raw) : raw;
  const parsed = scenarioFileSchema.safeParse(data);
  const cross = crossSectionProblems(data);
  if (!parsed.success) throw new ScenarioError(opts.source, [...formatIssues(parsed.error.issues, data), ...cross]);
  const { scenario, problems } = finalizeScenario(parsed.data, {
    source: opts.source,
    baseDir: opts.baseDir,
    checkFiles: opts.checkFiles ?? true,
  });
  if (problems.length + cross.length > 0) throw new ScenarioError(opts.source, [...problems, ...cross]);
  return scenario;
}

/** Loads a scenario file from disk. */
export function loadScenarioFile(path: string, o: { allowRemote?: boolean } = {}): Scenario {
  const abs = resolve(path);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read scenario ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  return parseScenario(text, { source: path, baseDir: dirname(abs), ...o });
}

/** A path to a scenario file, or the name of a shipped one (`fp32-vs-int8`). */
export function loadScenario(pathOrName: string, o: { allowRemote?: boolean } = {}): Scenario {
  if (existsSync(pathOrName) && statSync(pathOrName).isFile()) return loadScenarioFile(pathOrName, o);
  const builtin = builtinScenarioPath(pathOrName);
  if (builtin) {
    const text = readFileSync(builtin, 'utf8');
    return parseScenario(text, { source: `builtin:${pathOrName.replace(/\.ya?ml$/, '')}`, baseDir: dirname(builtin), ...o });
  }
  const names = listBuiltinScenarios().map((s) => s.name);
  throw new UsageError(
    `no scenario file or shipped scenario named "${pathOrName}"`,
    `shipped scenarios: ${names.join(', ') || '(none)'}; see \`llmbench scenarios list\``,
  );
}
