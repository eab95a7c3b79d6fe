// Rows of token sequences with their KV cache, advanced by running the decoder graph. The batch engine and
// `generate` only use the `Decoder` interface; `SlotDecoder` is the fast path (engine-owned cache, ORT returns
// only new keys/values), `DenseDecoder` the fallback for plain-ops graphs without position_ids.
import * as ort from 'onnxruntime-node';
import { DenseDecoder } from './denseDecoder.js';
import { newKvName } from '../onnx/graphPatch.js';
import { KvArena, type KvArray, type RelayoutStats } from './kvArena.js';
import type { Feeds } from './runner.js';
import type { DecoderSession } from './session.js';
import { logitsFloat32 } from './logits.js';

/** Token rows with a KV cache. Row numbers are the caller's; `decode` always runs rows 0..n-1. */
export interface Decoder {
  readonly rows: number;
  /** Most tokens a row can hold. */
  readonly maxSlots: number;
  readonly vocabSize: number;
  /** Tokens in a row's cache. */
  length(row: number): number;
  /** Appends `ids` to one row (a prefill chunk) and returns the logits after its last token [vocab]. */
  extend(row: number, ids: readonly number[]): Promise<Float32Array>;
  /** Appends ids[r] to row r for every r < ids.length; returns logits [ids.length x vocab]. */
  decode(ids: readonly number[]): Promise<Float32Array>;
  moveRow(from: number, to: number): void;
  clearRow(row: number): void;
  /** Bytes of KV cache held now (allocated) and the part holding cached tokens; null where unknown (staged workers). */
  kvBytes(): KvUsage | null;
}

/** KV cache bytes allocated and in use, and the positions per row the allocation holds now. */
export interface KvUsage {
  allocated: number;
  inUse: number;
  slotsPerRow: number;
  /** Re-layout timing where the decoder owns an arena. */
  relayout: RelayoutStats | null;
}

/** Decoder over a KvArena; requires a session opened in `slots` mode. */
export class SlotDecoder implements Decoder {
  readonly arena: KvArena;
  readonly vocabSize: number;
  private readonly fetches: string[];
  private readonly kvNames: Array<[number, 'key' | 'value', string, string]> = [];
  private ids = new BigInt64Array(0);
  private positions = new BigInt64Array(0);
  private mask = new BigInt64Array(0);
  private readonly keep: ort.Tensor | null;

  constructor(
    private readonly session: DecoderSession,
    readonly rows: number,
    readonly maxSlots: number,
  ) {
    if (session.kvMode !== 'slots') throw new Error('SlotDecoder needs a session opened in slots mode');
    const { info } = session;
    this.vocabSize = info.vocabSize;
    this.arena = new KvArena({ layers: info.numLayers, rows, heads: info.numKvHeads, headDim: info.headDim, maxSlots, dtype: info.kvDtype });
    this.fetches = [session.lastLogitsOutput];
    for (let i = 0; i < info.numLayers; i++) {
      for (const kind of ['key', 'value'] as const) {
        this.kvNames.push([i, kind, `past_key_values.${i}.${kind}`, newKvName(i, kind)]);
        this.fetches.push(newKvName(i, kind));
      }
    }
    this.keep = info.hasNumLogitsToKeep ? new ort.Tensor('int64', BigInt64Array.from([1n]), []) : null;
  }

  length(row: number): number {
    return this.arena.lengths[row] as number;
  }

  async extend(row: number, ids: readonly number[]): Promise<Float32Array> {
    return this.run(row, 1, ids, ids.length);
  }

  async decode(ids: readonly number[]): Promise<Float32Array> {
    return this.run(0, ids.length, ids, 1);
  }

  moveRow(from: number, to: number): void {
    this.arena.moveRow(from, to);
  }

  clearRow(row: number): void {
    this.arena.clearRow(row);
  }

  kvBytes(): KvUsage {
    return { allocated: this.arena.allocatedBytes, inUse: this.arena.usedBytes, slotsPerRow: this.arena.stride, relayout: this.arena.relayoutStats };
  }

  /** Runs rows [first, first+count) with s new tokens each (ids is [count x s]). */
  private async run(first: number, count: number, ids: readonly number[], s: number): Promise<Float32Array> {
    const { arena } = this;
    const { info } = this.session;
    let need = 0;
    for (let r = 0; r < this.rows; r++) need = Math.max(need, arena.lengths[r] as number);
    for (let r = first; r < first + count; r++) need = Math.max(need, (arena.lengths[r] as number) + s);
    if (need > this.maxSlots) throw new RangeError(`row would hold ${need} tokens, more than ${this.maxSlots}`);
    // New rows and a new stride are laid out in slices with event-loop turns between them (see KvArena.prepare).
    await arena.prepare(first + count, nextStride(arena.stride, need, this.maxSlots));
    const stride = arena.stride;
    const total = stride + s;

    const scratch = { ids: this.buffer('ids', count * s), positions: this.buffer('positions', count * s), mask: this.buffer('mask', count * total) };
    const feeds = slotFeeds(scratch, arena.lengths, first, count, ids, s, stride, this.keep, info.hasPositionIds);
    const dims = [count, info.numKvHeads, stride, info.headDim];
    for (const [layer, kind, pastName] of this.kvNames) {
      feeds[pastName] = new ort.Tensor(info.kvDtype, arena.view(layer, kind, first, count), dims);
    }
    const out = await this.session.runner.run(feeds, this.fetches);
    for (const [layer, kind, , newName] of this.kvNames) {
      arena.write(layer, kind, (out[newName] as ort.Tensor).data as KvArray, first, count, s);
    }
    arena.advance(first, count, s);
    return logitsFloat32(out[this.session.lastLogitsOutput] as ort.Tensor);
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

/**
 * The stride to move to for rows needing `need` slots, or null to keep `current` (grow on demand, shrink when
 * over 2x). A little above the longest row: attention (and ORT's concat of past + new) costs in proportion to
 * the stride, and every change of stride moves the whole cache once. Multiples of 64 so a token's slot sits in
 * the same SIMD lane whatever the stride: the masked slack then adds exact zeros to the same partial sums, and
 * a row's logits come out the same alone or in a batch.
 */
export function nextStride(current: number, need: number, maxSlots: number): number | null {
  const target = Math.min(maxSlots, roundUp(need + Math.max(16, need >> 3), 64));
  return current < need || current > 2 * target ? Math.max(need, target) : null;
}

function roundUp(n: number, m: number): number {
  return Math.ceil(n / m) * m;
}

/** The decoder a session supports, for `rows` sequences of up to `maxSlots` tokens each. */
export function createDecoder(session: DecoderSession, rows: number, maxSlots: number): Decoder {
  if (session.createDecoder) return session.createDecoder(rows, maxSlots);
  return session.kvMode === 'slots' ? new SlotDecoder(session, rows, maxSlots) : new DenseDecoder(session, rows, maxSlots);
}

/** Reusable int64 scratch arrays for the per-step inputs. */
export interface SlotScratch {
  ids: BigInt64Array;
  positions: BigInt64Array;
  mask: BigInt64Array;
}

/**
 * Inputs of one run over rows [first, first+count) of a slot cache laid out with `stride` slots per row:
 * each row's `s` new tokens sit at positions lengths[row].., and the mask hides the slots a row has not filled.
 */
export function slotFeeds(
  scratch: SlotScratch,
  lengths: Int32Array,
  first: number,
  count: number,
  ids: readonly number[],
  s: number,
  stride: number,
  keep: ort.Tensor | null,
  withPositions = true,
): Feeds {
  const total = stride + s;
  const { ids: idT, positions: posT, mask: maskT } = scratch;
  for (let r = 0; r < count; r++) {
    const len = lengths[first + r] as number;
    for (let j = 0; j < s; j++) {
      idT[r * s + j] = BigInt(ids[r * s + j] as number);
      posT[r * s + j] = BigInt(len + j);
    }
    const m = maskT.subarray(r * total, (r + 1) * total);
    m.fill(1n, 0, len);
    m.fill(0n, len, stride);
    m.fill(1n, stride, total);
  }
  const feeds: Feeds = {
    input_ids: new ort.Tensor('int64', idT.subarray(0, count * s), [count, s]),
    attention_mask: new ort.Tensor('int64', maskT.subarray(0, count * total), [count, total]),
  };
  // GroupQueryAttention graphs have no position_ids: they derive positions from the mask's per-row sum.
  if (withPositions) feeds.position_ids = new ort.Tensor('int64', posT.subarray(0, count * s), [count, s]);
  if (keep) feeds.num_logits_to_keep = keep;
  return feeds;
}
