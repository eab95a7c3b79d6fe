// Generated presets are the same bytes on every x86-64 CPU (and any other): the fit runs in plain JS and
// WebAssembly arithmetic in a fixed order, nothing in onnxruntime. A baseline saved on one machine and a
// rerun on another therefore measure the same weights, and provenance hashes agree.
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createModel, GENERATOR_VERSION } from '../../src/modelgen/create.js';

const work = mkdtempSync(join(tmpdir(), 'llmbench-pinned-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

describe('pinned preset bytes', () => {
  it(`tiny, seed 0, generator ${GENERATOR_VERSION}: model.onnx and tokenizer.json hash the same everywhere`, async () => {
    const { dir } = await createModel({ preset: 'tiny', seed: 0, outDir: join(work, 'tiny') });
    // A change here means every generated model changed: bump GENERATOR_VERSION (create.ts) with it.
    expect(GENERATOR_VERSION).toBe(3);
    expect(sha256(join(dir, 'onnx', 'model.onnx'))).toBe('e7414aefb4c282ecf75f8ec095a951842171a8bd4d5c24836a3a026f96f9046f');
    expect(sha256(join(dir, 'tokenizer.json'))).toBe('cde9b1895de2f4f00a5784d2d25442f406cda0a8af5daf2b08c5c5f504947c87');
  });
});
