// Scenarios shipped with llmbench, read from src/scenarios/builtin/ relative to the package root so the
// same files serve the compiled CLI (dist/) and the tests (src/) without a copy step.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';

/** Folder holding the shipped scenario files. */
export const BUILTIN_DIR = fileURLToPath(new URL('../../src/scenarios/builtin/', import.meta.url));

/** A shipped scenario's name and one-line description. */
export interface BuiltinScenario {
  name: string;
  file: string;
  description: string;
}

/** Path of a shipped scenario by name (with or without .yaml), or null. */
export function builtinScenarioPath(name: string): string | null {
  if (!/^[A-Za-z0-9._-]+$/.test(name)) return null;
  const base = name.replace(/\.ya?ml$/, '');
  for (const ext of ['.yaml', '.yml']) {
    const p = join(BUILTIN_DIR, base + ext);
    if (existsSync(p)) return p;
  }
  return null;
}

/** Shipped scenarios, sorted by name. */
export function listBuiltinScenarios(): BuiltinScenario[] {
  if (!existsSync(BUILTIN_DIR)) return [];
  return readdirSync(BUILTIN_DIR)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => {
      const file = join(BUILTIN_DIR, f);
      const data = parseDocument(readFileSync(file, 'utf8')).toJS() as { description?: unknown } | null;
      const description = typeof data?.description === 'string' ? data.description.trim().split('\n')[0] ?? '' : '';
      return { name: f.replace(/\.ya?ml$/, ''), file, description };
    });
}
