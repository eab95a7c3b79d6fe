// The page-aligned copy a CPU server maps its weights from: written tensor by tensor from the source, and byte
// for byte what externalizing the fully decoded model writes.
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeModel, encodeModel } from '../../src/onnx/builder.js';
import { MMAP_DATA_FILE, writeMmapLayout } from '../../src/onnx/mmapLayout.js';
import { externalizeData } from '../../src/onnx/tensorData.js';
import { resolveModelDir } from '../../src/modelgen/resolve.js';
import { quantizeModelDir } from '../../src/quantize/quantize.js';

let work: string;
let small: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'llmbench-mmap-'));
  small = await resolveModelDir('small');
}, 60_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('writeMmapLayout', () => {
  it('writes the graph and weights.bin exactly as externalizing the decoded model does (4 KiB pages, 16 KiB minimum)', () => {
    const src = join(small, 'onnx', 'model.onnx');
    const out = join(work, 'mapped');
    const bytes = writeMmapLayout(src, out);
    const model = decodeModel(readFileSync(src));
    const refData = join(work, 'ref.bin');
    const refBytes = externalizeData(model.graph?.initializer ?? [], refData, MMAP_DATA_FILE, 16 * 1024, 4096);
    expect(bytes).toBe(refBytes);
    expect(Buffer.compare(readFileSync(join(out, 'model.onnx')), Buffer.from(encodeModel(model)))).toBe(0);
    expect(Buffer.compare(readFileSync(join(out, MMAP_DATA_FILE)), readFileSync(refData))).toBe(0);
    expect(statSync(join(out, MMAP_DATA_FILE)).size).toBeGreaterThan(0.9 * statSync(src).size);
  });

  it('refuses a model whose weights are already in an external file', async () => {
    const q = await quantizeModelDir(small, 'int4', { outDir: join(work, 'ext'), externalDataThresholdBytes: 0 });
    expect(() => writeMmapLayout(join(q.outDir, 'onnx', 'model.onnx'), join(work, 'no'))).toThrow(/already uses external data; load it as it is/);
  });
});
