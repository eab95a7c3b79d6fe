// What the JS side of this process holds, as V8 and Node count it: the V8 heap and the bytes of ArrayBuffers
// (typed arrays, Buffers, onnxruntime-node's output tensors, which it copies into fresh ArrayBuffers). Freed
// JS memory only leaves RSS when the garbage collector gets to it, often outside the window that allocated it,
// so memory windows take these out to leave what native code (onnxruntime) itself grew.
// Resizable ArrayBuffers (the engine's KV arrays) are not in `arrayBuffers`: V8 reserves them itself.
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';

/** Bytes held by the JS side now. */
export interface JsMemory {
  /** V8 heap committed (heapTotal). */
  heapBytes: number;
  /** ArrayBuffer bytes allocated through Node's allocator, live or awaiting collection. */
  bufferBytes: number;
}

/** The JS side's memory now (about 35 us: cheap enough to read around every onnxruntime run). */
export function jsMemory(): JsMemory {
  const m = process.memoryUsage();
  return { heapBytes: m.heapTotal, bufferBytes: m.arrayBuffers };
}

let gcFn: ((options?: { type: 'major' | 'minor' }) => void) | null | undefined;

/**
 * Runs the garbage collector now: `major` (a full collection) or `minor` (the young generation only, about a
 * millisecond). The flag is set at runtime, so servers need no --expose-gc; a no-op where V8 refuses it.
 */
export function collectGarbage(type: 'major' | 'minor' = 'major'): void {
  if (gcFn === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      gcFn = runInNewContext('gc') as (options?: { type: 'major' | 'minor' }) => void;
    } catch {
      gcFn = null;
    }
  }
  gcFn?.({ type });
}
