// The KV cache a stage worker keeps for its own layers: one KvArena per decoder (same layout and stride
// rules as the engine's SlotDecoder), fed to the stage's session as `past` views in place and extended with
// the session's new keys/values after each step. Only token ids, positions and the mask cross threads.
// Imported by the worker: it may only import files that are themselves worker-safe (no onnxruntime).
import { KvArena, type KvArray } from '../kvArena.js';
import type { KvBinding, KvOpen, KvOp, KvStep, TensorData } from './stagedProtocol.js';

interface ResidentCache {
  arena: KvArena;
  bindings: KvBinding[];
  dtype: 'float32' | 'float16';
  heads: number;
  headDim: number;
}

/** A session input or fetch made by the cache for one step. */
export interface KvFeed {
  name: string;
  type: string;
  dims: number[];
  data: TensorData;
}

/** Per-decoder caches of one stage. */
export class StageKvCaches {
  private readonly caches = new Map<number, ResidentCache>();

  open(m: KvOpen): void {
    this.caches.set(m.decoderId, {
      arena: new KvArena({ layers: m.bindings.length, rows: m.rows, heads: m.heads, headDim: m.headDim, maxSlots: m.maxSlots, dtype: m.dtype }),
      bindings: m.bindings,
      dtype: m.dtype,
      heads: m.heads,
      headDim: m.headDim,
    });
  }

  apply(op: KvOp): void {
    if (op.op === 'close') {
      this.caches.delete(op.decoderId);
      return;
    }
    const c = this.get(op.decoderId);
    if (op.op === 'move') c.arena.moveRow(op.from, op.to);
    else c.arena.clearRow(op.row);
  }

  /** Past feeds for a step (views of the arena after moving to the step's stride), and what to fetch. */
  feeds(step: KvStep): { feeds: KvFeed[]; fetch: string[] } {
    const c = this.get(step.decoderId);
    c.arena.setStride(step.stride);
    const dims = [step.count, c.heads, step.stride, c.headDim];
    const feeds: KvFeed[] = [];
    c.bindings.forEach((b, slot) => {
      feeds.push({ name: b.pastKey, type: c.dtype, dims, data: c.arena.view(slot, 'key', step.first, step.count) });
      feeds.push({ name: b.pastValue, type: c.dtype, dims, data: c.arena.view(slot, 'value', step.first, step.count) });
    });
    return { feeds, fetch: c.bindings.flatMap((b) => [b.newKey, b.newValue]) };
  }

  /** Writes the step's new keys/values (from the session outputs) and advances the rows. */
  absorb(step: KvStep, outputs: (name: string) => TensorData): void {
    const c = this.get(step.decoderId);
    c.bindings.forEach((b, slot) => {
      c.arena.write(slot, 'key', outputs(b.newKey) as KvArray, step.first, step.count, step.s);
      c.arena.write(slot, 'value', outputs(b.newValue) as KvArray, step.first, step.count, step.s);
    });
    c.arena.advance(step.first, step.count, step.s);
  }

  private get(decoderId: number): ResidentCache {
    const c = this.caches.get(decoderId);
    if (!c) throw new Error(`no KV cache for decoder ${decoderId}`);
    return c;
  }
}
