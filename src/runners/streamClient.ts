// The streaming request function. One call = one Sample; it never throws. Timestamps come from
// performance.now() and are taken when bytes arrive, before any parsing.
import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import type { Sample, SampleStatus } from '../types.js';
import type { TokenCounter } from './tokenCounter.js';

/** Where and how to send requests. */
export interface ClientOptions {
  /** Base URL (scheme, host, port, optional path prefix). */
  baseUrl: string;
  apiKey: string | null;
  tokenizer: TokenCounter | null;
}

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
}

const MAX_ERROR_BODY = 2048;

interface Extracted {
  text: string;
  usageCompletion: number | null;
  usagePrompt: number | null;
  error: string | null;
}

/** Pulls the generated text, usage and error out of one OpenAI-style chunk or response object. */
export function extractChunk(obj: unknown): Extracted {
  const out: Extracted = { text: '', usageCompletion: null, usagePrompt: null, error: null };
  if (obj === null || typeof obj !== 'object') return out;
  const o = obj as Record<string, unknown>;
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
    const delta = (choice.delta ?? choice.message) as { content?: unknown } | undefined;
    if (delta && typeof delta.content === 'string') out.text = delta.content;
  }
  return out;
}

/** Sends requests over a keep-alive agent and turns each into a Sample. */
export class StreamClient {
  private readonly agent: http.Agent;
  private readonly mod: typeof http | typeof https;
  private readonly host: string;
  private readonly port: number;
  private readonly prefix: string;
  private readonly baseHeaders: Record<string, string>;
  private readonly live = new Set<http.ClientRequest>();

  constructor(
    private readonly opts: ClientOptions,
    /** performance.now() value that sample times are relative to. */
    public clock0: number,
  ) {
    const url = new URL(opts.baseUrl);
    const secure = url.protocol === 'https:';
    this.mod = secure ? https : http;
    this.agent = new this.mod.Agent({ keepAlive: true, maxSockets: Infinity, scheduling: 'lifo' });
    this.host = url.hostname.replace(/^\[|\]$/g, '');
    this.port = url.port ? Number(url.port) : secure ? 443 : 80;
    this.prefix = url.pathname.replace(/\/+$/, '');
    this.baseHeaders = { 'content-type': 'application/json' };
    if (opts.apiKey) this.baseHeaders.authorization = `Bearer ${opts.apiKey}`;
  }

  /** Sends one request; resolves with its Sample (never rejects). */
  send(spec: RequestSpec): Promise<Sample> {
    return new Promise<Sample>((resolve) => {
      const clock0 = this.clock0;
      const sentAt = performance.now();
      let httpStatus: number | null = null;
      let replica: string | null = null;
      let retries: number | null = null;
      let firstAt: number | null = null;
      let lastChunkAt: number | null = null;
      const itl: number[] = [];
      const pieces: string[] = [];
      let usageCompletion: number | null = null;
      let usagePrompt: number | null = null;
      let errorText: string | null = null;
      let status: SampleStatus = 'ok';
      let settled = false;
      let chunkAt = sentAt;

      const onContent = (text: string): void => {
        if (text.length === 0) return;
        pieces.push(text);
        if (firstAt === null) firstAt = chunkAt;
        else itl.push(chunkAt - (lastChunkAt as number));
        lastChunkAt = chunkAt;
      };

      const finish = (): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.live.delete(req);
        const endAt = performance.now();
        const text = pieces.join('');
        let outputTokens = 0;
        let source: Sample['outputTokensSource'] = 'none';
        let mismatch: Sample['tokenCountMismatch'] = null;
        const counted = this.opts.tokenizer && text.length > 0 ? this.opts.tokenizer.count(text) : this.opts.tokenizer ? 0 : null;
        if (usageCompletion !== null) {
          outputTokens = usageCompletion;
          source = 'usage';
          if (counted !== null && counted !== usageCompletion) mismatch = { usage: usageCompletion, tokenizer: counted };
        } else if (counted !== null) {
          outputTokens = counted;
          source = 'tokenizer';
        }
        const ok = status === 'ok';
        const ttftMs = ok && firstAt !== null ? firstAt - spec.scheduledAt : null;
        // E2E ends at the last token; the usage chunk and [DONE] that follow it are not generation time.
        const e2eMs = (ok && lastChunkAt !== null ? lastChunkAt : endAt) - spec.scheduledAt;
        let tpotMs: number | null = null;
        if (ok && ttftMs !== null && outputTokens >= 1) tpotMs = outputTokens === 1 ? 0 : (e2eMs - ttftMs) / (outputTokens - 1);
        resolve({
          index: spec.index,
          warmup: spec.warmup,
          status,
          error: errorText,
          httpStatus,
          scheduledMs: spec.scheduledAt - clock0,
          sentMs: sentAt - clock0,
          firstTokenMs: firstAt === null ? null : firstAt - clock0,
          endMs: endAt - clock0,
          ttftMs,
          e2eMs,
          tpotMs,
          itlMs: itl,
          promptTokens: usagePrompt ?? spec.promptTokens,
          outputTokens,
          outputTokensSource: source,
          tokenCountMismatch: mismatch,
          replica,
          retries,
        });
      };

      const fail = (kind: SampleStatus, message: string): void => {
        if (settled) return;
        if (status === 'ok') {
          status = kind;
          errorText = message;
        }
        req.destroy();
        finish();
      };

      const req = this.mod.request({
        host: this.host,
        port: this.port,
        path: this.prefix + spec.path,
        method: 'POST',
        agent: this.agent,
        headers: { ...this.baseHeaders, 'content-length': Buffer.byteLength(spec.body) },
      });
      this.live.add(req);
      const timer = setTimeout(() => fail('timeout', `no complete response within ${spec.timeoutMs} ms`), spec.timeoutMs);

      req.on('error', (e: NodeJS.ErrnoException) => fail('error', e.code ? `${e.code}: ${e.message}` : e.message));
      req.on('response', (res) => {
        httpStatus = res.statusCode ?? null;
        const h = res.headers;
        const rep = h['x-llmbench-replica'];
        if (typeof rep === 'string') replica = rep;
        const tries = h['x-llmbench-retries'];
        if (typeof tries === 'string' && /^\d+$/.test(tries)) retries = Number(tries);
        const upstreams = h['x-llmbench-upstream-addr'];
        if (retries === null && typeof upstreams === 'string' && upstreams.length > 0) {
          retries = upstreams.split(',').length - 1;
        }
        res.setEncoding('utf8');
        if (httpStatus === null || httpStatus < 200 || httpStatus >= 300) {
          let body = '';
          res.on('data', (c: string) => {
            if (body.length < MAX_ERROR_BODY) body += c;
          });
          res.on('end', () => fail('error', `HTTP ${httpStatus}: ${body.slice(0, MAX_ERROR_BODY).trim()}`));
          res.on('error', () => fail('error', `HTTP ${httpStatus}`));
          return;
        }
        const ctype = String(h['content-type'] ?? '');
        if (ctype.includes('text/event-stream')) {
          let done = false;
          const parser = createParser({
            onEvent: (ev: EventSourceMessage) => {
              if (ev.data === '[DONE]') {
                done = true;
                return;
              }
              let obj: unknown;
              try {
                obj = JSON.parse(ev.data);
              } catch {
                fail('error', `unparseable stream chunk: ${ev.data.slice(0, 200)}`);
                return;
              }
              const x = extractChunk(obj);
              if (x.error !== null) {
                fail('error', `server error in stream: ${x.error}`);
                return;
              }
              if (x.usageCompletion !== null) usageCompletion = x.usageCompletion;
              if (x.usagePrompt !== null) usagePrompt = x.usagePrompt;
              onContent(x.text);
            },
          });
          res.on('data', (c: string) => {
            chunkAt = performance.now();
            parser.feed(c);
          });
          res.on('end', () => {
            if (!done && pieces.length === 0 && usageCompletion === null) fail('error', 'stream ended without any chunk');
            else finish();
          });
        } else {
          let body = '';
          res.on('data', (c: string) => {
            chunkAt = performance.now();
            body += c;
          });
          res.on('end', () => {
            let obj: unknown;
            try {
              obj = JSON.parse(body);
            } catch {
              fail('error', `unparseable response: ${body.slice(0, 200)}`);
              return;
            }
            const x = extractChunk(obj);
            if (x.error !== null) {
              fail('error', `server error: ${x.error}`);
              return;
            }
            usageCompletion = x.usageCompletion;
            usagePrompt = x.usagePrompt;
            // A non-streamed answer arrives all at once: it has no first-token time of its own.
            if (x.text.length > 0) pieces.push(x.text);
            finish();
          });
        }
        res.on('error', (e: Error) => fail('error', `response interrupted: ${e.message}`));
        res.on('close', () => {
          if (!res.complete) fail('error', 'connection closed before the response was complete');
        });
      });
      req.end(spec.body);
    });
  }

  /** Requests in flight right now. */
  get inFlight(): number {
    return this.live.size;
  }

  /** Aborts everything in flight (their samples settle as errors) and closes idle sockets. */
  abortAll(reason: string): void {
    for (const req of [...this.live]) req.destroy(new Error(reason));
  }

  close(): void {
    this.agent.destroy();
  }
}
