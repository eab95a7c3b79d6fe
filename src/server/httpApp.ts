// The HTTP layer: routing (404/405), bearer auth (401), the body limit (413), JSON parsing (400), the replica
// header on every response, per-request metrics, and turning any thrown error into an OpenAI-style error body.
// Nothing a client sends can crash the process: every handler error ends as a response.
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { ApiError, badRequest, bodyTooLarge, internalError, methodNotAllowed, notFound, unauthorized } from './apiError.js';
import type { ServerState } from './serverState.js';

/** Handles one routed request; `body` is the parsed JSON for POST routes, undefined for GET. */
export type RouteHandler = (state: ServerState, req: IncomingMessage, res: ServerResponse, body: unknown) => Promise<void> | void;

/** One route: path, method, handler. */
export interface Route {
  method: 'GET' | 'POST';
  path: string;
  handler: RouteHandler;
}

/** Header every response carries. */
export const REPLICA_HEADER = 'x-llmbench-replica';
/** Bodies are drained (and discarded) up to this size before answering 413; beyond it the socket is dropped. */
const DRAIN_LIMIT_BYTES = 64 * 1024 * 1024;

/** Sends a JSON body (no-op when the response already started). */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(text)) });
  res.end(text);
}

/** Sends an ApiError in the OpenAI error shape. */
export function sendError(res: ServerResponse, err: ApiError): void {
  sendJson(res, err.status, err.body(), err.headers);
}

function readBody(req: IncomingMessage, limitBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? NaN);
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = Number.isFinite(declared) && declared > limitBytes;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limitBytes) tooLarge = true;
      if (size > DRAIN_LIMIT_BYTES) {
        req.destroy();
        reject(bodyTooLarge(limitBytes));
        return;
      }
      if (!tooLarge) chunks.push(c);
    });
    req.on('end', () => (tooLarge ? reject(bodyTooLarge(limitBytes)) : resolve(Buffer.concat(chunks))));
    req.on('error', reject);
  });
}

function parseJson(buf: Buffer): unknown {
  if (buf.length === 0) throw badRequest('Request body is empty; expected a JSON object', null, 'invalid_json');
  try {
    return JSON.parse(buf.toString('utf8')) as unknown;
  } catch (e) {
    throw badRequest(`Request body is not valid JSON: ${(e as Error).message}`, null, 'invalid_json');
  }
}

function authorized(state: ServerState, req: IncomingMessage): boolean {
  if (state.apiKey === null) return true;
  const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
  const given = Buffer.from(m?.[1]?.trim() ?? '');
  const want = Buffer.from(state.apiKey);
  // Constant-time comparison, so response timing does not leak how much of a guessed key was right.
  return given.length === want.length && timingSafeEqual(given, want);
}

/** Builds the request listener for a route table. */
export function createRequestListener(state: ServerState, routes: readonly Route[]): (req: IncomingMessage, res: ServerResponse) => void {
  const byPath = new Map<string, Route[]>();
  for (const r of routes) byPath.set(r.path, [...(byPath.get(r.path) ?? []), r]);

  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const candidates = byPath.get(path);
    const endpoint = candidates ? path : 'other';
    res.setHeader(REPLICA_HEADER, state.replicaName);
    state.inFlight += 1;
    let counted = false;
    const count = (): void => {
      if (counted) return;
      counted = true;
      state.inFlight -= 1;
      // 499: the client closed the connection before the response was complete (as nginx logs it).
      const status = res.writableFinished ? String(res.statusCode) : '499';
      state.metrics.requests.inc({ endpoint, status });
    };
    res.on('finish', count);
    res.on('close', count);
    if (state.phase === 'draining') res.setHeader('connection', 'close');

    const run = async (): Promise<void> => {
      if (path.startsWith('/v1/') && !authorized(state, req)) throw unauthorized();
      if (!candidates) throw notFound(path);
      const method = req.method === 'HEAD' ? 'GET' : req.method;
      const route = candidates.find((r) => r.method === method);
      if (!route) throw methodNotAllowed(req.method ?? '?', path, candidates.map((r) => r.method));
      let body: unknown;
      if (route.method === 'POST') body = parseJson(await readBody(req, state.bodyLimitBytes));
      await route.handler(state, req, res, body);
    };
    run().catch((e: unknown) => {
      const err = e instanceof ApiError ? e : internalError(`internal error: ${e instanceof Error ? e.message : String(e)}`);
      if (err.status === 413 || !req.complete) res.setHeader('connection', 'close');
      if (!res.headersSent) sendError(res, err);
      else if (!res.writableEnded) res.end();
      if (!req.complete) req.resume();
    });
  };
}

/** Answers HTTP the parser rejected (bad request line, huge headers) instead of dropping the socket silently. */
export function handleClientError(state: ServerState, err: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable || (err as { code?: string }).code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
  const reason = status === 431 ? 'Request Header Fields Too Large' : 'Bad Request';
  const body = JSON.stringify(new ApiError(status, 'invalid_request_error', `Malformed HTTP request (${err.code ?? err.message})`, null, 'bad_http').body());
  state.metrics.requests.inc({ endpoint: 'other', status: String(status) });
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\n${REPLICA_HEADER}: ${state.replicaName}\r\ncontent-type: application/json; charset=utf-8\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}
