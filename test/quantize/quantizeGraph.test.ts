// The graph rewrite on small hand-built graphs run by onnxruntime: MatMulNBits packing gives the same output
// as a float32 MatMul over the dequantized weight (accuracy_level 0), the int8 rewrite matches onnxruntime's
// dynamic quantization arithmetic, and skip/removal rules hold.
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { QuantizeError } from '../../src/errors.js';
import { DT, encodeModel, GraphBuilder, type GraphProto, type ModelProto } from '../../src/onnx/builder.js';
import { INT8_MAX_CODE, blockwiseCode, dequantizeBlockwise, quantizeBlockwise, quantizeBlockwiseRows, quantizeInt8PerColumn, roundHalfEven } from '../../src/quantize/quantMath.js';
import { quantizeGraph, type QuantizeOptions } from '../../src/quantize/quantizeGraph.js';
import { detectInt8Dot, resolveWeightRange, runInt8Probe } from '../../src/quantize/int8Dot.js';

function seeded(n: number, seed: number, amp = 1): Float32Array {
  let s = seed >>> 0 || 1;
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = (s / 4294967296 - 0.5) * 2 * amp;
  }
  return a;
}

/** X [2, 3, K] @ W [K, N] + bias -> Y, the shape of every Linear in the generated models. */
function linearModel(K: number, N: number, w: Float32Array): ModelProto {
  const g = new GraphBuilder();
  g.input('X', DT.FLOAT, [2, 3, K]);
  const mm = g.op('MatMul', ['X', g.f32('W', [K, N], w)]);
  g.op('Add', [mm, g.f32('bias', [N], seeded(N, 5, 0.1))], {}, 'Y');
  g.output('Y', DT.FLOAT, [2, 3, N]);
  return { irVersion: 8, producerName: 'test', opsetImport: [{ domain: '', version: 17 }], graph: g.graph('linear') };
}

async function runY(model: ModelProto, x: Float32Array, K: number): Promise<Float32Array> {
  const s = await ort.InferenceSession.create(encodeModel(model));
  try {
    const out = await s.run({ X: new ort.Tensor('float32', x, [2, 3, K]) });
    return out.Y?.data as Float32Array;
  } finally {
    await s.release();
  }
}

const opts = (o: Partial<QuantizeOptions>): QuantizeOptions => ({ method: 'int4', blockSize: 32, symmetric: false, accuracyLevel: 0, embeddings: true, ...o });

describe('MatMulNBits rewrite', () => {
  const K = 80; // 2.5 blocks of 32: the last block is padded
  const N = 24;
  const w = seeded(K * N, 1, 0.3);
  const x = seeded(2 * 3 * K, 2, 2);
  for (const [method, bits] of [['int4', 4], ['int8-weight', 8]] as const) {
    for (const symmetric of [false, true]) {
      it(`${method} ${symmetric ? 'symmetric' : 'asymmetric'} equals float32 MatMul over the dequantized weight at accuracy_level 0`, async () => {
        const q = linearModel(K, N, w);
        const r = quantizeGraph(q, opts({ method, symmetric }));
        expect(r.rewritten).toBe(1);
        expect(r.removedInitializers).toBe(1);
        const nodes = q.graph?.node ?? [];
        expect(nodes.map((n) => n.opType)).toEqual(['MatMulNBits', 'Add']);
        expect(q.graph?.initializer?.some((t) => t.name === 'W')).toBe(false);
        expect(q.opsetImport?.some((o) => o.domain === 'com.microsoft')).toBe(true);

        const deq = dequantizeBlockwise(quantizeBlockwise(w, K, N, { bits, blockSize: 32, symmetric }));
        const [yq, yd, yf] = await Promise.all([runY(q, x, K), runY(linearModel(K, N, deq), x, K), runY(linearModel(K, N, w), x, K)]);
        let maxAbs = 0;
        for (const v of yd) maxAbs = Math.max(maxAbs, Math.abs(v));
        for (let i = 0; i < yd.length; i++) expect(Math.abs((yq[i] as number) - (yd[i] as number))).toBeLessThanOrEqual(maxAbs * 1e-5);
        // Against the float weights: within the analytic bound sum_k |x_k| * scale(k, n) / 2.
        const qw = quantizeBlockwise(w, K, N, { bits, blockSize: 32, symmetric });
        for (let r = 0; r < 6; r++) {
          for (let n = 0; n < N; n++) {
            let bound = 0;
            for (let k = 0; k < K; k++) bound += (Math.abs(x[r * K + k] as number) * blockwiseCode(qw, k, n).scale) / 2;
            expect(Math.abs((yq[r * N + n] as number) - (yf[r * N + n] as number))).toBeLessThanOrEqual(bound * 1.001 + 1e-5);
          }
        }
        // And the quantized output really differs from the float one (the weights were changed).
        expect(yq.some((v, i) => v !== yf[i])).toBe(true);
      });
    }
  }

  it('accuracy_level 4 (int8 compute) stays close to the dequantized result', async () => {
    const q = linearModel(K, N, w);
    quantizeGraph(q, opts({ method: 'int4', accuracyLevel: 4 }));
    const deq = dequantizeBlockwise(quantizeBlockwise(w, K, N, { bits: 4, blockSize: 32, symmetric: false }));
    const [yq, yd] = await Promise.all([runY(q, x, K), runY(linearModel(K, N, deq), x, K)]);
    // Activations are quantized to int8 per block: relative error of order 1/127 of the row's scale.
    let maxAbs = 0;
    for (const v of yd) maxAbs = Math.max(maxAbs, Math.abs(v));
    for (let i = 0; i < yd.length; i++) expect(Math.abs((yq[i] as number) - (yd[i] as number))).toBeLessThanOrEqual(maxAbs * 0.05);
  });
});

describe('GatherBlockQuantized rewrite of embedding tables', () => {
  const V = 11;
  const D = 64;
  const table = seeded(V * D, 21, 0.7);
  function gatherModel(t: Float32Array): ModelProto {
    const g = new GraphBuilder();
    g.input('ids', DT.INT64, [2, 3]);
    g.op('Gather', [g.f32('E', [V, D], t), 'ids'], { axis: 0 }, 'Y');
    g.output('Y', DT.FLOAT, [2, 3, D]);
    return { irVersion: 8, producerName: 'test', opsetImport: [{ domain: '', version: 17 }], graph: g.graph('gather') };
  }
  async function gatherRun(m: ModelProto, ids: number[]): Promise<Float32Array> {
    const s = await ort.InferenceSession.create(encodeModel(m));
    try {
      const out = await s.run({ ids: new ort.Tensor('int64', BigInt64Array.from(ids.map((i) => BigInt(i))), [2, 3]) });
      return out.Y?.data as Float32Array;
    } finally {
      await s.release();
    }
  }
  for (const [method, bits] of [['int4', 4], ['int8-weight', 8]] as const) {
    for (const symmetric of [false, true]) {
      it(`${method} ${symmetric ? 'symmetric' : 'asymmetric'}: gathered rows equal the dequantized table rows`, async () => {
        const m = gatherModel(table);
        const r = quantizeGraph(m, opts({ method, symmetric, blockSize: 16 }));
        expect(r.gathersRewritten).toBe(1);
        expect(r.rewritten).toBe(0);
        expect((m.graph?.node ?? []).map((n) => `${n.domain}:${n.opType}`)).toEqual(['com.microsoft:GatherBlockQuantized']);
        const ids = [0, 10, 3, 3, 7, 1];
        const y = await gatherRun(m, ids);
        // Rows of the table quantized as [V, D] blocks along D: dequantizing the row-wise layout as a
        // [K=D, N=V] weight gives the table transposed.
        const deqT = dequantizeBlockwise(quantizeBlockwiseRows(table, V, D, { bits, blockSize: 16, symmetric }));
        ids.forEach((id, j) => {
          for (let d = 0; d < D; d++) {
            const want = deqT[d * V + id] as number;
            expect(Math.abs((y[j * D + d] as number) - want)).toBeLessThanOrEqual(Math.abs(want) * 1e-6 + 1e-7);
          }
        });
      });
    }
  }

  it('leaves tables alone when disabled, for int8, or when rows do not divide into blocks', () => {
    expect(() => quantizeGraph(gatherModel(table), opts({ method: 'int4', embeddings: false }))).toThrow(QuantizeError);
    expect(() => quantizeGraph(gatherModel(table), opts({ method: 'int8' }))).toThrow(QuantizeError);
    expect(() => quantizeGraph(gatherModel(table), opts({ method: 'int4', blockSize: 128 }))).toThrow(
      'nothing to quantize: no MatMul with a constant rank-2 float32 or float16 weight (1 x Gather table row length 64 is not a multiple of block size 128)',
    );
  });
});

describe('int8 dynamic rewrite', () => {
  // The reference is exact integer arithmetic with the weight range this machine needs (7 bits where the
  // CPU's uint8 x int8 dot product saturates); the exactness bar holds on every CPU.
  async function int8Worst(range: '7bit' | '8bit', x: Float32Array, w: Float32Array, K: number, N: number): Promise<number> {
    const q = linearModel(K, N, w);
    quantizeGraph(q, opts({ method: 'int8', int8WeightRange: range }));
    expect((q.graph?.node ?? []).map((n) => n.opType)).toEqual(['DynamicQuantizeLinear', 'MatMulInteger', 'Mul', 'Cast', 'Mul', 'Add']);
    const y = await runY(q, x, K);
    // Reference: uint8 asymmetric activation quantization over the whole tensor, int8 symmetric weights.
    let lo = 0;
    let hi = 0;
    for (const v of x) {
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    const xs = Math.fround((hi - lo) / 255);
    const xzp = Math.min(255, Math.max(0, roundHalfEven(-lo / xs)));
    const xq = Array.from(x, (v) => Math.min(255, Math.max(0, roundHalfEven(v / xs) + xzp)));
    const wq = quantizeInt8PerColumn(w, K, N, INT8_MAX_CODE[range]);
    const bias = seeded(N, 5, 0.1);
    let worst = 0;
    for (let r = 0; r < 6; r++) {
      for (let n = 0; n < N; n++) {
        let acc = 0;
        for (let k = 0; k < K; k++) acc += ((xq[r * K + k] as number) - xzp) * (wq.q[k * N + n] as number);
        const ref = acc * xs * (wq.scales[n] as number) + (bias[n] as number);
        worst = Math.max(worst, Math.abs((y[r * N + n] as number) - ref));
      }
    }
    return worst;
  }

  it('matches the arithmetic of DynamicQuantizeLinear + MatMulInteger with per-column int8 weights, in the range this CPU needs', async () => {
    const K = 64;
    const N = 16;
    const w = seeded(K * N, 3, 0.2);
    const x = seeded(2 * 3 * K, 4, 1.5);
    const { used } = await resolveWeightRange('auto');
    // Float rounding only; one activation code off would show as at least xs * min scale * 1.
    expect(await int8Worst(used, x, w, K, N)).toBeLessThan(1e-4);
    // 7-bit weights are exact on every CPU.
    expect(await int8Worst('7bit', x, w, K, N)).toBeLessThan(1e-4);
  });

  it('on a CPU whose int8 dot product saturates, full 8-bit weights really lose precision (the reason for 7 bits)', async () => {
    const K = 64;
    const N = 16;
    const w = seeded(K * N, 3, 0.2);
    const x = seeded(2 * 3 * K, 4, 1.5);
    const dot = await detectInt8Dot();
    const worst8 = await int8Worst('8bit', x, w, K, N);
    // The probe and a realistic matrix agree: saturation shows as a large error, no saturation as exactness.
    if (dot.saturates) {
      expect(dot.probeActual).toBeLessThan(dot.probeExact * 0.9);
      expect(worst8).toBeGreaterThan(1e-2);
      expect((await resolveWeightRange('auto')).used).toBe('7bit');
    } else {
      expect(Math.abs(dot.probeActual - dot.probeExact)).toBeLessThan(1e-3 * dot.probeExact);
      expect(worst8).toBeLessThan(1e-4);
      expect((await resolveWeightRange('auto')).used).toBe('8bit');
    }
    // The 7-bit probe is exact everywhere: pair sums stay within 16 bits.
    expect(Math.abs((await runInt8Probe(INT8_MAX_CODE['7bit'])) - dot.probeExact)).toBeLessThan(1e-3 * dot.probeExact);
  });
});

describe('subgraphs (merged decoder exports put the layers inside If branches)', () => {
  it('rewrites MatMuls in both branches that read an outer initializer, once, and ORT runs it', async () => {
    const K = 32;
    const N = 8;
    const w = seeded(K * N, 31, 0.4);
    const branch = (name: string, scale: number): GraphProto => {
      const b = new GraphBuilder();
      const mm = b.op('MatMul', ['X', 'W']);
      b.op('Mul', [mm, b.f32(`${name}_k`, [], new Float32Array([scale]))], {}, `${name}_Y`);
      b.output(`${name}_Y`, DT.FLOAT, [2, 3, N]);
      return b.graph(name);
    };
    const build = (weights: Float32Array): ModelProto => {
      const g = new GraphBuilder();
      g.input('X', DT.FLOAT, [2, 3, K]);
      g.input('cond', DT.BOOL, []);
      g.f32('W', [K, N], weights);
      g.opMulti('If', ['cond'], ['Y'], { then_branch: { graph: branch('then', 1) }, else_branch: { graph: branch('else', 2) } });
      g.output('Y', DT.FLOAT, [2, 3, N]);
      return { irVersion: 8, opsetImport: [{ domain: '', version: 17 }], graph: g.graph('ifs') };
    };
    const m = build(w);
    const r = quantizeGraph(m, opts({ method: 'int4' }));
    expect(r.rewritten).toBe(2);
    expect(r.removedInitializers).toBe(1);
    expect((m.graph?.initializer ?? []).map((t) => t.name)).toEqual(['W_Q', 'W_scales', 'W_zp']);
    const deq = dequantizeBlockwise(quantizeBlockwise(w, K, N, { bits: 4, blockSize: 32, symmetric: false }));
    const x = seeded(2 * 3 * K, 32);
    for (const cond of [true, false]) {
      const run = async (model: ModelProto): Promise<Float32Array> => {
        const sess = await ort.InferenceSession.create(encodeModel(model));
        try {
          const out = await sess.run({ X: new ort.Tensor('float32', x, [2, 3, K]), cond: new ort.Tensor('bool', new Uint8Array([cond ? 1 : 0]), []) });
          return out.Y?.data as Float32Array;
        } finally {
          await sess.release();
        }
      };
      const [yq, yd] = await Promise.all([run(m), run(build(deq))]);
      for (let i = 0; i < yd.length; i++) expect(Math.abs((yq[i] as number) - (yd[i] as number))).toBeLessThanOrEqual(1e-5);
    }
  });
});

describe('skip rules and errors', () => {
  it('a graph whose only MatMul has a non-constant weight is an error, not a silent copy', () => {
    const g = new GraphBuilder();
    g.input('A', DT.FLOAT, [4, 8]);
    g.input('B', DT.FLOAT, [8, 4]);
    g.op('MatMul', ['A', 'B'], {}, 'Y');
    g.output('Y', DT.FLOAT, [4, 4]);
    const m: ModelProto = { irVersion: 8, opsetImport: [{ domain: '', version: 17 }], graph: g.graph('g') };
    expect(() => quantizeGraph(m, opts({ method: 'int8' }))).toThrow(QuantizeError);
    expect(() => quantizeGraph(m, opts({ method: 'int8' }))).toThrow('nothing to quantize: no MatMul with a constant rank-2 float32 or float16 weight (1 x non-constant weight)');
  });

  it('reports why each MatMul was skipped, quantizes a shared weight once and keeps it while a Gather reads it', () => {
    const g = new GraphBuilder();
    g.input('X', DT.FLOAT, [1, 16]);
    g.input('ids', DT.INT64, [1]);
    g.input('B', DT.FLOAT, [16, 16]);
    g.f32('W', [16, 16], seeded(256, 9));
    g.f32('W3', [1, 16, 16], seeded(256, 10));
    g.raw('Wi', DT.INT32, [16, 16], new Uint8Array(256 * 4));
    const a = g.op('MatMul', ['X', 'W']);
    const b = g.op('MatMul', [a, 'W']);
    g.op('MatMul', [b, 'B'], {}, 'Y1');
    g.op('MatMul', ['X', 'W3'], {}, 'Y2');
    g.op('Gather', ['W', 'ids'], { axis: 0 }, 'Y3');
    g.op('Gemm', ['X', 'W'], {}, 'Y4');
    g.op('MatMul', ['ids', 'Wi'], {}, 'Y5');
    for (const y of ['Y1', 'Y2', 'Y3', 'Y4', 'Y5']) g.output(y, DT.FLOAT, []);
    const m: ModelProto = { irVersion: 8, opsetImport: [{ domain: '', version: 17 }], graph: g.graph('g') };
    const r = quantizeGraph(m, opts({ method: 'int4', blockSize: 16, embeddings: false }));
    expect(r.rewritten).toBe(2);
    expect(r.skipped.map((s) => `${s.weight}: ${s.reason}`).sort()).toEqual([
      'B: non-constant weight',
      'W3: weight rank 3',
      'W: Gemm (only MatMul is rewritten)',
      'Wi: weight dtype int32',
    ]);
    expect(r.keptShared).toEqual(['W']);
    expect(r.removedInitializers).toBe(0);
    // One packed copy for both MatMuls that share W.
    expect((m.graph?.initializer ?? []).filter((t) => t.name?.startsWith('W_Q')).length).toBe(1);
  });
});
