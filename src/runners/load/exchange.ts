// One request/response of the load client, as a small state machine: it owns a pooled connection while
// the response arrives, timestamps every piece as it lands, and settles exactly once into a Sample.
import { performance } from 'node:perf_hooks';
import { StringDecoder } from 'node:string_decoder';
import { createParser, type EventSourceParser } from 'eventsource-parser';
import type { Sample, SampleStatus } from '../../types.js';
import type { Connection, ConnectionOwner, ConnectionPool } from './connectionPool.js';
import { ResponseParser, type ResponseEvents } from './httpResponseParser.js';
import type { TokenCounter } from './tokenCounter.js';

/** One request to send. Times are ms on performance.now(). */
export interface RequestSpec {
  index: number;
  warmup: boolean;
  path: string;
  body: string;
  stream: boolean;
  /** When the schedule wanted this request sent (absolute performance.now() ms). */
  scheduledAt: number;
  /** Deadline for the whole response, from the actual send. */
  timeoutMs: number;
  /** Prompt length from the workload, used when the server reports no usage. */
  promptTokens: number | null;
  /** max_tokens asked for (requested vs delivered lengths); absent when unknown. */
  maxTokens?: number;
}

const MAX_ERROR_BODY = 2048;

interface Extracted {
  /** Answer text (`text`, `delta.content`, `message.content`). */
  text: string;
  /** Reasoning text (`reasoning_content` as vLLM/DeepSeek/llama.cpp send it, `reasoning` as Ollama/OpenRouter do). */
  reasoning: string;
  /** Tool-call text (function name and argument fragments of `tool_calls` deltas). */
  toolText: string;
  /** `finish_reason` of the first choice, when the chunk carries one. */
  finishReason: string | null;
  usageCompletion: number | null;
  usagePrompt: number | null;
  error: string | null;
  /** `llmbench_fallback.reason` of a fallback answer (a field OpenAI clients ignore). */
  fallback: string | null;
}

function toolCallText(calls: unknown): string {
  if (!Array.isArray(calls)) return '';
  let out = '';
  for (const c of calls) {
    const fn = (c as { function?: { name?: unknown; arguments?: unknown } } | null)?.function;
    if (!fn || typeof fn !== 'object') continue;
    if (typeof fn.name === 'string') out += fn.name;
    if (typeof fn.arguments === 'string') out += fn.arguments;
    // Non-streamed responses (and Ollama) may give the arguments as an object.
    else if (fn.arguments !== null && typeof fn.arguments === 'object') out += JSON.stringify(fn.arguments);
  }
  return out;
}

/** Pulls generated text (answer, reasoning, tool calls), finish reason, usage and error out of one OpenAI-style chunk or response. */
export function extractChunk(obj: unknown): Extracted {
  const out: Extracted = { text: '', reasoning: '', toolText: '', finishReason: null, usageCompletion: null, usagePrompt: null, error: null, fallback: null };
  if (obj === null || typeof obj !== 'object') return out;
  const o = obj as Record<string, unknown>;
  const fb = o.llmbench_fallback as { reason?: unknown } | null | undefined;
  if (fb && typeof fb === 'object') out.fallback = typeof fb.reason === 'string' ? fb.reason : 'unknown';
  if (o.error !== undefined && o.error !== null) {
    const e = o.error as { message?: unknown };
    out.error = typeof e === 'object' && typeof e.message === 'string' ? e.message : JSON.stringify(o.error);
  }
  const usage = o.usage as { completion_tokens?: unknown; prompt_tokens?: unknown } | null | undefined;
  if (usage && typeof usage === 'object') {
    if (typeof usage.completion_tokens === 'number') out.usageCompletion = usage.completion_tokens;
    if (typeof usage.prompt_tokens === 'number') out.usagePrompt = usage.prompt_tokens;
  }
  if (typeof o.text === 'string') out.text = o.text;
  const choice = Array.isArray(o.choices) ? (o.choices[0] as Record<string, unknown> | undefined) : undefined;
  if (choice && typeof choice === 'object') {
    if (typeof choice.text === 'string') out.text = choice.text;
    if (typeof choice.finish_reason === 'string' && choice.finish_reason.length > 0) out.finishReason = choice.finish_reason;
    const delta = (choice.delta ?? choice.message) as Record<string, unknown> | null | undefined;
    if (delta && typeof delta === 'object') {
      if (typeof delta.content === 'string') out.text = delta.content;
      const reasoning = delta.reasoning_content ?? delta.reasoning;
      if (typeof reasoning === 'string') out.reasoning = reasoning;
      out.toolText = toolCallText(delta.tool_calls);
    }
  }
  return out;
}

const enum BodyKind {
  None,
  Error,
  Sse,
  Json,
}

/** What an exchange needs from its client. */
export interface ExchangeContext {
  pool: ConnectionPool;
  tokenizer: TokenCounter | null;
  clock0: number;
  /** Called once when the exchange settles. */
  done(ex: Exchange): void;
}

/** A request in flight; `promise` resolves with its Sample. */
export class Exchange implements ConnectionOwner, ResponseEvents {
  readonly sentAt = performance.now();
  readonly deadline: number;
  readonly timeoutMs: number;
  private readonly clock0: number;
  private httpStatus: number | null = null;
  private replica: string | null = null;
  private retries: number | null = null;
  private fallback: string | null = null;
  private firstAt: number | null = null;
  private firstAnswerAt: number | null = null;
  private lastChunkAt: number | null = null;
  /** Arrival of a chunk with a finish reason and no text: the stop token, when usage counts it (see sample()). */
  private finishOnlyAt: number | null = null;
  private finishReason: string | null = null;
  private tokenEvents = 0;
  private chunkAt = 0;
  private readonly itl: number[] = [];
  private readonly pieces: string[] = [];
  /** Reasoning and tool-call text: output tokens too, but not the answer. */
  private readonly otherPieces: string[] = [];
  private usageCompletion: number | null = null;
  private usagePrompt: number | null = null;
  private errorText: string | null = null;
  private status: SampleStatus = 'ok';
  private settled = false;
  private conn: Connection | null = null;
  private reused = false;
  private gotBytes = false;
  private parser: ResponseParser | null = null;
  private kind = BodyKind.None;
  private raw: Buffer[] = [];
  private decoder: StringDecoder | null = null;
  private sse: EventSourceParser | null = null;
  private sseDone = false;
  private resolve!: (s: Sample) => void;
  readonly promise: Promise<Sample>;

  constructor(
    private readonly ctx: ExchangeContext,
    private readonly spec: RequestSpec,
    private readonly request: Buffer,
  ) {
    this.clock0 = ctx.clock0;
    this.timeoutMs = spec.timeoutMs;
    this.deadline = this.sentAt + spec.timeoutMs;
    this.promise = new Promise<Sample>((r) => (this.resolve = r));
  }

  /** Sends on a pooled connection; `mayRetry` allows one fresh try when a reused socket was already closed. */
  start(mayRetry = true): void {
    const { conn, reused } = this.ctx.pool.acquire();
    this.conn = conn;
    this.reused = reused && mayRetry;
    this.gotBytes = false;
    this.parser = new ResponseParser(this);
    conn.owner = this;
    conn.socket.write(this.request);
  }

  onData(b: Buffer): void {
    this.gotBytes = true;
    this.chunkAt = performance.now();
    try {
      this.parser?.feed(b);
    } catch (e) {
      this.fail('error', `bad HTTP response: ${(e as Error).message}`);
    }
  }

  onGone(err: NodeJS.ErrnoException | null): void {
    if (this.settled) return;
    // A kept-alive socket the server closed just as it was reused: one fresh try, as browsers do.
    if (!this.gotBytes && this.reused) {
      this.start(false);
      return;
    }
    if (this.parser?.close()) return;
    if (err) this.fail('error', err.code ? `${err.code}: ${err.message}` : err.message);
    else this.fail('error', 'connection closed before the response was complete');
  }

  onHead(code: number, h: Map<string, string>): void {
    this.httpStatus = code;
    this.replica = h.get('x-llmbench-replica') ?? null;
    // A server's fallback, or a balancer that answered from a backup upstream.
    const fallback = h.get('x-llmbench-fallback');
    if (fallback !== undefined && fallback !== '') this.fallback = fallback;
    const tries = h.get('x-llmbench-retries');
    if (tries !== undefined && /^\d+$/.test(tries)) this.retries = Number(tries);
    const upstreams = h.get('x-llmbench-upstream-addr');
    if (this.retries === null && upstreams !== undefined && upstreams.length > 0) this.retries = upstreams.split(',').length - 1;
    if (code < 200 || code >= 300) this.kind = BodyKind.Error;
    else if ((h.get('content-type') ?? '').includes('text/event-stream')) {
      this.kind = BodyKind.Sse;
      this.decoder = new StringDecoder('utf8');
      this.sse = createParser({ onEvent: (ev) => this.onEvent(ev.data) });
    } else this.kind = BodyKind.Json;
  }

  onBody(chunk: Buffer): void {
    if (this.kind === BodyKind.Sse) {
      const text = (this.decoder as StringDecoder).write(chunk);
      if (text.length > 0) this.sse?.feed(text);
    } else if (this.kind === BodyKind.Json || this.raw.length < 4) {
      // A socket hands over each chunk it emits; keeping a reference is safe.
      this.raw.push(chunk);
    }
  }

  onEnd(): void {
    if (this.kind === BodyKind.Sse) {
      const rest = (this.decoder as StringDecoder).end();
      if (rest.length > 0) this.sse?.feed(rest);
      if (!this.sseDone && this.tokenEvents === 0 && this.finishOnlyAt === null && this.usageCompletion === null) this.fail('error', 'stream ended without any chunk');
      else this.finish();
      return;
    }
    const body = (this.raw.length === 1 ? (this.raw[0] as Buffer) : Buffer.concat(this.raw)).toString('utf8');
    if (this.kind === BodyKind.Error) {
      this.fail('error', `HTTP ${this.httpStatus}: ${body.slice(0, MAX_ERROR_BODY).trim()}`);
      return;
    }
    let obj: unknown;
    try {
      obj = JSON.parse(body);
    } catch {
      this.fail('error', `unparseable response: ${body.slice(0, 200)}`);
      return;
    }
    const x = extractChunk(obj);
    if (x.error !== null) {
      this.fail('error', `server error: ${x.error}`);
      return;
    }
    this.usageCompletion = x.usageCompletion;
    this.usagePrompt = x.usagePrompt;
    this.finishReason = x.finishReason;
    if (x.fallback !== null) this.fallback ??= x.fallback;
    // A non-streamed answer arrives all at once: it has no first-token time of its own.
    if (x.text.length > 0) this.pieces.push(x.text);
    if (x.reasoning.length > 0) this.otherPieces.push(x.reasoning);
    if (x.toolText.length > 0) this.otherPieces.push(x.toolText);
    this.finish();
  }

  private onEvent(data: string): void {
    if (this.settled) return;
    if (data === '[DONE]') {
      this.sseDone = true;
      return;
    }
    let obj: unknown;
    try {
      obj = JSON.parse(data);
    } catch {
      this.fail('error', `unparseable stream chunk: ${data.slice(0, 200)}`);
      return;
    }
    const x = extractChunk(obj);
    if (x.error !== null) {
      this.fail('error', `server error in stream: ${x.error}`);
      return;
    }
    if (x.usageCompletion !== null) this.usageCompletion = x.usageCompletion;
    if (x.usagePrompt !== null) this.usagePrompt = x.usagePrompt;
    if (x.fallback !== null) this.fallback ??= x.fallback;
    if (x.finishReason !== null) this.finishReason = x.finishReason;
    if (x.text.length > 0) this.pieces.push(x.text);
    if (x.reasoning.length > 0) this.otherPieces.push(x.reasoning);
    if (x.toolText.length > 0) this.otherPieces.push(x.toolText);
    if (x.text.length + x.reasoning.length + x.toolText.length === 0) {
      // llama.cpp and vLLM stream the stop token as an empty chunk with the finish reason, after the last text.
      if (x.finishReason !== null) this.finishOnlyAt = this.chunkAt;
      return;
    }
    if (x.text.length > 0 && this.firstAnswerAt === null) this.firstAnswerAt = this.chunkAt;
    if (this.firstAt === null) this.firstAt = this.chunkAt;
    else this.itl.push(this.chunkAt - (this.lastChunkAt as number));
    this.lastChunkAt = this.chunkAt;
    this.tokenEvents++;
  }

  /** Settles as failed (first failure wins) and drops the connection. */
  fail(kind: SampleStatus, message: string): void {
    if (this.settled) return;
    if (this.status === 'ok') {
      this.status = kind;
      this.errorText = message;
    }
    this.finish();
  }

  private finish(): void {
    if (this.settled) return;
    this.settled = true;
    const conn = this.conn;
    if (conn) {
      if (this.status === 'ok' && this.parser?.done && this.parser.keepAlive) this.ctx.pool.release(conn);
      else {
        conn.owner = null;
        conn.socket.destroy();
      }
    }
    this.ctx.done(this);
    this.resolve(this.sample(performance.now()));
  }

  private sample(endAt: number): Sample {
    const spec = this.spec;
    const tok = this.ctx.tokenizer;
    // An answer marked as a fallback is classified as one; its timings are measured like any answer's.
    if (this.status === 'ok' && this.fallback !== null) this.status = 'fallback';
    const ok = this.status === 'ok' || this.status === 'fallback';
    let firstAt = this.firstAt;
    let lastAt = this.lastChunkAt;
    let itl = this.itl;
    // A text-less finish chunk carries a counted token (the stop token) unless the server's usage shows that
    // the text chunks already account for every token; without usage, only a "stop" finish is taken as one.
    const stopToken =
      this.finishOnlyAt !== null &&
      (this.usageCompletion !== null ? this.usageCompletion > this.tokenEvents : this.finishReason === 'stop');
    if (stopToken) {
      const at = this.finishOnlyAt as number;
      if (firstAt === null) firstAt = at;
      else itl = [...itl, at - (lastAt as number)];
      lastAt = at;
    } else if (this.finishOnlyAt !== null && lastAt !== null) {
      // Not a token, but generation only ended here: E2E runs to the complete response.
      lastAt = this.finishOnlyAt;
    }
    const text = this.pieces.length === 1 ? (this.pieces[0] as string) : this.pieces.join('');
    const other = this.otherPieces.join('');
    let outputTokens = 0;
    let source: Sample['outputTokensSource'] = 'none';
    let mismatch: Sample['tokenCountMismatch'] = null;
    // The stop token has no text, so a tokenizer cannot see it: add it where the stream showed one.
    const counted = tok ? (text.length > 0 ? tok.count(text) : 0) + (other.length > 0 ? tok.count(other) : 0) + (stopToken ? 1 : 0) : null;
    if (this.usageCompletion !== null) {
      outputTokens = this.usageCompletion;
      source = 'usage';
      // A fallback answer may come from a model with another tokenizer: its count is not comparable.
      if (counted !== null && counted !== this.usageCompletion && this.fallback === null) mismatch = { usage: this.usageCompletion, tokenizer: counted };
    } else if (counted !== null) {
      outputTokens = counted;
      source = 'tokenizer';
    }
    const ttftMs = ok && firstAt !== null ? firstAt - spec.scheduledAt : null;
    // E2E ends at the last token event; the usage chunk and [DONE] that follow it are not generation time.
    const e2eMs = (ok && lastAt !== null ? lastAt : endAt) - spec.scheduledAt;
    let tpotMs: number | null = null;
    if (ok && ttftMs !== null && outputTokens >= 1) tpotMs = outputTokens === 1 ? 0 : (e2eMs - ttftMs) / (outputTokens - 1);
    return {
      index: spec.index,
      warmup: spec.warmup,
      status: this.status,
      error: this.errorText,
      httpStatus: this.httpStatus,
      scheduledMs: spec.scheduledAt - this.clock0,
      sentMs: this.sentAt - this.clock0,
      firstTokenMs: firstAt === null ? null : firstAt - this.clock0,
      endMs: endAt - this.clock0,
      ttftMs,
      answerTtftMs: ok && this.firstAnswerAt !== null ? this.firstAnswerAt - spec.scheduledAt : null,
      e2eMs,
      tpotMs,
      itlMs: itl,
      promptTokens: this.usagePrompt ?? spec.promptTokens,
      clientPromptTokens: spec.promptTokens,
      ...(spec.maxTokens !== undefined ? { requestedTokens: spec.maxTokens } : {}),
      outputTokens,
      outputTokensSource: source,
      tokenCountMismatch: mismatch,
      replica: this.replica,
      retries: this.retries,
      finishReason: this.finishReason,
      ...(this.status === 'fallback' ? { fallbackReason: this.fallback } : {}),
    };
  }
}
