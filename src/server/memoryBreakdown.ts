// The server's memory breakdown: RSS measured at startup, around the model load and around every onnxruntime
// run, plus the engine's own KV arrays, composed into parts that add up to the process's RSS.
import { readProcStatus, type ProcStatus } from '../sys/procStatus.js';
import { collectGarbage, jsMemory, type JsMemory } from '../sys/jsMemory.js';
import type { MemoryBreakdown } from '../types.js';

/** What composeBreakdown needs, all measured. */
export interface MemoryMeasurements {
  now: ProcStatus;
  /** /proc status and the JS side's memory before and right after the model load (each after a full GC). */
  beforeLoad: ProcStatus;
  afterLoad: ProcStatus;
  jsBeforeLoad: JsMemory;
  jsAfterLoad: JsMemory;
  jsNow: JsMemory;
  weightFileBytes: number;
  kvAllocatedBytes: number;
  kvInUseBytes: number;
  ortRunBytes: number;
  replicas: number;
}

/** Composes the parts; `otherBytes` is what they leave unexplained. Pure. */
export function composeBreakdown(m: MemoryMeasurements): MemoryBreakdown {
  const weightsMappedBytes = Math.max(0, m.afterLoad.fileBytes - m.beforeLoad.fileBytes);
  // The load's anonymous growth less what the JS side kept from it (counted below as JS growth since the load began).
  const jsLoadBytes = m.jsAfterLoad.heapBytes - m.jsBeforeLoad.heapBytes + (m.jsAfterLoad.bufferBytes - m.jsBeforeLoad.bufferBytes);
  const weightCopiesBytes = Math.max(0, m.afterLoad.anonBytes - m.beforeLoad.anonBytes - jsLoadBytes);
  const jsHeapGrowthBytes = m.jsNow.heapBytes - m.jsBeforeLoad.heapBytes;
  const jsBuffersBytes = m.jsNow.bufferBytes - m.jsBeforeLoad.bufferBytes;
  const named = m.beforeLoad.rssBytes + weightsMappedBytes + weightCopiesBytes + m.kvAllocatedBytes + m.ortRunBytes + jsHeapGrowthBytes + jsBuffersBytes;
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
    jsBuffersBytes,
    otherBytes: m.now.rssBytes - named,
    replicas: m.replicas,
  };
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
  private readonly jsAtStart = jsMemory();
  private beforeLoad: ProcStatus | null = null;
  private afterLoad: ProcStatus | null = null;
  private jsBeforeLoad: JsMemory = this.jsAtStart;
  private jsAfterLoad: JsMemory = this.jsAtStart;
  private weightFileBytes = 0;
  private engines: EngineMemory[] = [];
  private replicas = 1;

  /** Call just before the model load begins. */
  loadStarting(): void {
    collectGarbage();
    this.beforeLoad = readProcStatus() ?? this.start;
    this.jsBeforeLoad = jsMemory();
  }

  /**
   * Call once the model is loaded; collects the load's garbage first so it is not counted as weights.
   * `engines`: every engine in the process (replicas and a fallback model); `replicas`: how many serve requests.
   */
  loaded(weightFileBytes: number, engines: EngineMemory[], replicas: number): void {
    collectGarbage();
    this.afterLoad = readProcStatus();
    this.jsAfterLoad = jsMemory();
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
      jsBeforeLoad: this.jsBeforeLoad,
      jsAfterLoad: this.jsAfterLoad,
      jsNow: jsMemory(),
      replicas: this.replicas,
    });
  }
}
