// Logits as float32 whatever the graph's dtype: float16 exports return raw half-precision bits
// (Uint16Array), and sampling, argmax and perplexity work on float32 copies of them.
import type * as ort from 'onnxruntime-node';
import { fromFloat16Bits } from '../quantize/quantMath.js';

let halfTable: Float32Array | null = null;

/** Every float16 bit pattern's float32 value (256 KiB, built on first use). */
function halfToFloat(): Float32Array {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) halfTable[h] = fromFloat16Bits(h);
  }
  return halfTable;
}

/** The tensor's values as float32: the data itself for float32, a converted copy for float16. */
export function logitsFloat32(t: ort.Tensor): Float32Array {
  if (t.type === 'float32') return t.data as Float32Array;
  if (t.type === 'float16') {
    const bits = t.data as Uint16Array;
    const table = halfToFloat();
    const out = new Float32Array(bits.length);
    for (let i = 0; i < bits.length; i++) out[i] = table[bits[i] as number] as number;
    return out;
  }
  throw new TypeError(`logits of type ${t.type} are not supported (expected float32 or float16)`);
}
