// Continuous batching over one decoder. Each `step()`: admit waiting sequences (up to maxBatch), prefill
// them in fixed-size chunks under a per-step token budget (so a long prompt never stalls running sequences
// for more than about one chunk), then decode one token for every running sequence in a single ORT run.
// Running sequences always occupy decoder rows 0..n-1; when one leaves, the last row moves into its place.
// A sequence's tokens do not depend on its neighbours: prefill chunking is fixed per prompt, masked cache
// slots contribute exact zeros, and each sequence samples from its own seeded generator.
import { UsageError } from '../errors.js';
import type { LoadedModelInfo } from '../onnx/loader.js';
import { resolveModelDir } from '../modelgen/resolve.js';
import type { DeviceName, FinishReason, SequenceRequest, TokenEvent } from '../types.js';
import { createDecoder, type Decoder, type KvUsage } from './decoder.js';
import { Sampler } from './sampler.js';
import { type DecoderSession, type KvMode, openDecoderSession } from './session.js';
import { TextTokenizer } from './tokenizer.js';

/** Options of `BatchEngine.load`. */
export interface BatchEngineOptions {
  /** Model folder or preset name. */
  modelDir: string;
  device?: DeviceName;
  threads?: number | null;
  /** Most sequences decoded together. */
  maxBatch: number;
  /** Tokens per sequence (prompt + output); default and upper bound: the model's max positions. */
  maxContext?: number;
  /** Prompt tokens per prefill run (fixed, so results do not depend on batching). Default 64. */
  prefillChunk?: number;
  /** Prompt tokens prefilled per step while other sequences are decoding. Default: one chunk. */
  prefillBudget?: number;
  kvMode?: KvMode | 'auto';
  /** See SessionOptions.mmapWeights and keepPresentOutputs. */
  mmapWeights?: boolean;
  keepPresentOutputs?: boolean;
  /** See SessionOptions.kvDtype. */
  kvDtype?: 'float32' | 'float16' | null;
  /** See SessionOptions.variant. */
  variant?: string | null;
  /** Opens the decoder session instead of a single ORT session (e.g. a layer-split staged runner). */
  openSession?: (dir: string) => Promise<DecoderSession>;
}

interface Seq {
  req: SequenceRequest;
  sampler: Sampler;
  stop: Set<number>;
  row: number;
  prefilled: number;
  generated: number;
  lastToken: number;
  cancelled: boolean;
}

/** Timing and counters since load. */
export interface EngineStats {
  steps: number;
  /** Wall time inside step(), summed. */
  stepMs: number;
  /** Part of stepMs spent inside ORT runs. */
  ortMs: number;
  prefillTokens: number;
  decodeTokens: number;
}

/** A continuously batched generation engine. */
export class BatchEngine {
  readonly stats: EngineStats = { steps: 0, stepMs: 0, ortMs: 0, prefillTokens: 0, decodeTokens: 0 };
  private readonly queue: Seq[] = [];
  private readonly active: Seq[] = [];
  private prefilling: Seq | null = null;
  private readonly ids = new Set<string>();
  private stepping = false;
  /** Ids cancelled while a step was running: their events from that step are dropped. */
  private readonly cancelledInStep = new Set<string>();
  private disposed = false;
  /** Ids the sampler may produce: the tokenizer's range (model vocabularies are often padded past it). */
  private readonly sampleLimit: number;

  private constructor(
    readonly session: DecoderSession,
    readonly tokenizer: TextTokenizer,
    readonly decoder: Decoder,
    readonly maxBatch: number,
    readonly maxContext: number,
    readonly prefillChunk: number,
    readonly prefillBudget: number,
  ) {
    this.sampleLimit = Math.min(session.info.vocabSize, Math.max(1, tokenizer.vocabSize));
  }

  /** Opens the model (preset names build into the cache) and prepares a decoder for maxBatch rows. */
  static async load(opts: BatchEngineOptions): Promise<BatchEngine> {
    if (!Number.isInteger(opts.maxBatch) || opts.maxBatch < 1) throw new UsageError(`maxBatch must be a positive integer, got ${opts.maxBatch}`);
    const dir = await resolveModelDir(opts.modelDir);
    const tokenizer = TextTokenizer.load(dir);
    const session = opts.openSession
      ? await opts.openSession(dir)
      : await openDecoderSession(dir, { device: opts.device, threads: opts.threads, kvMode: opts.kvMode, mmapWeights: opts.mmapWeights, keepPresentOutputs: opts.keepPresentOutputs, kvDtype: opts.kvDtype, variant: opts.variant });
    session.info.eosTokenIds = [...new Set([...session.info.eosTokenIds, ...tokenizer.eosTokenIds])];
    const maxContext = opts.maxContext ?? session.info.maxPositions;
    if (!Number.isInteger(maxContext) || maxContext < 2) {
      await session.runner.dispose();
      throw new UsageError(`maxContext must be an integer >= 2, got ${opts.maxContext}`);
    }
    if (maxContext > session.info.maxPositions) {
      await session.runner.dispose();
      throw new UsageError(`max context ${maxContext} exceeds the model's context of ${session.info.maxPositions} positions (${dir}/config.json)`, `Use --max-context ${session.info.maxPositions} or less.`);
    }
    const chunk = opts.prefillChunk ?? 64;
    if (!Number.isInteger(chunk) || chunk < 1) throw new UsageError(`prefillChunk must be a positive integer, got ${chunk}`);
    const decoder = createDecoder(session, opts.maxBatch, maxContext);
    return new BatchEngine(session, tokenizer, decoder, opts.maxBatch, maxContext, chunk, Math.max(chunk, opts.prefillBudget ?? chunk));
  }

  /** Model facts (eosTokenIds include generation_config.json's). */
  get info(): LoadedModelInfo {
    return this.session.info;
  }

  /** Sequences admitted (prefilling or decoding). */
  get running(): number {
    return this.active.length + (this.prefilling ? 1 : 0);
  }

  /** KV cache bytes held now and the part holding tokens (null where the decoder cannot tell). */
  kvBytes(): KvUsage | null {
    return this.decoder.kvBytes();
  }

  /** Element type of the KV cache kept between steps. */
  get kvDtype(): 'float32' | 'float16' {
    return this.session.info.kvDtype;
  }

  /** Sequences added and not yet admitted. */
  get waiting(): number {
    return this.queue.length;
  }

  /** Queues a sequence; throws UsageError for a request that can never run. */
  add(req: SequenceRequest): void {
    if (this.disposed) throw new Error('engine disposed');
    if (this.ids.has(req.id)) throw new UsageError(`sequence id "${req.id}" is already in the engine`);
    if (req.promptIds.length === 0) throw new UsageError(`sequence "${req.id}": empty prompt`);
    if (req.promptIds.length > this.maxContext) {
      throw new UsageError(`sequence "${req.id}": prompt of ${req.promptIds.length} tokens exceeds the context of ${this.maxContext}`);
    }
    if (!Number.isInteger(req.maxTokens) || req.maxTokens < 1) throw new UsageError(`sequence "${req.id}": maxTokens must be a positive integer`);
    const bad = req.promptIds.find((t) => !Number.isInteger(t) || t < 0 || t >= this.info.vocabSize);
    if (bad !== undefined) throw new UsageError(`sequence "${req.id}": token id ${bad} is outside the vocabulary (${this.info.vocabSize})`);
    let sampler: Sampler;
    try {
      sampler = new Sampler(req.sampling);
    } catch (e) {
      throw new UsageError(`sequence "${req.id}": ${(e as Error).message}`);
    }
    this.ids.add(req.id);
    this.queue.push({ req, sampler, stop: new Set(req.stopTokenIds), row: -1, prefilled: 0, generated: 0, lastToken: -1, cancelled: false });
  }

  /** Removes a sequence (at once, or at the end of the step in progress); it emits no further events. */
  cancel(id: string): boolean {
    if (!this.ids.has(id)) return false;
    const all = [...this.queue, ...this.active, ...(this.prefilling ? [this.prefilling] : [])];
    const seq = all.find((s) => s.req.id === id);
    if (!seq) return false;
    seq.cancelled = true;
    if (this.stepping) this.cancelledInStep.add(id);
    else this.sweep();
    return true;
  }

  /** Admits, prefills and decodes once; returns the tokens produced (the last of a sequence has a finishReason). */
  async step(): Promise<TokenEvent[]> {
    if (this.disposed) throw new Error('engine disposed');
    if (this.stepping) throw new Error('step() is already running');
    this.stepping = true;
    const t0 = performance.now();
    const ort0 = this.session.runner.stats.runMs;
    const events: TokenEvent[] = [];
    try {
      this.sweep();
      await this.prefillStep(events);
      if (this.active.length > 0) await this.decodeStep(events);
    } catch (e) {
      // The cache of every admitted sequence may be half-written: drop them all, keep the queue.
      for (const s of [...this.active, ...(this.prefilling ? [this.prefilling] : [])]) s.cancelled = true;
      this.sweep();
      throw e;
    } finally {
      this.stepping = false;
      this.stats.steps += 1;
      this.stats.stepMs += performance.now() - t0;
      this.stats.ortMs += this.session.runner.stats.runMs - ort0;
    }
    // Sequences cancelled while the step ran leave now, and their tokens from this step are dropped.
    this.sweep();
    if (this.cancelledInStep.size === 0) return events;
    const dropped = new Set(this.cancelledInStep);
    this.cancelledInStep.clear();
    return events.filter((e) => !dropped.has(e.id));
  }

  /** Releases the ORT session. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.session.runner.dispose();
  }

  private async prefillStep(events: TokenEvent[]): Promise<void> {
    let budget = this.active.length > 0 ? this.prefillBudget : Math.max(this.prefillBudget, 4 * this.prefillChunk);
    while (budget > 0) {
      if (!this.prefilling) {
        const next = this.queue.shift();
        if (!next || this.active.length >= this.maxBatch) {
          if (next) this.queue.unshift(next);
          return;
        }
        next.row = this.active.length;
        this.decoder.clearRow(next.row);
        this.prefilling = next;
      }
      const seq = this.prefilling;
      const n = Math.min(this.prefillChunk, seq.req.promptIds.length - seq.prefilled);
      const logits = await this.decoder.extend(seq.row, seq.req.promptIds.slice(seq.prefilled, seq.prefilled + n));
      seq.prefilled += n;
      budget -= n;
      this.stats.prefillTokens += n;
      if (seq.prefilled < seq.req.promptIds.length) continue;
      this.prefilling = null;
      const finish = this.emit(seq, seq.sampler.sample(logits, 0, this.sampleLimit), events);
      if (finish) this.release(seq);
      else this.active.push(seq);
    }
  }

  private async decodeStep(events: TokenEvent[]): Promise<void> {
    const batch = this.active.slice();
    const logits = await this.decoder.decode(batch.map((s) => s.lastToken));
    this.stats.decodeTokens += batch.length;
    const V = this.decoder.vocabSize;
    const done: Seq[] = [];
    batch.forEach((seq, r) => {
      if (this.emit(seq, seq.sampler.sample(logits, r * V, this.sampleLimit), events)) done.push(seq);
    });
    for (const seq of done) this.leave(seq);
  }

  /** Records a sampled token; returns true when it ends the sequence. */
  private emit(seq: Seq, tokenId: number, events: TokenEvent[]): boolean {
    seq.generated += 1;
    seq.lastToken = tokenId;
    let finishReason: FinishReason | null = null;
    if (seq.stop.has(tokenId)) finishReason = 'stop';
    else if (seq.generated >= seq.req.maxTokens || seq.req.promptIds.length + seq.generated >= this.maxContext) finishReason = 'length';
    events.push({ id: seq.req.id, tokenId, finishReason });
    return finishReason !== null;
  }

  /** Drops cancelled sequences from the queue and the batch. */
  private sweep(): void {
    for (let i = this.queue.length - 1; i >= 0; i--) {
      const s = this.queue[i] as Seq;
      if (s.cancelled) {
        this.queue.splice(i, 1);
        this.ids.delete(s.req.id);
      }
    }
    if (this.prefilling?.cancelled) {
      const s = this.prefilling;
      this.prefilling = null;
      this.release(s);
    }
    for (const s of this.active.filter((x) => x.cancelled)) this.leave(s);
  }

  /** Takes a running sequence out of the batch, keeping running rows contiguous. */
  private leave(seq: Seq): void {
    const i = this.active.indexOf(seq);
    if (i < 0) return;
    const last = this.active.length - 1;
    const moved = this.active[last] as Seq;
    this.decoder.clearRow(seq.row);
    if (i !== last) {
      this.decoder.moveRow(moved.row, seq.row);
      moved.row = seq.row;
      this.active[i] = moved;
    }
    this.active.pop();
    // A half-prefilled sequence sits just after the running rows; keep it there.
    if (this.prefilling && this.prefilling.row !== this.active.length) {
      this.decoder.moveRow(this.prefilling.row, this.active.length);
      this.prefilling.row = this.active.length;
    }
    this.ids.delete(seq.req.id);
  }

  private release(seq: Seq): void {
    if (seq.row >= 0) this.decoder.clearRow(seq.row);
    this.ids.delete(seq.req.id);
  }
}
