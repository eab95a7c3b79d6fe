// Streaming quantization: weights are read from disk one tensor at a time and the output is written from disk,
// yet the files are byte for byte what the in-memory rewrite (decode everything, rewrite, encode) writes, for an
// inline source, an external-data source, a model-builder folder, and an external-data output.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeModel, DT, encodeModel, GraphBuilder, type GraphProto, type ModelProto, type TensorProto } from '../../src/onnx/builder.js';
import { readModelLazy } from '../../src/onnx/lazyModel.js';
import { readModelFolder } from '../../src/onnx/loader.js';
import { writeModelStreamed } from '../../src/onnx/streamWrite.js';
import { allInitializers, externalizeData, inlineExternalData } from '../../src/onnx/tensorData.js';
import { WeightStore } from '../../src/onnx/weightStore.js';
import { writeModelBuilderFixture } from '../../src/modelgen/modelBuilderFixture.js';
import { resolveModelDir } from '../../src/modelgen/resolve.js';
import { checkQuantizeOptions, quantizeModelDir } from '../../src/quantize/quantize.js';
import { quantizeGraph } from '../../src/quantize/quantizeGraph.js';
import { evaluateModel } from '../../src/eval/eval.js';

let work: string;
let tiny: string;
let extSrc: string;
let builder: string;
let builder16: string;



/** The rewrite with every weight in memory: what quantize wrote before it streamed. */
function inMemoryQuantize(onnxPath: string, method: string, outDir?: string): Uint8Array {
  const model = decodeModel(readFileSync(onnxPath));
  inlineExternalData(allInitializers(model), dirname(onnxPath));
  const { graph } = checkQuantizeOptions(method);
  quantizeGraph(model, { ...graph, int8WeightRange: '8bit' });
  if (outDir) externalizeData(allInitializers(model), join(outDir, 'model.onnx_data'), 'model.onnx_data');
  return encodeModel(model);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'llmbench-qstream-'));
  tiny = await resolveModelDir('tiny');
  extSrc = join(work, 'ext-src');
  mkdirSync(join(extSrc, 'onnx'), { recursive: true });
  for (const f of ['config.json', 'tokenizer.json']) copyFileSync(join(tiny, f), join(extSrc, f));
  const model = decodeModel(readFileSync(join(tiny, 'onnx', 'model.onnx')));
  externalizeData(model.graph?.initializer ?? [], join(extSrc, 'onnx', 'model.onnx_data'), 'model.onnx_data');
  writeFileSync(join(extSrc, 'onnx', 'model.onnx'), encodeModel(model));
  builder = (await writeModelBuilderFixture({ outDir: join(work, 'builder'), dtype: 'float32' })).dir;
  builder16 = (await writeModelBuilderFixture({ outDir: join(work, 'builder16'), dtype: 'float16' })).dir;
}, 60_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('readModelLazy + writeModelStreamed', () => {
  it('holds no weight bytes in memory and writes the file back byte for byte', () => {
    const src = join(tiny, 'onnx', 'model.onnx');
    const store = new WeightStore();
    const model = readModelLazy(src, store);
    const inits = model.graph?.initializer ?? [];
    const inMemory = inits.reduce((a, t) => a + (Object.hasOwn(t, 'rawData') ? (t.rawData?.byteLength ?? 0) : 0), 0);
    const onDisk = inits.reduce((a, t) => a + (store.span(t)?.length ?? 0), 0);
    // The tiny preset's weights are ~700 KB; only tensors under 4 KiB (norms, biases) are decoded.
    expect(onDisk).toBeGreaterThan(600_000);
    expect(inMemory).toBeLessThan(onDisk / 20);
    const out = join(work, 'roundtrip.onnx');
    writeModelStreamed(model, store, out);
    store.close();
    expect(sameBytes(readFileSync(out), readFileSync(src))).toBe(true);
  });

  it('a truncated file is a clear error naming it', () => {
    const src = readFileSync(join(tiny, 'onnx', 'model.onnx'));
    const cut = join(work, 'cut.onnx');
    writeFileSync(cut, src.subarray(0, Math.floor(src.length / 2)));
    expect(() => readModelLazy(cut, new WeightStore())).toThrow(`${cut}: truncated ONNX file`);
  });

  it('external data past the end of its file is named with the offsets', () => {
    const dir = join(work, 'short-ext');
    mkdirSync(dir, { recursive: true });
    copyFileSync(join(extSrc, 'onnx', 'model.onnx'), join(dir, 'model.onnx'));
    const data = readFileSync(join(extSrc, 'onnx', 'model.onnx_data'));
    writeFileSync(join(dir, 'model.onnx_data'), data.subarray(0, data.length - 100));
    expect(() => readModelLazy(join(dir, 'model.onnx'), new WeightStore())).toThrow(/external data .*model\.onnx_data is truncated \(wanted \d+ bytes at \d+, file has \d+\)/);
  });
});

describe('quantizeModelDir streams and writes what the in-memory rewrite writes', () => {
  for (const method of ['int8', 'int4', 'int8-weight', 'fp16'] as const) {
    it(`${method}: inline source (tiny preset) and external-data source give the same bytes as in memory`, async () => {
      const expected = inMemoryQuantize(join(tiny, 'onnx', 'model.onnx'), method);
      const a = await quantizeModelDir(tiny, method, { outDir: join(work, `tiny-${method}`), weightRange: '8bit' });
      expect(sameBytes(readFileSync(join(a.outDir, 'onnx', 'model.onnx')), expected)).toBe(true);
      const b = await quantizeModelDir(extSrc, method, { outDir: join(work, `ext-${method}`), weightRange: '8bit' });
      expect(sameBytes(readFileSync(join(b.outDir, 'onnx', 'model.onnx')), inMemoryQuantize(join(extSrc, 'onnx', 'model.onnx'), method))).toBe(true);
      // No spill file or other leftovers in the output folder.
      expect(readFileSync(join(a.outDir, 'onnx', 'model.onnx')).length).toBe(statSync(join(a.outDir, 'onnx', 'model.onnx')).size);
    });
  }

  it('model-builder folder (weights in model.onnx.data): same bytes, and the output evaluates like the in-memory one', async () => {
    const info = readModelFolder(builder);
    const s = await quantizeModelDir(builder, 'int4', { outDir: join(work, 'builder-int4') });
    expect(s.rewritten).toBeGreaterThan(0);
    expect(sameBytes(readFileSync(join(s.outDir, 'onnx', 'model.onnx')), inMemoryQuantize(info.onnxPath, 'int4'))).toBe(true);
    const q = await evaluateModel(s.outDir, builder, { maxEvalTokens: 64, windowTokens: 64, greedyPrompts: 1, maxTokens: 4 });
    expect(q.meanKl).toBeGreaterThan(0);
    expect(q.top1Agreement).toBeGreaterThan(0.5);
  }, 60_000);

  it('fp16 model-builder folder (float16 weights widened when read): int8 and int4 give the in-memory bytes', async () => {
    const info = readModelFolder(builder16);
    for (const method of ['int8', 'int4'] as const) {
      const s = await quantizeModelDir(builder16, method, { outDir: join(work, `builder16-${method}`), weightRange: '8bit' });
      expect(s.rewritten).toBeGreaterThan(0);
      expect(sameBytes(readFileSync(join(s.outDir, 'onnx', 'model.onnx')), inMemoryQuantize(info.onnxPath, method))).toBe(true);
    }
  }, 60_000);

  it('external-data output: model.onnx and model.onnx_data equal the in-memory externalized pair', async () => {
    const refDir = join(work, 'ref-ext');
    mkdirSync(refDir, { recursive: true });
    const expectedGraph = inMemoryQuantize(join(tiny, 'onnx', 'model.onnx'), 'int4', refDir);
    const s = await quantizeModelDir(tiny, 'int4', { outDir: join(work, 'tiny-int4-ext'), externalDataThresholdBytes: 0 });
    expect(s.externalData).toBe(true);
    expect(sameBytes(readFileSync(join(s.outDir, 'onnx', 'model.onnx')), expectedGraph)).toBe(true);
    expect(sameBytes(readFileSync(join(s.outDir, 'onnx', 'model.onnx_data')), readFileSync(join(refDir, 'model.onnx_data')))).toBe(true);
  });
});

describe('subgraphs (merged decoders: layers inside If branches)', () => {
  it('outer weights read from disk and branch-local weights in memory give the in-memory bytes', () => {
    const K = 64;
    const N = 128;
    const vals = (n: number, seed: number): Float32Array => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + seed));
    const branch = (name: string): GraphProto => {
      const b = new GraphBuilder();
      const h = b.op('MatMul', ['X', 'W']);
      // A branch's own weight: quantized into the branch, so it stays in memory.
      b.op('MatMul', [h, b.f32(`${name}_local`, [N, N], vals(N * N, name.length))], {}, `${name}_Y`);
      b.output(`${name}_Y`, DT.FLOAT, [1, N]);
      return b.graph(name);
    };
    const g = new GraphBuilder();
    g.input('X', DT.FLOAT, [1, K]);
    g.input('cond', DT.BOOL, []);
    g.f32('W', [K, N], vals(K * N, 1));
    g.opMulti('If', ['cond'], ['Y'], { then_branch: { graph: branch('then') }, else_branch: { graph: branch('elsewise') } });
    g.output('Y', DT.FLOAT, [1, N]);
    const src = join(work, 'if.onnx');
    writeFileSync(src, encodeModel({ irVersion: 8, opsetImport: [{ domain: '', version: 17 }], graph: g.graph('ifs') }));
    const { graph } = checkQuantizeOptions('int4');
    const mem = decodeModel(readFileSync(src));
    quantizeGraph(mem, graph);
    const store = new WeightStore(join(work, 'if.spill'));
    const lazy = readModelLazy(src, store);
    const r = quantizeGraph(lazy, graph, store);
    expect(r.rewritten).toBe(4);
    const out = join(work, 'if-int4.onnx');
    writeModelStreamed(lazy, store, out);
    store.close();
    expect(sameBytes(readFileSync(out), encodeModel(mem))).toBe(true);
  });
});
