// The server's memory breakdown: RSS measured at startup, around the model load and around every onnxruntime
// run, plus the engine's own KV arrays, composed into parts that add up to the process's RSS.
import { readProcStatus, type ProcStatus } from '../sys/procStatus.js';
import type { MemoryBreakdown } from '../types.js';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';

/** What composeBreakdown needs, all measured. */
export interface MemoryMeasurements {
  now: ProcStatus;
  /** /proc status before and right after the model load (after a full GC). */
  beforeLoad: ProcStatus;
  afterLoad: ProcStatus;
  weightFileBytes: number;
  kvAllocatedBytes: number;
  kvInUseBytes: number;
  ortRunBytes: number;
  heapAtStartBytes: number;
  heapNowBytes: number;
  replicas: number;
}

/** Composes the parts; `otherBytes` is what they leave unexplained. Pure. */
export function composeBreakdown(m: MemoryMeasurements): MemoryBreakdown {
  const weightsMappedBytes = Math.max(0, m.afterLoad.fileBytes - m.beforeLoad.fileBytes);
  const weightCopiesBytes = Math.max(0, m.afterLoad.anonBytes - m.beforeLoad.anonBytes);
  const jsHeapGrowthBytes = m.heapNowBytes - m.heapAtStartBytes;
  const named = m.beforeLoad.rssBytes + weightsMappedBytes + weightCopiesBytes + m.kvAllocatedBytes + m.ortRunBytes + jsHeapGrowthBytes;
  return {
    rssBytes: m.now.rssBytes,
    peakRssBytes: m.now.peakRssBytes,
    loadPeakRssBytes: m.afterLoad.peakRssBytes,
    runtimeBytes: m.beforeLoad.rssBytes,
    weightFileBytes: m.weightFileBytes,
    weightsMappedBytes,
    weightCopiesBytes,
    kvAllocatedBytes: m.kvAllocatedBytes,
    kvInUseBytes: m.kvInUseBytes,
    ortRunBytes: m.ortRunBytes,
    jsHeapGrowthBytes,
    otherBytes: m.now.rssBytes - named,
    replicas: m.replicas,
  };
}

let gcFn: (() => void) | null | undefined;

/** A full V8 collection (the flag is set at runtime, so servers need no --expose-gc). */
export function collectGarbage(): void {
  if (gcFn === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      gcFn = runInNewContext('gc') as () => void;
    } catch {
      gcFn = null;
    }
  }
  gcFn?.();
}

/** The live numbers a server's engines provide at breakdown time. */
export interface EngineMemory {
  kvAllocatedBytes(): number;
  kvInUseBytes(): number;
  ortRunBytes(): number;
}

/** Records the phases of one server process; `snapshot()` composes the breakdown now. */
export class MemoryLedger {
  private readonly start = readProcStatus();
  private readonly heapAtStartBytes = process.memoryUsage().heapTotal;
  private beforeLoad: ProcStatus | null = null;
  private afterLoad: ProcStatus | null = null;
  private weightFileBytes = 0;
  private engines: EngineMemory[] = [];
  private replicas = 1;

  /** Call just before the model load begins. */
  loadStarting(): void {
    collectGarbage();
    this.beforeLoad = readProcStatus() ?? this.start;
  }

  /**
   * Call once the model is loaded; collects the load's garbage first so it is not counted as weights.
   * `engines`: every engine in the process (replicas and a fallback model); `replicas`: how many serve requests.
   */
  loaded(weightFileBytes: number, engines: EngineMemory[], replicas: number): void {
    collectGarbage();
    this.afterLoad = readProcStatus();
    this.weightFileBytes = weightFileBytes;
    this.engines = engines;
    this.replicas = replicas;
  }

  /** The breakdown now, or null before the model has loaded (or off Linux). */
  snapshot(): MemoryBreakdown | null {
    const now = readProcStatus();
    if (!now || !this.beforeLoad || !this.afterLoad) return null;
    const sum = (f: (e: EngineMemory) => number): number => this.engines.reduce((a, e) => a + f(e), 0);
    return composeBreakdown({
      now,
      beforeLoad: this.beforeLoad,
      afterLoad: this.afterLoad,
      weightFileBytes: this.weightFileBytes,
      kvAllocatedBytes: sum((e) => e.kvAllocatedBytes()),
      kvInUseBytes: sum((e) => e.kvInUseBytes()),
      ortRunBytes: sum((e) => e.ortRunBytes()),
      heapAtStartBytes: this.heapAtStartBytes,
      heapNowBytes: process.memoryUsage().heapTotal,
      replicas: this.replicas,
    });
  }
}
