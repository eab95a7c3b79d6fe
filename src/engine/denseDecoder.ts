// Fallback decoder for graphs the slot cache cannot serve (no position_ids: positions are then derived from
// the past length, so a cache with gaps or left padding would shift them). Each row keeps ORT's own `present`
// tensors and runs alone; correct for any KV-cache export, but every step copies the whole cache out of ORT.
import * as ort from 'onnxruntime-node';
import type { Decoder, KvUsage } from './decoder.js';
import type { Feeds } from './runner.js';
import type { DecoderSession } from './session.js';
import { logitsFloat32 } from './logits.js';

interface RowState {
  past: ort.Tensor[];
  length: number;
}

/** One ORT run per row and step, with the row's cache fetched as `present` outputs. */
export class DenseDecoder implements Decoder {
  readonly vocabSize: number;
  private readonly state: Array<RowState | null>;
  private readonly pastNames: string[] = [];
  private readonly fetches: string[];
  private readonly keep: ort.Tensor | null;

  constructor(
    private readonly session: DecoderSession,
    readonly rows: number,
    readonly maxSlots: number,
  ) {
    const { info } = session;
    this.vocabSize = info.vocabSize;
    this.state = new Array<RowState | null>(rows).fill(null);
    this.fetches = [session.lastLogitsOutput];
    for (let i = 0; i < info.numLayers; i++) {
      for (const kind of ['key', 'value']) {
        this.pastNames.push(`past_key_values.${i}.${kind}`);
        this.fetches.push(`present.${i}.${kind}`);
      }
    }
    this.keep = info.hasNumLogitsToKeep ? new ort.Tensor('int64', BigInt64Array.from([1n]), []) : null;
  }

  length(row: number): number {
    return this.state[row]?.length ?? 0;
  }

  async extend(row: number, ids: readonly number[]): Promise<Float32Array> {
    const { info, runner } = this.session;
    const st = this.state[row] ?? this.emptyRow();
    const s = ids.length;
    if (st.length + s > this.maxSlots) throw new RangeError(`row would hold ${st.length + s} tokens, more than ${this.maxSlots}`);
    const feeds: Feeds = {
      input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, (x) => BigInt(x)), [1, s]),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(st.length + s).fill(1n), [1, st.length + s]),
    };
    if (info.hasPositionIds) feeds.position_ids = new ort.Tensor('int64', BigInt64Array.from({ length: s }, (_, j) => BigInt(st.length + j)), [1, s]);
    if (this.keep) feeds.num_logits_to_keep = this.keep;
    this.pastNames.forEach((n, i) => (feeds[n] = st.past[i] as ort.Tensor));
    const out = await runner.run(feeds, this.fetches);
    st.past = this.fetches.slice(1).map((n) => out[n] as ort.Tensor);
    st.length += s;
    this.state[row] = st;
    const logits = logitsFloat32(out[this.session.lastLogitsOutput] as ort.Tensor);
    // Without num_logits_to_keep or the patched last-logits output, logits cover every new position.
    return logits.length === this.vocabSize ? logits : logits.subarray(logits.length - this.vocabSize);
  }

  async decode(ids: readonly number[]): Promise<Float32Array> {
    const out = new Float32Array(ids.length * this.vocabSize);
    for (let r = 0; r < ids.length; r++) out.set(await this.extend(r, [ids[r] as number]), r * this.vocabSize);
    return out;
  }

  moveRow(from: number, to: number): void {
    this.state[to] = this.state[from] ?? null;
    this.state[from] = null;
  }

  clearRow(row: number): void {
    this.state[row] = null;
  }

  kvBytes(): KvUsage {
    // Each row holds ORT's `present` tensors, exactly its tokens' keys and values.
    let bytes = 0;
    let longest = 0;
    for (let r = 0; r < this.rows; r++) longest = Math.max(longest, this.length(r));
    for (const st of this.state) for (const t of st?.past ?? []) bytes += (t.data as ArrayBufferView).byteLength;
    return { allocated: bytes, inUse: bytes, slotsPerRow: longest, relayout: null };
  }

  private emptyRow(): RowState {
    const { info } = this.session;
    const dims = [1, info.numKvHeads, 0, info.headDim];
    const empty = info.kvDtype === 'float16' ? new ort.Tensor('float16', new Uint16Array(0), dims) : new ort.Tensor('float32', new Float32Array(0), dims);
    return { past: this.pastNames.map(() => empty), length: 0 };
  }
}
