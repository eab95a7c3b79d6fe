// measuredRun's window with startsOnImmediate (how onnxruntime-node runs: the native work starts from a
// setImmediate registered when session.run is called). In a file of its own: a test process's earlier garbage
// (an unreferenced resizable buffer) is freed by V8 at a time no counter shows, and inside a window it would
// read as the run shrinking. And nativeGrowth, the rule that splits a window's RSS change between the JS side and
// onnxruntime.
import { describe, expect, it } from 'vitest';
import { measuredRun, nativeGrowth, type RunnerStats } from '../../src/engine/runner.js';

const MIB = 1024 * 1024;
/** ES2024's resizable ArrayBuffer, typed locally: the project's lib is older. */
type Resizable = ArrayBuffer & { resize(byteLength: number): void };
const ResizableArrayBuffer = ArrayBuffer as unknown as new (byteLength: number, options: { maxByteLength: number }) => Resizable;

describe('measuredRun window', () => {
  it('startsOnImmediate: the window opens right before the work, so a turn of the event loop before it is not the run\'s', async () => {
    // Like onnxruntime-node: the work runs from a setImmediate registered when `run` is called. Memory that
    // other work (queued first) makes resident in that turn stays out; memory the work itself grows is counted.
    // Resizable buffers are used because the JS-side counters do not see them (they stand for native memory).
    const other = new ResizableArrayBuffer(0, { maxByteLength: 128 * MIB });
    const own = new ResizableArrayBuffer(0, { maxByteLength: 128 * MIB });
    const onImmediate = (work: () => void) => () => new Promise<void>((resolve) => setImmediate(() => { work(); resolve(); }));
    const grow = (b: Resizable) => () => { b.resize(64 * MIB); new Uint8Array(b).fill(1); };
    const tight: RunnerStats = { runs: 0, runMs: 0 };
    setImmediate(grow(other));
    await measuredRun(tight, true, () => 0, onImmediate(grow(own)), true);
    expect(tight.rssGrowthBytes ?? 0).toBeGreaterThan(48 * MIB);
    expect(tight.rssGrowthBytes ?? Infinity).toBeLessThan(88 * MIB);
    // Without the flag, the same arrangement also counts the other work's 64 MiB.
    const other2 = new ResizableArrayBuffer(0, { maxByteLength: 128 * MIB });
    const own2 = new ResizableArrayBuffer(0, { maxByteLength: 128 * MIB });
    const wide: RunnerStats = { runs: 0, runMs: 0 };
    setImmediate(grow(other2));
    await measuredRun(wide, true, () => 0, onImmediate(grow(own2)));
    expect(wide.rssGrowthBytes ?? 0).toBeGreaterThan(112 * MIB);
  });
});

describe('nativeGrowth', () => {
  it('gives RSS changes to the JS side only up to what it changed in the same direction', () => {
    // An output copy placed in memory just freed: ArrayBuffers +4.5 MiB, RSS unchanged -> nothing native.
    expect(nativeGrowth(0, 4.5 * MIB)).toBe(0);
    // A collection inside the window whose memory the allocator kept: JS -10 MiB, RSS unchanged -> nothing native.
    expect(nativeGrowth(0, -10 * MIB)).toBe(0);
    // Arena growth beside an output copy: RSS +10, JS +5 -> 5 native.
    expect(nativeGrowth(10 * MIB, 5 * MIB)).toBe(5 * MIB);
    // JS and RSS move together: nothing native, either way.
    expect(nativeGrowth(64 * MIB, 64 * MIB)).toBe(0);
    expect(nativeGrowth(-8 * MIB, -8 * MIB)).toBe(0);
    // Native growth while JS shrank inside the window: the shrink left RSS alone, the growth is native.
    expect(nativeGrowth(6 * MIB, -3 * MIB)).toBe(6 * MIB);
    // RSS fell more than JS did: the rest of the fall is native (onnxruntime released memory).
    expect(nativeGrowth(-12 * MIB, -4 * MIB)).toBe(-8 * MIB);
  });
});
