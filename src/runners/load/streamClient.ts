// The streaming request function. One call = one Sample; it never throws. Timestamps come from
// performance.now() and are taken when bytes arrive, before any parsing. Requests go over keep-alive
// sockets with a small HTTP/1.1 parser (httpResponseParser.ts) because Node's http client spends about
// twice the CPU per request, and the load generator must not become the bottleneck; SSE is parsed by
// eventsource-parser.
import type { Sample } from '../../types.js';
import { ConnectionPool } from './connectionPool.js';
import { Exchange, type ExchangeContext, type RequestSpec } from './exchange.js';
import type { TokenCounter } from './tokenCounter.js';

export { extractChunk, type RequestSpec } from './exchange.js';

/** Where and how to send requests. */
export interface ClientOptions {
  /** Base URL (scheme, host, port, optional path prefix). */
  baseUrl: string;
  apiKey: string | null;
  tokenizer: TokenCounter | null;
}

/** How often deadlines are checked; a timeout fires at most this late. */
const TIMEOUT_SWEEP_MS = 20;
/** Request bytes are built once per distinct (path, body, stream); bounded so memory is too. */
const MAX_CACHED_REQUESTS = 4096;

/** Sends requests over keep-alive connections and turns each into a Sample. */
export class StreamClient {
  private readonly pool: ConnectionPool;
  private readonly head: string;
  private readonly prefix: string;
  private readonly live = new Set<Exchange>();
  /** (stream, path) -> body -> request bytes; body strings come from the workload, so lookups are cheap. */
  private readonly requests = new Map<string, Map<string, Buffer>>();
  private cachedRequests = 0;
  private sweeper: NodeJS.Timeout | null = null;
  private readonly ctx: ExchangeContext;

  constructor(
    opts: ClientOptions,
    /** performance.now() value that sample times are relative to. */
    clock0: number,
  ) {
    const url = new URL(opts.baseUrl);
    const secure = url.protocol === 'https:';
    const port = url.port ? Number(url.port) : secure ? 443 : 80;
    this.pool = new ConnectionPool(url.hostname.replace(/^\[|\]$/g, ''), port, secure);
    this.prefix = url.pathname.replace(/\/+$/, '');
    const auth = opts.apiKey ? `Authorization: Bearer ${opts.apiKey}\r\n` : '';
    this.head = `Host: ${url.host}\r\nContent-Type: application/json\r\n${auth}`;
    this.ctx = { pool: this.pool, tokenizer: opts.tokenizer, clock0, done: (ex) => this.live.delete(ex) };
  }

  /** performance.now() value that sample times are relative to. */
  get clock0(): number {
    return this.ctx.clock0;
  }

  set clock0(v: number) {
    this.ctx.clock0 = v;
  }

  private requestBytes(spec: RequestSpec): Buffer {
    const route = `${spec.stream ? 's' : 'n'}${spec.path}`;
    let byBody = this.requests.get(route);
    if (!byBody) {
      byBody = new Map();
      this.requests.set(route, byBody);
    }
    let bytes = byBody.get(spec.body);
    if (!bytes) {
      const body = Buffer.from(spec.body, 'utf8');
      const accept = spec.stream ? 'text/event-stream' : 'application/json';
      const head = `POST ${this.prefix}${spec.path} HTTP/1.1\r\n${this.head}Accept: ${accept}\r\nContent-Length: ${body.length}\r\n\r\n`;
      bytes = Buffer.concat([Buffer.from(head, 'latin1'), body]);
      if (this.cachedRequests >= MAX_CACHED_REQUESTS) {
        this.requests.clear();
        this.cachedRequests = 0;
        byBody = new Map();
        this.requests.set(route, byBody);
      }
      byBody.set(spec.body, bytes);
      this.cachedRequests++;
    }
    return bytes;
  }

  /** Sends one request; resolves with its Sample (never rejects). */
  send(spec: RequestSpec): Promise<Sample> {
    const ex = new Exchange(this.ctx, spec, this.requestBytes(spec));
    this.live.add(ex);
    this.sweeper ??= setInterval(() => this.sweep(), TIMEOUT_SWEEP_MS);
    ex.start();
    return ex.promise;
  }

  private sweep(): void {
    if (this.live.size === 0) {
      if (this.sweeper) clearInterval(this.sweeper);
      this.sweeper = null;
      return;
    }
    const now = performance.now();
    for (const ex of this.live) if (now >= ex.deadline) ex.fail('timeout', `no complete response within ${ex.timeoutMs} ms`);
  }

  /** Connections opened so far. */
  get connectionsOpened(): number {
    return this.pool.opened;
  }

  /** Requests in flight right now. */
  get inFlight(): number {
    return this.live.size;
  }

  /** Aborts everything in flight (their samples settle as errors). */
  abortAll(reason: string): void {
    for (const ex of [...this.live]) ex.fail('error', reason);
  }

  /** Closes every connection and stops the deadline checks. */
  close(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.sweeper = null;
    this.pool.destroy();
  }
}
