// A local pipeline's serving fields reach each replica's `llmbench serve` command line: the KV bound and type,
// and serving.cpuFallback: false as --no-cpu-fallback (absent by default, so onnxruntime's fallback stays on).
import { describe, expect, it } from 'vitest';
import { parseScenario } from '../../src/scenarios/load.js';
import { serveArgs } from '../../src/runners/deploy/deployLocal.js';
import type { LocalPipelineSpec } from '../../src/scenarios/types.js';
import { parseStagesOption } from '../../src/engine/staged/stagedOptions.js';
import { resolveServeOptions } from '../../src/server/serveOptions.js';
import { UsageError } from '../../src/errors.js';

function pipelines(yaml: string): LocalPipelineSpec[] {
  return parseScenario(yaml, { source: 't.yaml', baseDir: '/tmp', checkFiles: false }).pipelines as LocalPipelineSpec[];
}

describe('serveArgs', () => {
  it('passes serving.cpuFallback false, maxContext and kvDtype to llmbench serve', () => {
    const [plain, strict] = pipelines(`name: t
pipelines:
  - name: a
    model: { source: tiny }
  - name: b
    model: { source: tiny }
    serving: { cpuFallback: false, maxContext: 256, kvDtype: float16 }
`);
    expect(plain?.serving.cpuFallback).toBe(true);
    const a = serveArgs(plain as LocalPipelineSpec, 0, 9000).args;
    expect(a).not.toContain('--no-cpu-fallback');
    const b = serveArgs(strict as LocalPipelineSpec, 0, 9001).args;
    expect(b).toContain('--no-cpu-fallback');
    expect(b.slice(b.indexOf('--max-context'), b.indexOf('--max-context') + 2)).toEqual(['--max-context', '256']);
    expect(b.slice(b.indexOf('--kv-dtype'), b.indexOf('--kv-dtype') + 2)).toEqual(['--kv-dtype', 'float16']);
    expect(b.slice(b.indexOf('--port'), b.indexOf('--port') + 2)).toEqual(['--port', '9001']);
  });

  it('the serve command refuses --no-cpu-fallback with --stages, naming both', () => {
    expect(() => resolveServeOptions({ model: 'tiny', cpuFallback: false, stages: parseStagesOption('2') })).toThrow(UsageError);
    expect(() => resolveServeOptions({ model: 'tiny', cpuFallback: false, stages: parseStagesOption('2') })).toThrow(/--no-cpu-fallback cannot be combined with --stages/);
    expect(resolveServeOptions({ model: 'tiny', stages: parseStagesOption('2') }).cpuFallback).toBe(true);
  });
});
