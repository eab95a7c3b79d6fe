// The engine's Decoder over a split model whose KV cache lives in the stages: each stage worker holds an
// arena for its own layers, and this main-thread side keeps only the row bookkeeping (lengths, stride) to
// build ids, positions and the mask exactly as SlotDecoder does. Per step only those, the activations
// between stages and the last stage's logits cross threads; the cache never does.
import * as ort from 'onnxruntime-node';
import { type Decoder, nextStride, slotFeeds } from '../decoder.js';
import { KvArena } from '../kvArena.js';
import type { DecoderSession } from '../session.js';
import type { StagedRunner } from './stagedRunner.js';
import { logitsFloat32 } from '../logits.js';

/** Closes a stage-side cache once its decoder is garbage collected (Decoder has no dispose). */
const finalizer = new FinalizationRegistry<{ runner: StagedRunner; decoderId: number }>(({ runner, decoderId }) => {
  runner.kvOp({ decoderId, op: 'close' });
});

/** Decoder whose cache is kept per stage; needs a slots-mode session backed by a StagedRunner. */
export class StagedSlotDecoder implements Decoder {
  readonly vocabSize: number;
  private readonly decoderId: number;
  /** Lengths and stride only (no layers): the stages hold the data in the same layout. */
  private readonly rowsState: KvArena;
  private readonly keep: ort.Tensor | null;
  private ids = new BigInt64Array(0);
  private positions = new BigInt64Array(0);
  private mask = new BigInt64Array(0);
  private broken: Error | null = null;

  constructor(
    private readonly session: DecoderSession,
    private readonly runner: StagedRunner,
    readonly rows: number,
    readonly maxSlots: number,
    /** Decode steps run as this many concurrent row groups, pipelined through the stages. */
    private readonly microBatches = 1,
  ) {
    if (session.kvMode !== 'slots') throw new Error('StagedSlotDecoder needs a session opened in slots mode');
    if (!Number.isInteger(microBatches) || microBatches < 1) throw new Error(`microBatches must be a positive integer, got ${microBatches}`);
    const { info } = session;
    this.vocabSize = info.vocabSize;
    this.rowsState = new KvArena({ layers: 0, rows, heads: info.numKvHeads, headDim: info.headDim, maxSlots, dtype: info.kvDtype });
    this.decoderId = runner.openKv({ rows, maxSlots, heads: info.numKvHeads, headDim: info.headDim, dtype: info.kvDtype });
    this.keep = info.hasNumLogitsToKeep ? new ort.Tensor('int64', BigInt64Array.from([1n]), []) : null;
    finalizer.register(this, { runner, decoderId: this.decoderId }, this);
  }

  length(row: number): number {
    return this.rowsState.lengths[row] as number;
  }

  extend(row: number, ids: readonly number[]): Promise<Float32Array> {
    return this.run(row, 1, ids, ids.length);
  }

  decode(ids: readonly number[]): Promise<Float32Array> {
    return this.run(0, ids.length, ids, 1);
  }

  moveRow(from: number, to: number): void {
    if (from === to) return;
    this.rowsState.moveRow(from, to);
    this.runner.kvOp({ decoderId: this.decoderId, op: 'move', from, to });
  }

  clearRow(row: number): void {
    this.rowsState.clearRow(row);
    this.runner.kvOp({ decoderId: this.decoderId, op: 'clear', row });
  }

  kvBytes(): null {
    // The cache lives in the stage workers; their memory is in the process's RSS but not itemized.
    return null;
  }

  /** Frees the stages' cache now rather than at garbage collection. */
  release(): void {
    finalizer.unregister(this);
    this.runner.kvOp({ decoderId: this.decoderId, op: 'close' });
    this.broken = new Error('decoder released');
  }

  private async run(first: number, count: number, ids: readonly number[], s: number): Promise<Float32Array> {
    if (this.broken) throw this.broken;
    const st = this.rowsState;
    let need = 0;
    for (let r = 0; r < this.rows; r++) need = Math.max(need, st.lengths[r] as number);
    for (let r = first; r < first + count; r++) need = Math.max(need, (st.lengths[r] as number) + s);
    if (need > this.maxSlots) throw new RangeError(`row would hold ${need} tokens, more than ${this.maxSlots}`);
    this.fitStride(need);
    // Decode rows split into micro-batches run concurrently: stage k works on one while stage k+1 works on
    // the previous, all at this step's stride. Prefill (one row) is a single run.
    const parts = s === 1 ? Math.min(this.microBatches, count) : 1;
    const runs: Promise<Float32Array>[] = [];
    for (let p = 0, at = first; p < parts; p++) {
      const n = Math.floor(count / parts) + (p < count % parts ? 1 : 0);
      runs.push(this.runRows(at, n, ids.slice((at - first) * s, (at - first + n) * s), s));
      at += n;
    }
    let logits: Float32Array[];
    try {
      logits = await Promise.all(runs);
    } catch (e) {
      // Some stages may have extended their caches and others not: this decoder cannot continue.
      this.broken = e as Error;
      throw e;
    }
    st.advance(first, count, s);
    if (logits.length === 1) return logits[0] as Float32Array;
    const all = new Float32Array(logits.reduce((a, l) => a + l.length, 0));
    let offset = 0;
    for (const l of logits) {
      all.set(l, offset);
      offset += l.length;
    }
    return all;
  }

  /** Submits one run for rows [first, first+count) at the current stride; the feeds are copied on submit. */
  private runRows(first: number, count: number, ids: readonly number[], s: number): Promise<Float32Array> {
    const st = this.rowsState;
    const stride = st.stride;
    const total = stride + s;
    const scratch = { ids: this.buffer('ids', count * s), positions: this.buffer('positions', count * s), mask: this.buffer('mask', count * total) };
    const feeds = slotFeeds(scratch, st.lengths, first, count, ids, s, stride, this.keep, this.session.info.hasPositionIds);
    const logitsName = this.session.lastLogitsOutput;
    // runResident copies the feeds before it returns its promise, so the buffers can be reused at once.
    return this.runner.runResident(feeds, [logitsName], { decoderId: this.decoderId, first, count, s, stride }).then((out) => logitsFloat32(out[logitsName] as ort.Tensor));
  }

  /** The engine's stride policy (nextStride), so split and unsplit caches share one layout rule. */
  private fitStride(need: number): void {
    const next = nextStride(this.rowsState.stride, need, this.maxSlots);
    if (next !== null) this.rowsState.setStride(next);
  }

  private buffer(which: 'ids' | 'positions' | 'mask', n: number): BigInt64Array {
    let b = this[which];
    if (b.length < n) {
      b = new BigInt64Array(Math.max(n, b.length * 2));
      this[which] = b;
    }
    return b.subarray(0, n);
  }
}
