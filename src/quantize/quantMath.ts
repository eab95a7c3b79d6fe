// Pure quantization math for a Linear weight stored [K, N] row-major (the graph computes x @ W):
// int8 symmetric per output column (what onnxruntime's quantize_dynamic does for qint8 per-channel), and
// blockwise N-bit quantization along K in the layout of com.microsoft MatMulNBits.

/** Int8 symmetric per-column weights: w[k, n] ≈ q[k, n] * scales[n], zero point 0. */
export interface Int8PerColumn {
  /** [K, N] row-major, in -127..127 (the -128 code is unused so the range is symmetric). */
  q: Int8Array;
  /** [N] */
  scales: Float32Array;
}

/** Blockwise quantized weights in MatMulNBits layout. */
export interface BlockwiseWeights {
  bits: 4 | 8;
  blockSize: number;
  K: number;
  N: number;
  /** ceil(K / blockSize) */
  blocksPerCol: number;
  /** blockSize * bits / 8 */
  blobBytes: number;
  /** [N, blocksPerCol, blobBytes]: codes of column n, block b, low bits first along K. */
  packed: Uint8Array;
  /** [N * blocksPerCol] */
  scales: Float32Array;
  /** Packed per column into ceil(blocksPerCol * bits / 8) bytes (low bits first); null when symmetric. */
  zeroPoints: Uint8Array | null;
}

/** Rounds half to even, as numpy and onnxruntime's quantizers do. */
export function roundHalfEven(x: number): number {
  // Math.round sends ties up (toward +inf); a tie shows as r - x === 0.5, and an odd r then steps down.
  const r = Math.round(x);
  return r - x === 0.5 && (r & 1) !== 0 ? r - 1 : r;
}

/** Largest int8 weight code for 8-bit and 7-bit (onnxruntime's reduce_range) symmetric quantization. */
export const INT8_MAX_CODE = { '8bit': 127, '7bit': 64 } as const;

/**
 * Quantizes a [K, N] float weight to int8, symmetric, one scale per output column. `maxCode` 127 uses all
 * 8 bits; 64 is onnxruntime's `reduce_range` (7 bits), for CPUs whose uint8 x int8 dot product saturates.
 */
export function quantizeInt8PerColumn(w: Float32Array, K: number, N: number, maxCode = 127): Int8PerColumn {
  checkSize(w, K, N);
  const absMax = new Float32Array(N);
  for (let k = 0; k < K; k++) {
    const row = k * N;
    for (let n = 0; n < N; n++) {
      const a = Math.abs(w[row + n] as number);
      if (a > (absMax[n] as number)) absMax[n] = a;
    }
  }
  const scales = new Float32Array(N);
  const inv = new Float64Array(N);
  for (let n = 0; n < N; n++) {
    const m = absMax[n] as number;
    // An all-zero column gets scale 1 so dequantization stays exact (0 * 1) and nothing divides by zero.
    scales[n] = m > 0 ? m / maxCode : 1;
    inv[n] = 1 / (scales[n] as number);
  }
  const q = new Int8Array(K * N);
  for (let k = 0; k < K; k++) {
    const row = k * N;
    for (let n = 0; n < N; n++) {
      const v = roundHalfEven((w[row + n] as number) * (inv[n] as number));
      q[row + n] = v > maxCode ? maxCode : v < -maxCode ? -maxCode : v;
    }
  }
  return { q, scales };
}

/** Float weight back from int8 per-column codes. */
export function dequantizeInt8PerColumn(qw: Int8PerColumn, K: number, N: number): Float32Array {
  const out = new Float32Array(K * N);
  for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) out[k * N + n] = (qw.q[k * N + n] as number) * (qw.scales[n] as number);
  return out;
}

/** Options of blockwise quantization. */
export interface BlockwiseOptions {
  bits: 4 | 8;
  blockSize: number;
  /** Symmetric: no zero points, codes centred on 2^(bits-1). Asymmetric: per-block zero point. */
  symmetric: boolean;
}

/** Quantizes a [K, N] float weight blockwise along K, per output column (MatMulNBits B/scales/zero_points). */
export function quantizeBlockwise(w: Float32Array, K: number, N: number, opts: BlockwiseOptions): BlockwiseWeights {
  checkSize(w, K, N);
  // Column-contiguous copy: the blocks run along K, and strided reads over a [768, 50257] head are slow.
  return quantizeBlockwiseRows(transpose(w, K, N), N, K, opts);
}

/**
 * Blockwise quantization of N rows of K values each ([N, K] row-major), blocks along each row. This is the
 * MatMulNBits layout of a transposed weight, and the GatherBlockQuantized layout of an embedding table.
 */
export function quantizeBlockwiseRows(wT: Float32Array, N: number, K: number, opts: BlockwiseOptions): BlockwiseWeights {
  checkSize(wT, K, N);
  const { bits, blockSize, symmetric } = opts;
  if (bits !== 4 && bits !== 8) throw new Error(`bits must be 4 or 8, got ${String(bits)}`);
  if (!Number.isInteger(blockSize) || blockSize < 16 || (blockSize & (blockSize - 1)) !== 0) {
    throw new Error(`block size must be a power of two >= 16, got ${blockSize}`);
  }
  const qMax = (1 << bits) - 1;
  const mid = 1 << (bits - 1);
  const blocksPerCol = Math.ceil(K / blockSize);
  const blobBytes = (blockSize * bits) / 8;
  const zpBytesPerCol = Math.ceil((blocksPerCol * bits) / 8);
  const packed = new Uint8Array(N * blocksPerCol * blobBytes);
  const scales = new Float32Array(N * blocksPerCol);
  const zeroPoints = symmetric ? null : new Uint8Array(N * zpBytesPerCol);
  const codes = new Uint8Array(blockSize);

  for (let n = 0; n < N; n++) {
    const col = n * K;
    for (let b = 0; b < blocksPerCol; b++) {
      const k0 = b * blockSize;
      const k1 = Math.min(K, k0 + blockSize);
      let lo = 0;
      let hi = 0;
      for (let k = k0; k < k1; k++) {
        const v = wT[col + k] as number;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
      let scale: number;
      let zp: number;
      if (symmetric) {
        // Codes -(mid-1)..(mid-1) around mid: one code unused, but the error bound is scale/2 everywhere.
        const m = Math.max(-lo, hi);
        scale = m > 0 ? m / (mid - 1) : 1;
        zp = mid;
      } else {
        // The range includes 0 (lo <= 0 <= hi) so zero weights stay exactly zero.
        scale = hi > lo ? (hi - lo) / qMax : 1;
        zp = Math.min(qMax, Math.max(0, roundHalfEven(-lo / scale)));
      }
      scale = Math.fround(scale);
      const inv = 1 / scale;
      codes.fill(zp);
      for (let k = k0; k < k1; k++) {
        const c = roundHalfEven((wT[col + k] as number) * inv) + zp;
        codes[k - k0] = c < 0 ? 0 : c > qMax ? qMax : c;
      }
      const blob = (n * blocksPerCol + b) * blobBytes;
      if (bits === 8) packed.set(codes, blob);
      else for (let j = 0; j < blockSize; j += 2) packed[blob + (j >> 1)] = (codes[j] as number) | ((codes[j + 1] as number) << 4);
      scales[n * blocksPerCol + b] = scale;
      if (zeroPoints) {
        if (bits === 8) zeroPoints[n * zpBytesPerCol + b] = zp;
        else {
          const at = n * zpBytesPerCol + (b >> 1);
          zeroPoints[at] = (zeroPoints[at] as number) | (zp << ((b & 1) * 4));
        }
      }
    }
  }
  return { bits, blockSize, K, N, blocksPerCol, blobBytes, packed, scales, zeroPoints };
}

/** Code of weight (k, n) and its block's zero point, read back from the packed layout. */
export function blockwiseCode(q: BlockwiseWeights, k: number, n: number): { code: number; zeroPoint: number; scale: number } {
  const b = Math.floor(k / q.blockSize);
  const j = k - b * q.blockSize;
  const blob = (n * q.blocksPerCol + b) * q.blobBytes;
  const code = q.bits === 8 ? (q.packed[blob + j] as number) : ((q.packed[blob + (j >> 1)] as number) >> ((j & 1) * 4)) & 0xf;
  let zeroPoint = 1 << (q.bits - 1);
  if (q.zeroPoints) {
    const zpBytesPerCol = Math.ceil((q.blocksPerCol * q.bits) / 8);
    zeroPoint = q.bits === 8 ? (q.zeroPoints[n * zpBytesPerCol + b] as number) : ((q.zeroPoints[n * zpBytesPerCol + (b >> 1)] as number) >> ((b & 1) * 4)) & 0xf;
  }
  return { code, zeroPoint, scale: q.scales[n * q.blocksPerCol + b] as number };
}

/** Float [K, N] weight back from the blockwise layout: (code - zero point) * scale. */
export function dequantizeBlockwise(q: BlockwiseWeights): Float32Array {
  const out = new Float32Array(q.K * q.N);
  for (let n = 0; n < q.N; n++) {
    for (let k = 0; k < q.K; k++) {
      const { code, zeroPoint, scale } = blockwiseCode(q, k, n);
      out[k * q.N + n] = Math.fround((code - zeroPoint) * scale);
    }
  }
  return out;
}

/** Bytes of the quantized tensors (packed codes, scales, zero points). */
export function blockwiseBytes(q: BlockwiseWeights): number {
  return q.packed.byteLength + q.scales.byteLength + (q.zeroPoints?.byteLength ?? 0);
}

/** [K, N] row-major to [N, K] row-major, in tiles so both sides stay in cache. */
export function transpose(w: Float32Array, K: number, N: number): Float32Array {
  const out = new Float32Array(K * N);
  const T = 64;
  for (let k0 = 0; k0 < K; k0 += T) {
    const k1 = Math.min(K, k0 + T);
    for (let n0 = 0; n0 < N; n0 += T) {
      const n1 = Math.min(N, n0 + T);
      for (let k = k0; k < k1; k++) for (let n = n0; n < n1; n++) out[n * K + k] = w[k * N + n] as number;
    }
  }
  return out;
}

function checkSize(w: Float32Array, K: number, N: number): void {
  if (!Number.isInteger(K) || !Number.isInteger(N) || K <= 0 || N <= 0 || w.length !== K * N) {
    throw new Error(`weight has ${w.length} values, expected K*N = ${K}*${N}`);
  }
}

const f32Scratch = new Float32Array(1);
const u32Scratch = new Uint32Array(f32Scratch.buffer);

/** IEEE half-precision bits of a float, rounded to nearest even (overflow to infinity, NaN kept). */
export function toFloat16Bits(x: number): number {
  f32Scratch[0] = x;
  const u = u32Scratch[0] as number;
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  const mant = u & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    // Subnormal half: shift the mantissa (with its implicit 1) and round to nearest even.
    const m = mant | 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rest = m & ((1 << shift) - 1);
    let h = m >>> shift;
    if (rest > half || (rest === half && (h & 1) === 1)) h += 1;
    return sign | h;
  }
  let h = (e << 10) | (mant >>> 13);
  const rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1)) h += 1;
  return sign | h;
}

/** Float value of IEEE half-precision bits. */
export function fromFloat16Bits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >>> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}
