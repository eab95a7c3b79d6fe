// Turns "a folder or a preset name" into a model folder, generating presets into a local cache on first use.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { ModelError } from '../errors.js';
import { PRESET_NAMES, type PresetName } from '../types.js';
import { createModel, GENERATOR_VERSION } from './create.js';
import { isPresetName } from './presets.js';

/** Seed used when a preset is named without one. */
export const DEFAULT_SEED = 42;

/** Root of llmbench's local cache ($LLMBENCH_CACHE or ~/.cache/llmbench). */
export function cacheRoot(): string {
  return resolve(process.env.LLMBENCH_CACHE ?? join(homedir(), '.cache', 'llmbench'));
}

/** Cache folder of a generated preset (versioned by generator so stale builds are never reused). */
export function presetCacheDir(preset: PresetName, seed = DEFAULT_SEED): string {
  return join(cacheRoot(), 'models', `${preset}-seed${seed}-g${GENERATOR_VERSION}`);
}

/**
 * Resolves `spec` (a path to a model folder, or a preset name optionally with `@seed`) to a folder.
 * An existing path wins over a preset of the same name.
 */
export async function resolveModelDir(spec: string, onProgress?: (msg: string) => void): Promise<string> {
  if (existsSync(spec)) return resolve(spec);
  const [name, seedText] = spec.split('@') as [string, string | undefined];
  if (isPresetName(name)) {
    const seed = seedText === undefined ? DEFAULT_SEED : Number(seedText);
    if (!Number.isInteger(seed) || seed < 0) throw new ModelError(`model "${spec}": seed must be a non-negative integer`);
    const dir = presetCacheDir(name, seed);
    if (!existsSync(join(dir, 'onnx', 'model.onnx'))) {
      onProgress?.(`generating preset ${name} (seed ${seed}) into ${dir}`);
      await createModel({ preset: name, seed, outDir: dir });
    }
    return dir;
  }
  throw new ModelError(`model "${spec}" is neither an existing folder nor a preset`, `Presets: ${PRESET_NAMES.join(', ')}.`);
}
