// KV growth never holds the event loop for long: KvArena.prepare moves a large cache to a wider stride in slices,
// with event-loop turns between them. Measured with perf_hooks.monitorEventLoopDelay against the same growth done
// in one synchronous pass (ratios within one run, so a loaded machine moves both sides alike).
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { KvArena } from '../../src/engine/kvArena.js';

// 4 layers x 8 rows x 8 heads x 64 dims, 360 tokens per row: 47 MB of float32 KV moved from stride 384 to 768.
const shape = { layers: 4, rows: 8, heads: 8, headDim: 64, maxSlots: 1024, dtype: 'float32' as const };
const filled = 360;

function filledArena(): KvArena {
  const a = new KvArena(shape);
  a.setStride(384);
  const src = new Float32Array(shape.heads * filled * shape.headDim);
  for (let r = 0; r < shape.rows; r++) {
    for (let l = 0; l < shape.layers; l++) {
      for (const kind of ['key', 'value'] as const) {
        for (let i = 0; i < src.length; i++) src[i] = ((r * 31 + l * 7 + (kind === 'key' ? 0 : 3)) * 1000 + i) % 65521;
        a.write(l, kind, src, r, 1, filled);
      }
    }
    a.advance(r, 1, filled);
  }
  return a;
}

/** Element (row, head, slot, dim) of layer l's keys, in the arena's current layout. */
const at = (a: KvArena, l: number, r: number, h: number, s: number, d: number): number => (a.keys[l] as Float32Array)[((r * shape.heads + h) * a.stride + s) * shape.headDim + d] as number;

describe('KV arena growth', () => {
  it('grows a large cache in slices: event-loop delay far below one synchronous re-layout, contents kept', async () => {
    const sync = filledArena();
    const t0 = performance.now();
    sync.setStride(768);
    const syncMs = performance.now() - t0;
    const expected = [at(sync, 3, 7, 5, 359, 63), at(sync, 0, 0, 0, 0, 0), at(sync, 2, 4, 1, 200, 10)];

    const sliced = filledArena();
    const h = monitorEventLoopDelay({ resolution: 1 });
    h.enable();
    // A ticking timer stands in for other streams: it must keep running while the cache grows.
    let ticks = 0;
    const timer = setInterval(() => (ticks += 1), 1);
    try {
      await sliced.prepare(shape.rows, 768, 2);
    } finally {
      clearInterval(timer);
      h.disable();
    }
    const loopMaxMs = h.max / 1e6;
    const s = sliced.relayoutStats;
    console.log(`sync re-layout ${syncMs.toFixed(1)} ms; sliced: ${s.slices} slices over ${s.totalMs.toFixed(1)} ms, longest slice ${s.maxSliceMs.toFixed(2)} ms, event-loop delay max ${loopMaxMs.toFixed(2)} ms, ${ticks} timer ticks`);
    expect(sliced.stride).toBe(768);
    expect([at(sliced, 3, 7, 5, 359, 63), at(sliced, 0, 0, 0, 0, 0), at(sliced, 2, 4, 1, 200, 10)]).toEqual(expected);
    expect(s.relayouts).toBe(1);
    expect(s.slices).toBeGreaterThan(1);
    expect(ticks).toBeGreaterThan(1);
    // One synchronous copy would show up as a delay of about syncMs.
    expect(s.maxSliceMs).toBeLessThan(syncMs / 3);
    expect(loopMaxMs).toBeLessThan(syncMs / 2);
  }, 60_000);

  it('shrinks a large cache in slices too (releasing a buffer tail is itself slow in one piece)', async () => {
    const shrinkTo = 64;
    const prepared = async (): Promise<KvArena> => {
      const a = filledArena();
      await a.prepare(shape.rows, 1024, 2);
      for (let r = 0; r < shape.rows; r++) a.clearRow(r);
      a.relayoutStats.maxSliceMs = 0;
      return a;
    };
    const sync = await prepared();
    const t0 = performance.now();
    sync.setStride(shrinkTo);
    const syncMs = performance.now() - t0;
    const sliced = await prepared();
    const releasedBytes = sliced.allocatedBytes - 2 * shape.layers * shape.rows * shape.heads * shrinkTo * shape.headDim * 4;
    // sliceMs 0: every step is its own slice, so the count shows the release went in 2 MiB steps.
    await sliced.prepare(shape.rows, shrinkTo, 0);
    console.log(`shrink 1024 -> ${shrinkTo} slots: sync ${syncMs.toFixed(1)} ms, longest slice ${sliced.relayoutStats.maxSliceMs.toFixed(2)} ms`);
    expect(sliced.stride).toBe(shrinkTo);
    expect(sliced.allocatedBytes).toBe(sync.allocatedBytes);
    expect(sliced.allocatedBytes).toBe(2 * shape.layers * shape.rows * shape.heads * shrinkTo * shape.headDim * 4);
    // Released in 2 MiB steps, none near the one-piece time (a loose ratio: a step can be preempted).
    expect(sliced.relayoutStats.slices).toBeGreaterThanOrEqual(releasedBytes / 2 ** 21);
    expect(sliced.relayoutStats.maxSliceMs).toBeLessThan(syncMs / 2);
  }, 60_000);
});

