// Does this CPU's uint8 x int8 dot product saturate? On x86 without VNNI (AVX2, AVX-512F/BW), onnxruntime's
// integer GEMM multiplies adjacent uint8*int8 pairs and adds them with a saturating 16-bit add
// (vpmaddubsw): 255*127 + 255*127 = 64770 clips to 32767. VNNI (vpdpbusd) and AMX accumulate in 32 bits.
// With saturation, full-range int8 weights give wrong products whenever activations are large; weights
// limited to 7 bits (codes -64..64, onnxruntime's `reduce_range`) keep every pair sum <= 2*255*64 = 32640.
// The answer comes from running the exact graph pattern `quantize --method int8` writes, with worst-case
// values, and comparing it with exact arithmetic: the kernel is tested, not guessed from the CPU's name.
import { readFileSync } from 'node:fs';
import * as ort from 'onnxruntime-node';
import { DT, encodeModel, GraphBuilder } from '../onnx/builder.js';
import { INT8_MAX_CODE } from './quantMath.js';

export { INT8_MAX_CODE };

/** Weight ranges `quantize --method int8` accepts: auto picks 7bit where the CPU saturates, else 8bit. */
export const WEIGHT_RANGES = ['auto', '7bit', '8bit'] as const;
export type WeightRange = (typeof WEIGHT_RANGES)[number];


/** CPU flags that give a non-saturating 8-bit dot product on x86. */
const WIDE_DOT_FLAGS = ['avx512_vnni', 'avx_vnni', 'amx_int8'] as const;

/** What the probe found, as stored in quantization summaries and run provenance. */
export interface Int8DotReport {
  /** True when full-range int8 weights lose precision in onnxruntime's integer GEMM on this machine. */
  saturates: boolean;
  /** Worst-case probe output: exact value and what onnxruntime returned. */
  probeExact: number;
  probeActual: number;
  /** Integer dot-product flags from /proc/cpuinfo (x86), empty elsewhere or when none are present. */
  cpuFlags: string[];
  arch: string;
}

/** The integer dot-product flags this CPU advertises (x86 Linux; [] elsewhere). */
export function int8DotFlags(cpuinfo = readCpuinfo()): string[] {
  const line = cpuinfo.split('\n').find((l) => /^flags\s*:/.test(l)) ?? '';
  const flags = new Set(line.replace(/^flags\s*:/, '').trim().split(/\s+/));
  return WIDE_DOT_FLAGS.filter((f) => flags.has(f));
}

function readCpuinfo(): string {
  try {
    return readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return '';
  }
}

/** Probe size: 64 pairs of worst-case products (activations 255, weights +127). */
const PROBE_K = 64;

/**
 * DynamicQuantizeLinear -> MatMulInteger -> rescale, as the int8 rewrite emits it. x = 1 everywhere
 * quantizes to code 255 (scale 1/255, zero point 0); W = 1 at code 127 with scale 1/127. Exact output: K.
 */
function probeModel(maxCode: number): Uint8Array {
  const g = new GraphBuilder();
  g.input('x', DT.FLOAT, [1, PROBE_K]);
  const wq = g.raw('wq', DT.INT8, [PROBE_K, 1], new Uint8Array(new Int8Array(PROBE_K).fill(maxCode).buffer));
  const wScale = g.f32('w_scale', [1], new Float32Array([1 / maxCode]));
  const wZp = g.raw('w_zp', DT.INT8, [1], new Uint8Array(1));
  const [xq, xScale, xZp] = ['xq', 'x_scale', 'x_zp'] as const;
  g.opMulti('DynamicQuantizeLinear', ['x'], [xq, xScale, xZp]);
  const acc = g.op('MatMulInteger', [xq, wq, xZp, wZp]);
  const scale = g.op('Mul', [xScale, wScale]);
  g.op('Mul', [g.op('Cast', [acc], { to: DT.FLOAT }), scale], {}, 'y');
  g.output('y', DT.FLOAT, [1, 1]);
  return encodeModel({ irVersion: 8, producerName: 'llmbench-int8-probe', opsetImport: [{ domain: '', version: 17 }], graph: g.graph('int8_dot_probe') });
}

/** Runs the worst-case probe with weight code `maxCode`; returns onnxruntime's output (exact: PROBE_K). */
export async function runInt8Probe(maxCode: number): Promise<number> {
  // Default graph optimizations on, so the fused DynamicQuantizeMatMul kernel the real models use runs.
  const s = await ort.InferenceSession.create(probeModel(maxCode), { intraOpNumThreads: 1, logSeverityLevel: 3 });
  try {
    const out = await s.run({ x: new ort.Tensor('float32', new Float32Array(PROBE_K).fill(1), [1, PROBE_K]) });
    return Number(out.y?.data[0]);
  } finally {
    await s.release();
  }
}

let cached: Promise<Int8DotReport> | null = null;

/** Probes once per process (a few milliseconds) whether full 8-bit weights saturate here. */
export function detectInt8Dot(): Promise<Int8DotReport> {
  cached ??= (async () => {
    const actual = await runInt8Probe(INT8_MAX_CODE['8bit']);
    // Exact arithmetic gives PROBE_K up to float rounding; saturation gives about half of it.
    const saturates = Math.abs(actual - PROBE_K) > 1e-3 * PROBE_K;
    return { saturates, probeExact: PROBE_K, probeActual: actual, cpuFlags: int8DotFlags(), arch: process.arch };
  })();
  return cached;
}

/** The weight range an int8 quantization uses, and the reason, as printed and stored. */
export interface ResolvedWeightRange {
  requested: WeightRange;
  used: '7bit' | '8bit';
  reason: string;
}

/** Resolves `auto` by probing; an explicit range is kept, with a warning reason where it is wrong here. */
export async function resolveWeightRange(requested: WeightRange): Promise<ResolvedWeightRange> {
  const dot = await detectInt8Dot();
  const flags = dot.cpuFlags.length ? dot.cpuFlags.join(', ') : 'no avx512_vnni/avx_vnni/amx_int8';
  const found = dot.saturates
    ? `onnxruntime's uint8 x int8 GEMM saturates on this CPU (${dot.arch}, ${flags}: worst-case probe gave ${fmt(dot.probeActual)} for ${dot.probeExact})`
    : `onnxruntime's uint8 x int8 GEMM is exact on this CPU (${dot.arch}, ${flags}: worst-case probe gave ${fmt(dot.probeActual)} for ${dot.probeExact})`;
  if (requested === 'auto') {
    return { requested, used: dot.saturates ? '7bit' : '8bit', reason: `auto: ${found}${dot.saturates ? ', so weights use 7 bits (reduce_range)' : ', so weights use all 8 bits'}` };
  }
  const note = requested === '8bit' && dot.saturates ? ' (8-bit weights will saturate here: expect extra error)' : '';
  return { requested, used: requested, reason: `asked for ${requested}; ${found}${note}` };
}

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(3);
}
