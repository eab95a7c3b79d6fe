// The JS side's memory and the collector the server calls: a young-generation collection frees dead output
// copies (ArrayBuffers), which is what keeps them from piling up between onnxruntime runs.
import { describe, expect, it } from 'vitest';
import { collectGarbage, jsMemory } from '../../src/sys/jsMemory.js';

const MIB = 1024 * 1024;

/** Allocates and fills `n` buffers of 1 MiB that are garbage on return; returns the buffer bytes held meanwhile. */
function churn(n: number): number {
  const held = Array.from({ length: n }, () => new Float32Array(MIB / 4).fill(1));
  return jsMemory().bufferBytes + held.length * 0;
}

describe('jsMemory and collectGarbage', () => {
  it('counts ArrayBuffers as the JS side holds them, and a minor collection frees dead ones', () => {
    collectGarbage('major');
    const before = jsMemory().bufferBytes;
    // 12 MiB: too little for V8 to collect by itself soon (it lets tens of MiB of dead buffers build up).
    expect(churn(12) - before).toBeGreaterThan(11 * MIB);
    const dead = jsMemory().bufferBytes - before;
    collectGarbage('minor');
    // Read at once: left alone, V8 would free them too, but later (and in the server, after tens of MiB).
    const left = jsMemory().bufferBytes - before;
    expect(dead).toBeGreaterThan(11 * MIB);
    expect(left).toBeLessThan(dead / 2);
  });
});
