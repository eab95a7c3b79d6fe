// The built-in reverse proxy: buffers the request body (so it can be replayed), picks an upstream by policy,
// retries on connect errors, 502/503/504 and header timeouts while nothing has reached the client, and then
// pipes the response through chunk by chunk so streamed tokens are not delayed.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BalancerStats } from '../types.js';
import { createPolicy, type Policy } from './policies.js';
import { resolveBalancerOptions, type BalancerHandle, type BuiltinBalancerOptions, type ResolvedBalancerOptions } from './options.js';
import { UpstreamPool, type UpstreamState } from './upstreamPool.js';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'expect',
  'proxy-authenticate',
  'proxy-authorization',
]);
const RETRYABLE_STATUS = new Set([502, 503, 504]);
/** Marks answers from a backup upstream (same header a server's --fallback sets). */
export const FALLBACK_HEADER = 'x-llmbench-fallback';
/** Path the balancer answers itself instead of forwarding. */
export const STATS_PATH = '/balancer/stats';
/** Re-sends on a pooled keep-alive socket the upstream closed meanwhile; not a failure of the upstream. */
const MAX_STALE_SOCKET_RESENDS = 2;

type AttemptOutcome =
  | { kind: 'done' }
  | { kind: 'retry'; reason: string; timedOut: boolean }
  | { kind: 'stale' }
  | { kind: 'client-gone' };

/** Per-request state shared by its attempts. */
interface Exchange {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  body: Buffer;
  clientGone: boolean;
  current: http.ClientRequest | null;
}

function headersFor(upstreamHeaders: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const out: http.OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(upstreamHeaders)) {
    if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
  }
  return out;
}

function readBody(req: http.IncomingMessage, maxBytes: number): Promise<Buffer | 'too-large' | 'aborted'> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (v: Buffer | 'too-large' | 'aborted'): void => {
      if (!settled) {
        settled = true;
        resolve(v);
      }
    };
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > maxBytes) {
        settle('too-large');
        req.pause();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => settle(Buffer.concat(chunks)));
    req.on('error', () => settle('aborted'));
    req.on('close', () => settle(req.complete ? Buffer.concat(chunks) : 'aborted'));
  });
}

function sendJsonError(res: http.ServerResponse, status: number, message: string, retries: number): void {
  if (res.headersSent || res.destroyed) return;
  const body = JSON.stringify({ error: { message, type: 'balancer_error', code: status } });
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
    'x-llmbench-retries': String(retries),
  });
  res.end(body);
}

/** The built-in balancer bound to a port. Use `startBuiltinBalancer` to create one. */
export class BuiltinBalancer {
  readonly options: ResolvedBalancerOptions;
  private readonly pool: UpstreamPool;
  private readonly policy: Policy;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 256 });
  private readonly server: http.Server;
  private readonly counts = { requests: 0, retriedRequests: 0, failedRequests: 0 };
  private active = 0;
  private stopping: Promise<void> | null = null;
  private idleWaiters: Array<() => void> = [];

  constructor(opts: BuiltinBalancerOptions) {
    this.options = resolveBalancerOptions(opts);
    this.pool = new UpstreamPool(this.options.upstreams, this.options.cooldownMs);
    this.policy = createPolicy(this.options.policy, this.options.seed);
    this.server = http.createServer({ noDelay: true }, (req, res) => {
      this.active += 1;
      res.on('close', () => {
        this.active -= 1;
        if (this.active === 0) for (const w of this.idleWaiters.splice(0)) w();
      });
      void this.handle(req, res);
    });
    this.server.on('clientError', (_err, socket) => socket.destroy());
  }

  /** Starts listening; resolves with the bound URL. */
  listen(): Promise<string> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off('error', reject);
        const addr = this.server.address() as AddressInfo;
        const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
        resolve(`http://${host}:${addr.port}`);
      });
    });
  }

  stats(): BalancerStats {
    return { kind: 'builtin', policy: this.options.policy, ...this.counts, upstreams: this.pool.stats() };
  }

  /** Stops accepting, lets in-flight requests finish within `drainMs`, then cuts the rest. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
      this.server.closeIdleConnections();
      if (this.active > 0) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          new Promise<void>((resolve) => this.idleWaiters.push(resolve)),
          new Promise<void>((resolve) => (timer = setTimeout(resolve, this.options.drainMs))),
        ]);
        clearTimeout(timer);
      }
      this.server.closeAllConnections();
      this.agent.destroy();
      await closed;
    })();
    return this.stopping;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (req.method === 'GET' && req.url === STATS_PATH) {
      const body = JSON.stringify(this.stats());
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    const body = await readBody(req, this.options.maxBodyBytes);
    if (body === 'aborted') return;
    if (body === 'too-large') {
      // The rest of the body is never read, so the connection cannot be reused: close it once the answer is out.
      res.setHeader('connection', 'close');
      res.on('finish', () => req.destroy());
      sendJsonError(res, 413, `request body exceeds ${this.options.maxBodyBytes} bytes`, 0);
      this.finishRequest(413, 0);
      return;
    }
    const ex: Exchange = { req, res, body, clientGone: false, current: null };
    res.on('close', () => {
      if (!res.writableFinished) {
        ex.clientGone = true;
        ex.current?.destroy();
      }
    });
    await this.forward(ex);
  }

  private async forward(ex: Exchange): Promise<void> {
    const tried = new Set<number>();
    let attempts = 0;
    let staleResends = 0;
    let last: { reason: string; timedOut: boolean } = { reason: 'no upstream available', timedOut: false };
    let upstream: UpstreamState | null = null;
    for (;;) {
      if (ex.clientGone) {
        this.finishRequest('client-gone', attempts);
        return;
      }
      if (upstream === null) {
        if (attempts >= this.options.tries) break;
        const candidates = this.pool.candidates(tried);
        if (candidates.length === 0) break;
        upstream = this.policy.pick(candidates);
        tried.add(upstream.index);
        attempts += 1;
      }
      const isLast = attempts >= this.options.tries || this.pool.candidates(tried).length === 0;
      const outcome = await this.attempt(ex, upstream, attempts - 1, isLast);
      if (outcome.kind === 'done' || outcome.kind === 'client-gone') return;
      if (outcome.kind === 'stale' && staleResends < MAX_STALE_SOCKET_RESENDS) {
        staleResends += 1;
        continue; // same upstream, same attempt number
      }
      last = outcome.kind === 'retry' ? outcome : { reason: `${upstream.spec.name}: connection reset on reused sockets`, timedOut: false };
      if (outcome.kind === 'stale') {
        upstream.requests += 1; // a stale resend is not counted as an attempt; the last one is
        this.pool.markFailure(upstream);
      }
      upstream = null;
    }
    const status = last.timedOut ? 504 : 502;
    sendJsonError(ex.res, status, `all ${attempts} attempt(s) failed; last: ${last.reason}`, Math.max(0, attempts - 1));
    this.finishRequest(status, attempts);
  }

  /** `client-gone`: the client hung up, which is not the service's failure. */
  private finishRequest(status: number | 'broken' | 'client-gone', attempts: number): void {
    this.counts.requests += 1;
    if (attempts > 1) this.counts.retriedRequests += 1;
    if (status === 'broken' || (typeof status === 'number' && status >= 500)) this.counts.failedRequests += 1;
  }

  /** One attempt on one upstream. Resolves once the exchange is finished or the attempt is to be retried. */
  private attempt(ex: Exchange, u: UpstreamState, retryIndex: number, isLast: boolean): Promise<AttemptOutcome> {
    const { req, res, body } = ex;
    u.inFlight += 1;
    u.requests += 1;
    if (retryIndex > 0) u.retries += 1;
    let released = false;
    const release = (): void => {
      if (!released) {
        released = true;
        u.inFlight -= 1;
      }
    };

    return new Promise<AttemptOutcome>((resolve) => {
      const headers = headersFor(req.headers);
      headers['content-length'] = String(body.length);
      const upReq = http.request({
        host: u.spec.host,
        port: u.spec.port,
        method: req.method,
        path: req.url,
        headers,
        agent: this.agent,
      });
      ex.current = upReq;
      upReq.on('socket', (s) => s.setNoDelay(true));
      let gotResponse = false;
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        upReq.destroy(new Error(`no response headers within ${this.options.upstreamTimeoutMs} ms`));
      }, this.options.upstreamTimeoutMs);

      upReq.on('error', (err: NodeJS.ErrnoException) => {
        if (gotResponse) return; // handled by the response's close
        clearTimeout(timer);
        release();
        if (ex.clientGone) {
          this.finishRequest('client-gone', retryIndex + 1);
          resolve({ kind: 'client-gone' });
          return;
        }
        if (!timedOut && upReq.reusedSocket && err.code === 'ECONNRESET') {
          u.requests -= 1;
          if (retryIndex > 0) u.retries -= 1;
          resolve({ kind: 'stale' });
          return;
        }
        this.pool.markFailure(u);
        resolve({ kind: 'retry', reason: `${u.spec.name}: ${timedOut ? 'timeout' : (err.code ?? err.message)}`, timedOut });
      });

      upReq.on('response', (upRes) => {
        gotResponse = true;
        clearTimeout(timer);
        const status = upRes.statusCode ?? 502;
        if (RETRYABLE_STATUS.has(status) && !isLast && !ex.clientGone) {
          this.pool.markFailure(u);
          upRes.resume(); // drain so the socket can be reused
          release();
          resolve({ kind: 'retry', reason: `${u.spec.name}: HTTP ${status}`, timedOut: false });
          return;
        }
        if (status >= 500) this.pool.markFailure(u);
        else this.pool.markSuccess(u);
        const out = headersFor(upRes.headers);
        out['x-llmbench-retries'] = String(retryIndex);
        // A backup's answer is a fallback answer: say so, as a server's own fallback does.
        if (u.spec.backup === true && out[FALLBACK_HEADER] === undefined) out[FALLBACK_HEADER] = 'backup';
        res.writeHead(status, upRes.statusMessage, out);
        res.flushHeaders();
        upRes.pipe(res);
        upRes.on('error', () => undefined); // surfaced through 'close' below
        upRes.on('close', () => {
          release();
          if (upRes.complete) {
            this.finishRequest(status, retryIndex + 1);
            resolve({ kind: 'done' });
            return;
          }
          // Headers are out, so there is no retry: cut the client's stream so it sees the failure.
          if (!ex.clientGone) {
            this.pool.markFailure(u);
            res.destroy();
          }
          this.finishRequest(ex.clientGone ? 'client-gone' : 'broken', retryIndex + 1);
          resolve({ kind: ex.clientGone ? 'client-gone' : 'done' });
        });
      });

      upReq.end(body);
    });
  }
}

/** Starts the built-in balancer inside this process (tests, or the `balance` command itself). */
export async function startBuiltinBalancer(opts: BuiltinBalancerOptions): Promise<BalancerHandle & { balancer: BuiltinBalancer }> {
  const balancer = new BuiltinBalancer(opts);
  const url = await balancer.listen();
  return {
    kind: 'builtin',
    url,
    pid: null,
    balancer,
    stats: () => Promise.resolve(balancer.stats()),
    stop: () => balancer.stop(),
  };
}
