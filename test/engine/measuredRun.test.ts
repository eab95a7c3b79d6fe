// A run's RSS window (the "onnxruntime runs" part of the memory breakdown) holds only native growth: JS
// buffers a run returns (onnxruntime-node copies every output into a fresh ArrayBuffer) and KV arrays grown
// meanwhile are counted elsewhere, so they must not be added to the run's growth.
import { describe, expect, it } from 'vitest';
import { measuredRun, type RunnerStats } from '../../src/engine/runner.js';

const MIB = 1024 * 1024;
/** ES2024's resizable ArrayBuffer (the KV arena's kind), typed locally: the project's lib is older. */
type Resizable = ArrayBuffer & { resize(byteLength: number): void };
const ResizableArrayBuffer = ArrayBuffer as unknown as new (byteLength: number, options: { maxByteLength: number }) => Resizable;

describe('measuredRun', () => {
  it('does not count a JS buffer the run returns (an output copy) as the run growing', async () => {
    const stats: RunnerStats = { runs: 0, runMs: 0 };
    const kept: Float32Array[] = [];
    for (let i = 0; i < 3; i++) {
      // 64 MiB written, so resident: without taking the JS side out, the sum would be ~192 MiB.
      const out = await measuredRun(stats, true, () => 0, async () => new Float32Array((64 * MIB) / 4).fill(1));
      kept.push(out);
    }
    expect(kept).toHaveLength(3);
    expect(stats.runs).toBe(3);
    expect(stats.rssGrowthBytes).toBeDefined();
    expect(Math.abs(stats.rssGrowthBytes ?? Infinity)).toBeLessThan(24 * MIB);
  });

  it('takes out what `excludedBytes` says grew inside the window (KV arrays grown by other work)', async () => {
    const stats: RunnerStats = { runs: 0, runMs: 0 };
    // A resizable buffer, like the KV arena's: V8 reserves it, so it is not among the JS buffers counted.
    const kv = new ResizableArrayBuffer(0, { maxByteLength: 128 * MIB });
    await measuredRun(stats, true, () => kv.byteLength, async () => {
      kv.resize(96 * MIB);
      new Uint8Array(kv).fill(1);
    });
    expect(Math.abs(stats.rssGrowthBytes ?? Infinity)).toBeLessThan(24 * MIB);
  });

  it('measures nothing unless asked to', async () => {
    const stats: RunnerStats = { runs: 0, runMs: 0 };
    await measuredRun(stats, false, () => 0, async () => new Float32Array(1024).fill(1));
    expect(stats.rssGrowthBytes).toBeUndefined();
    expect(stats.runs).toBe(1);
  });
});
