// The refinement's inner loops as a small WebAssembly SIMD module, written here byte by byte: y += a·x
// over a row and a dot product. WebAssembly arithmetic is IEEE-754 with no fused multiply-add (only the
// separate relaxed-simd proposal may fuse), so results are the same bits on every CPU, like plain JS,
// and f64x2 lanes make it several times faster than the equivalent JS loop (`npm run bench:fit` prints both).
// Rows are f64; factor rows are f32 (promoted exactly). axpy gives exactly the bits of the scalar
// `y[j] = y[j] + a * x[j]` (the fused forms apply their terms in order); dot sums in four lanes, then
// combines them in a fixed order: the same everywhere.

/** The slice of the WebAssembly API used here (the project's TypeScript libs do not declare it). */
interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Memory: new (d: { initial: number }) => WasmMemory;
  Instance: new (m: object, imports: Record<string, Record<string, unknown>>) => { exports: Record<string, unknown> };
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** The compiled kernels over one memory; pointers are byte offsets into `memory`. */
export interface FitKernels {
  memory: WasmMemory;
  /** y[0..n) += a * x[0..n), y f64, x f32. */
  axpy32(y: number, x: number, a: number, n: number): void;
  /** y[0..n) += a * x[0..n), both f64. */
  axpy64(y: number, x: number, a: number, n: number): void;
  /** y += a0 x0; y += a1 x1; y += a2 x2; y += a3 x3 (in that order per element), x f32. */
  axpy32x4(y: number, x0: number, x1: number, x2: number, x3: number, a0: number, a1: number, a2: number, a3: number, n: number): void;
  /** The same with x f64. */
  axpy64x4(y: number, x0: number, x1: number, x2: number, x3: number, a0: number, a1: number, a2: number, a3: number, n: number): void;
  /** sum of y[j] * x[j], y f64, x f32. */
  dot32(y: number, x: number, n: number): number;
}

const I32 = 0x7f;
const F64 = 0x7c;
const V128 = 0x7b;

function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

const simd = (op: number, ...imm: number[]): number[] => [0xfd, ...leb(op), ...imm];
const get = (i: number): number[] => [0x20, i];
const set = (i: number): number[] => [0x21, i];
/** base + (i << shift) */
const addr = (base: number, i: number, shift: number): number[] => [...get(base), ...get(i), 0x41, shift, 0x74, 0x6a];
const MEM0 = [0, 0]; // memarg: alignment hint 1 byte, offset 0
const v128Load = simd(0, ...MEM0);
const v128Store = simd(11, ...MEM0);
const load64Zero = simd(93, ...MEM0);
const promoteLow = simd(95);
const f64x2Splat = simd(20);
const f64x2Add = simd(240);
const f64x2Mul = simd(242);
const f64Load = [0x2b, ...MEM0];
const f32Load = [0x2a, ...MEM0];
const f64Store = [0x39, ...MEM0];
const F64_PROMOTE = 0xbb;
const F64_ADD = 0xa0;
const F64_MUL = 0xa2;
/** `block loop (exit when i + 2 > n) body; i += 2; br loop end end` */
function pairLoop(i: number, n: number, body: number[]): number[] {
  return [0x02, 0x40, 0x03, 0x40, ...get(i), 0x41, 2, 0x6a, ...get(n), 0x4b, 0x0d, 1, ...body, ...get(i), 0x41, 2, 0x6a, ...set(i), 0x0c, 0, 0x0b, 0x0b];
}
/** `if (i < n) body` */
const ifTail = (i: number, n: number, body: number[]): number[] => [...get(i), ...get(n), 0x49, 0x04, 0x40, ...body, 0x0b];

/**
 * y += a_0 x_0; y += a_1 x_1; ... over (y, x_0..x_{m-1}, a_0..a_{m-1}, n), x of element size 4 (f32) or
 * 8 (f64): y is loaded and stored once per m rows, and each element still gets its terms in order.
 */
function axpyBody(xBytes: 4 | 8, m: number): number[] {
  const Y = 0;
  const X = (t: number): number => 1 + t;
  const A = (t: number): number => 1 + m + t;
  const N = 1 + 2 * m;
  const I = N + 1;
  const AV = (t: number): number => I + 1 + t;
  const xShift = xBytes === 4 ? 2 : 3;
  const xPair = (t: number): number[] => (xBytes === 4 ? [...addr(X(t), I, xShift), ...load64Zero, ...promoteLow] : [...addr(X(t), I, xShift), ...v128Load]);
  const xOne = (t: number): number[] => (xBytes === 4 ? [...addr(X(t), I, xShift), ...f32Load, F64_PROMOTE] : [...addr(X(t), I, xShift), ...f64Load]);
  const terms = Array.from({ length: m }, (_, t) => t);
  const code = [
    ...terms.flatMap((t) => [...get(A(t)), ...f64x2Splat, ...set(AV(t))]),
    0x41, 0, ...set(I),
    ...pairLoop(I, N, [...addr(Y, I, 3), ...addr(Y, I, 3), ...v128Load, ...terms.flatMap((t) => [...get(AV(t)), ...xPair(t), ...f64x2Mul, ...f64x2Add]), ...v128Store]),
    ...ifTail(I, N, [...addr(Y, I, 3), ...addr(Y, I, 3), ...f64Load, ...terms.flatMap((t) => [...get(A(t)), ...xOne(t), F64_MUL, F64_ADD]), ...f64Store]),
    0x0b,
  ];
  return [2, 1, I32, m, V128, ...code];
}

/** Dot product in two f64x2 accumulators (elements 4q, 4q+1 | 4q+2, 4q+3), then pairs, then an odd tail. */
function dotBody(): number[] {
  const [Y, X, N, I, ACC0, ACC1, S] = [0, 1, 2, 3, 4, 5, 6];
  const prod = (off: number): number[] => [...addr(Y, I, 3), ...v128Load.slice(0, -1), off * 8, ...addr(X, I, 2), ...load64Zero.slice(0, -1), off * 4, ...promoteLow, ...f64x2Mul];
  const quadLoop = [0x02, 0x40, 0x03, 0x40, ...get(I), 0x41, 4, 0x6a, ...get(N), 0x4b, 0x0d, 1,
    ...get(ACC0), ...prod(0), ...f64x2Add, ...set(ACC0),
    ...get(ACC1), ...prod(2), ...f64x2Add, ...set(ACC1),
    ...get(I), 0x41, 4, 0x6a, ...set(I), 0x0c, 0, 0x0b, 0x0b];
  const code = [
    0x41, 0, ...set(I),
    ...simd(12, ...new Array<number>(16).fill(0)), ...set(ACC0),
    ...simd(12, ...new Array<number>(16).fill(0)), ...set(ACC1),
    ...quadLoop,
    ...pairLoop(I, N, [...get(ACC0), ...prod(0), ...f64x2Add, ...set(ACC0)]),
    ...get(ACC0), ...get(ACC1), ...f64x2Add, ...set(ACC0),
    ...get(ACC0), ...simd(33, 0), ...get(ACC0), ...simd(33, 1), F64_ADD, ...set(S),
    ...ifTail(I, N, [...get(S), ...addr(Y, I, 3), ...f64Load, ...addr(X, I, 2), ...f32Load, F64_PROMOTE, F64_MUL, F64_ADD, ...set(S)]),
    ...get(S),
    0x0b,
  ];
  return [3, 1, I32, 2, V128, 1, F64, ...code];
}

function section(id: number, payload: number[]): number[] {
  return [id, ...leb(payload.length), ...payload];
}
const str = (s: string): number[] => [s.length, ...Array.from(s, (c) => c.charCodeAt(0))];

/** Terms fused per axpy call. */
export const FUSED = 4;

function moduleBytes(): Uint8Array {
  const axpyType = (m: number): number[] => [0x60, 2 + 2 * m, I32, ...new Array<number>(m).fill(I32), ...new Array<number>(m).fill(F64), I32, 0];
  const types = [3, ...axpyType(1), ...axpyType(FUSED), 0x60, 3, I32, I32, I32, 1, F64];
  const imports = [1, ...str('m'), ...str('mem'), 0x02, 0x00, 1];
  const funcs = [5, 0, 0, 1, 1, 2];
  const names = ['axpy32', 'axpy64', 'axpy32x4', 'axpy64x4', 'dot32'];
  const exports = [names.length, ...names.flatMap((n, i) => [...str(n), 0, i])];
  const bodies = [axpyBody(4, 1), axpyBody(8, 1), axpyBody(4, FUSED), axpyBody(8, FUSED), dotBody()];
  const code = [bodies.length, ...bodies.flatMap((b) => [...leb(b.length), ...b])];
  return Uint8Array.from([0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0, ...section(1, types), ...section(2, imports), ...section(3, funcs), ...section(7, exports), ...section(10, code)]);
}

let compiled: object | null = null;

/** Kernels over a fresh memory of at least `bytes` bytes. */
export function fitKernels(bytes: number): FitKernels {
  compiled ??= new WA.Module(moduleBytes());
  const memory = new WA.Memory({ initial: Math.max(1, Math.ceil(bytes / 65536)) });
  const inst = new WA.Instance(compiled, { m: { mem: memory } });
  const e = inst.exports as unknown as Omit<FitKernels, 'memory'>;
  return { memory, axpy32: e.axpy32, axpy64: e.axpy64, axpy32x4: e.axpy32x4, axpy64x4: e.axpy64x4, dot32: e.dot32 };
}
