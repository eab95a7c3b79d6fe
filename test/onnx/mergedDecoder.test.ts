// optimum's merged decoder (onnx/decoder_model_merged.onnx: an If on use_cache_branch over the no-cache and
// with-cache graphs). The generated file is checked as onnxruntime runs it unchanged (both branches agree on a
// first step, the with-cache branch continues from the no-cache branch's present), then through llmbench,
// which lifts the with-cache branch out of the If at load: same greedy tokens as the plain optimum folder
// (fp32 and fp16), and clear errors for files that only look merged.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generate } from '../../src/engine/generate.js';
import { openDecoderSession } from '../../src/engine/session.js';
import { writeLlamaFixture } from '../../src/modelgen/llamaFixture.js';
import { decodeModel, DT, encodeModel, GraphBuilder, type GraphProto } from '../../src/onnx/builder.js';
import { readGraphSignature } from '../../src/onnx/graphIo.js';
import { readModelFolder } from '../../src/onnx/loader.js';
import { flattenMergedDecoder, isMergedDecoder, USE_CACHE_BRANCH } from '../../src/onnx/mergedDecoder.js';

let root = '';
let merged32 = '';
let merged16 = '';
let plain32 = '';
let plain16 = '';
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'llmbench-merged-'));
  merged32 = (await writeLlamaFixture({ outDir: join(root, 'm32'), dtype: 'float32', merged: true })).dir;
  merged16 = (await writeLlamaFixture({ outDir: join(root, 'm16'), dtype: 'float16', merged: true })).dir;
  plain32 = (await writeLlamaFixture({ outDir: join(root, 'p32'), dtype: 'float32' })).dir;
  plain16 = (await writeLlamaFixture({ outDir: join(root, 'p16'), dtype: 'float16' })).dir;
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const PROMPT = [5, 17, 42, 99, 7, 3];
const LAYERS = 2;
const KV_HEADS = 2;
const HEAD = 16;

/** Feeds of one step: `ids` after `past` cached tokens (past tensors given, or zero-length ones). */
function feeds(ids: number[], pastLen: number, useCache: boolean, past: Record<string, ort.Tensor> = {}): Record<string, ort.Tensor> {
  const total = pastLen + ids.length;
  const f: Record<string, ort.Tensor> = {
    input_ids: new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [1, ids.length]),
    attention_mask: new ort.Tensor('int64', new BigInt64Array(total).fill(1n), [1, total]),
    position_ids: new ort.Tensor('int64', BigInt64Array.from(ids.map((_, i) => BigInt(pastLen + i))), [1, ids.length]),
    [USE_CACHE_BRANCH]: new ort.Tensor('bool', Uint8Array.from([useCache ? 1 : 0]), [1]),
  };
  for (let i = 0; i < LAYERS; i++) {
    for (const kind of ['key', 'value']) {
      f[`past_key_values.${i}.${kind}`] = past[`present.${i}.${kind}`] ?? new ort.Tensor('float32', new Float32Array(0), [1, KV_HEADS, 0, HEAD]);
    }
  }
  return f;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs((a[i] as number) - (b[i] as number)));
  return d;
}

describe('merged decoder fixture (decoder_model_merged.onnx)', () => {
  it('is the optimum layout: one If on a bool use_cache_branch, branches without inputs or weights of their own', () => {
    const info = readModelFolder(merged32);
    expect(info.onnxPath).toBe(join(merged32, 'onnx', 'decoder_model_merged.onnx'));
    expect(readModelFolder(merged16).onnxPath).toBe(join(merged16, 'onnx', 'decoder_model_merged_fp16.onnx'));
    const g = decodeModel(readFileSync(info.onnxPath)).graph;
    expect((g?.node ?? []).map((n) => n.opType)).toEqual(['If']);
    expect(g?.input?.find((v) => v.name === USE_CACHE_BRANCH)?.type?.tensorType?.elemType).toBe(DT.BOOL);
    const branches = g?.node?.[0]?.attribute ?? [];
    expect(branches.map((a) => a.name).sort()).toEqual(['else_branch', 'then_branch']);
    for (const a of branches) expect([a.g?.input?.length ?? 0, a.g?.initializer?.length ?? 0]).toEqual([0, 0]);
    // One copy of the weights, in the outer graph.
    expect(g?.initializer?.filter((t) => t.name === 'lm_head.weight')).toHaveLength(1);
  });

  it('onnxruntime runs it unchanged: both branches agree on a first step, and the with-cache branch continues from it', async () => {
    const s = await ort.InferenceSession.create(join(merged32, 'onnx', 'decoder_model_merged.onnx'));
    const plain = await ort.InferenceSession.create(join(plain32, 'onnx', 'model.onnx'));
    try {
      const noCache = await s.run(feeds(PROMPT, 0, false));
      const withEmpty = await s.run(feeds(PROMPT, 0, true));
      const ref = await plain.run(feeds(PROMPT, 0, true));
      const logits = (o: ort.InferenceSession.OnnxValueMapType): Float32Array => (o.logits as ort.Tensor).data as Float32Array;
      expect(maxAbsDiff(logits(noCache), logits(ref))).toBeLessThan(1e-4);
      expect(maxAbsDiff(logits(withEmpty), logits(ref))).toBeLessThan(1e-4);
      expect((noCache['present.0.key'] as ort.Tensor).dims).toEqual([1, KV_HEADS, PROMPT.length, HEAD]);
      const next = await s.run(feeds([11], PROMPT.length, true, noCache as Record<string, ort.Tensor>));
      const nextRef = await plain.run(feeds([11], PROMPT.length, true, ref as Record<string, ort.Tensor>));
      expect(maxAbsDiff(logits(next), logits(nextRef))).toBeLessThan(1e-4);
    } finally {
      await s.release();
      await plain.release();
    }
  });

  it('llmbench lifts the with-cache branch: no If, no use_cache_branch, the plain decoder inputs', () => {
    const bytes = readFileSync(join(merged32, 'onnx', 'decoder_model_merged.onnx'));
    expect(isMergedDecoder(bytes, 'm')).toBe(true);
    const flat = flattenMergedDecoder(bytes, 'm');
    expect(isMergedDecoder(flat, 'm')).toBe(false);
    const sig = readGraphSignature(flat, 'm');
    expect(sig.opTypes.has('If')).toBe(false);
    expect(sig.inputs.map((v) => v.name)).toEqual(readGraphSignature(readFileSync(join(plain32, 'onnx', 'model.onnx')), 'p').inputs.map((v) => v.name));
  });

  it.each([
    ['fp32', () => merged32, () => plain32],
    ['fp16', () => merged16, () => plain16],
  ])('%s: greedy tokens identical to the plain optimum folder, with the slot KV cache', async (_, m, p) => {
    const a = await openDecoderSession(m(), { threads: 1 });
    const b = await openDecoderSession(p(), { threads: 1 });
    try {
      expect(a.kvMode).toBe('slots');
      const ga = await generate(a, PROMPT, { maxTokens: 10, stopTokenIds: [] });
      const gb = await generate(b, PROMPT, { maxTokens: 10, stopTokenIds: [] });
      expect(ga.tokenIds).toHaveLength(10);
      expect(ga.tokenIds).toEqual(gb.tokenIds);
    } finally {
      await a.runner.dispose();
      await b.runner.dispose();
    }
  });

  it('branch outputs named unlike the If\'s are renamed, and a second reader of use_cache_branch sees true', async () => {
    const branch = (name: string, op: string, out: string): GraphProto => {
      const b = new GraphBuilder();
      b.op(op, ['x', 'one'], {}, out);
      b.output(out, DT.FLOAT, [1]);
      return b.graph(name);
    };
    const g = new GraphBuilder();
    g.input('x', DT.FLOAT, [1]);
    g.input(USE_CACHE_BRANCH, DT.BOOL, [1]);
    g.f32('one', [1], new Float32Array([1]));
    g.op('If', [USE_CACHE_BRANCH], { then_branch: { graph: branch('with_past', 'Add', 'then_y') }, else_branch: { graph: branch('no_past', 'Sub', 'else_y') } }, 'y');
    g.op('If', [USE_CACHE_BRANCH], { then_branch: { graph: branch('a', 'Mul', 'a_z') }, else_branch: { graph: branch('b', 'Div', 'b_z') } }, 'z');
    g.output('y', DT.FLOAT, [1]);
    g.output('z', DT.FLOAT, [1]);
    const flat = flattenMergedDecoder(encodeModel({ irVersion: 8, opsetImport: [{ domain: '', version: 17 }], graph: g.graph('m') }), 'm.onnx');
    expect(readGraphSignature(flat, 'm').inputs.map((v) => v.name)).toEqual(['x']);
    const s = await ort.InferenceSession.create(flat);
    try {
      const out = await s.run({ x: new ort.Tensor('float32', Float32Array.from([5]), [1]) });
      // x + 1 from the lifted with-cache branch; the second If takes its then-branch (x * 1).
      expect([(out.y as ort.Tensor).data[0], (out.z as ort.Tensor).data[0]]).toEqual([6, 5]);
    } finally {
      await s.release();
    }
  });

  it('a use_cache_branch that is not the condition of an If, or an If without then_branch: errors that say what llmbench reads', () => {
    const model = (build: (g: GraphBuilder) => void): Uint8Array => {
      const g = new GraphBuilder();
      g.input(USE_CACHE_BRANCH, DT.BOOL, [1]);
      g.input('input_ids', DT.INT64, [1, 1]);
      build(g);
      return encodeModel({ irVersion: 8, opsetImport: [{ domain: '', version: 17 }], graph: g.graph('x') });
    };
    const notIf = model((g) => {
      g.op('Not', [USE_CACHE_BRANCH], {}, 'y');
      g.output('y', DT.BOOL, [1]);
    });
    expect(() => flattenMergedDecoder(notIf, 'x.onnx')).toThrow(/x\.onnx: input use_cache_branch is not the condition of an If node/);
    const noThen = model((g) => {
      g.op('If', [USE_CACHE_BRANCH], {}, 'y');
      g.output('y', DT.BOOL, [1]);
    });
    expect(() => flattenMergedDecoder(noThen, 'x.onnx')).toThrow(/x\.onnx: If node If_0 on use_cache_branch has no then_branch/);
  });

});
