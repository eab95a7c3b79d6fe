// Errors the inference server answers with, in the OpenAI error shape:
// `{"error":{"message","type","param","code"}}`. Thrown inside request handlers, caught once by the HTTP app.

/** OpenAI-style error type strings. */
export type ApiErrorType = 'invalid_request_error' | 'authentication_error' | 'server_error' | 'timeout_error' | 'overloaded_error';

/** The JSON body of an error response. */
export interface ApiErrorBody {
  error: { message: string; type: ApiErrorType; param: string | null; code: string | null };
}

/** An HTTP error response the server sends on purpose (never a crash). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: ApiErrorType,
    message: string,
    readonly param: string | null = null,
    readonly code: string | null = null,
    /** Extra response headers (e.g. Retry-After, Allow). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** The OpenAI-shaped body. */
  body(): ApiErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/** 400 for a request that is well-formed HTTP but wrong for the API. */
export function badRequest(message: string, param: string | null = null, code: string | null = 'invalid_value'): ApiError {
  return new ApiError(400, 'invalid_request_error', message, param, code);
}

/** 404 for an unknown route. */
export function notFound(path: string): ApiError {
  return new ApiError(404, 'invalid_request_error', `Unknown route: ${path}`, null, 'not_found');
}

/** 405 with an Allow header. */
export function methodNotAllowed(method: string, path: string, allowed: readonly string[]): ApiError {
  return new ApiError(405, 'invalid_request_error', `Method ${method} is not allowed on ${path} (allowed: ${allowed.join(', ')})`, null, 'method_not_allowed', {
    allow: allowed.join(', '),
  });
}

/** 413 for a body over the limit. */
export function bodyTooLarge(limitBytes: number): ApiError {
  return new ApiError(413, 'invalid_request_error', `Request body exceeds ${limitBytes} bytes`, null, 'request_too_large');
}

/** 401 without a valid bearer key. */
export function unauthorized(): ApiError {
  return new ApiError(401, 'authentication_error', 'Missing or invalid API key: send "Authorization: Bearer <key>"', null, 'invalid_api_key');
}

/** 503 when the bounded queue is full; clients should retry after `retryAfterS`. */
export function queueFull(maxQueue: number, retryAfterS: number): ApiError {
  return new ApiError(503, 'overloaded_error', `Server is at capacity (queue of ${maxQueue} waiting requests is full); retry later`, null, 'queue_full', {
    'retry-after': String(retryAfterS),
  });
}

/** 503 while loading or shutting down. */
export function unavailable(message: string): ApiError {
  return new ApiError(503, 'server_error', message, null, 'unavailable', { 'retry-after': '1' });
}

/** 504 when a request ran past --timeout-ms. */
export function requestTimeout(timeoutMs: number): ApiError {
  return new ApiError(504, 'timeout_error', `Request timed out after ${timeoutMs} ms (--timeout-ms); generation was cancelled`, null, 'timeout');
}

/** 500 for an engine failure (the server itself stays up). */
export function internalError(message: string): ApiError {
  return new ApiError(500, 'server_error', message, null, 'internal_error');
}
