// quantize on an fp16 export (float16 weights and activations): the integer methods rewrite it (the matrix in
// test/onnx/fixtureMatrix.test.ts runs int8 / int4 on every fp16 fixture); --method fp16 has nothing to do
// and says why instead of writing a copy.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QuantizeError } from '../../src/errors.js';
import { writeLlamaFixture } from '../../src/modelgen/llamaFixture.js';
import { quantizeModelDir } from '../../src/quantize/quantize.js';

let root = '';
let dir16 = '';
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'llmbench-q16-'));
  dir16 = (await writeLlamaFixture({ outDir: join(root, 'p16'), dtype: 'float16' })).dir;
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('quantize an fp16 export', () => {
  it('--method fp16: refused, each weight named as already float16, nothing written', async () => {
    const out = join(root, 'p16-fp16');
    const err = await quantizeModelDir(dir16, 'fp16', { outDir: out }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QuantizeError);
    expect((err as Error).message).toContain('nothing to quantize: no MatMul with a constant rank-2 float32 weight (15 x weight dtype float16 (already float16)');
    expect(existsSync(out)).toBe(false);
  });
});
