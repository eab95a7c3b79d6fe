// Strict validation of everything that names an upstream. Values end up in an nginx config and in
// command lines, so they are checked against exact patterns on the raw text (the WHATWG URL parser
// silently drops tabs and newlines, which is exactly what must not be let through).
import { UsageError } from '../errors.js';

/** One upstream server a balancer sends requests to. */
export interface UpstreamSpec {
  name: string;
  /** Normalized `http://HOST:PORT` (no trailing slash). */
  url: string;
  host: string;
  port: number;
  /** Only used when no primary upstream is available for a request (nginx `backup`). */
  backup?: boolean;
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const URL_RE = /^http:\/\/(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\]):(\d{1,5})\/?$/;

/** Throws UsageError unless `name` is 1-64 chars of letters, digits, `.`, `_`, `-`. */
export function validateUpstreamName(name: string): string {
  if (!NAME_RE.test(name)) {
    throw new UsageError(
      `upstream name ${JSON.stringify(name)} is invalid`,
      'Use 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit.',
    );
  }
  return name;
}

/** Throws UsageError unless `n` is an integer port 1..65535. */
export function validatePort(n: number, what = 'port'): number {
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    throw new UsageError(`${what} ${String(n)} is invalid: must be an integer 1..65535`);
  }
  return n;
}

/** Throws UsageError unless `host` is a loopback literal (127.x.x.x or ::1); only loopback may be load-tested. */
export function validateLoopbackHost(host: string): string {
  if (host === '::1' || host === '[::1]') return '::1';
  const m = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (m && m.slice(1).every((o) => Number(o) <= 255)) return host;
  throw new UsageError(
    `host ${JSON.stringify(host)} is not a loopback address`,
    'llmbench only balances servers on this machine: use 127.0.0.1 (or ::1).',
  );
}

/** Parses and validates an upstream URL of the form http://127.0.0.1:PORT. */
export function parseUpstreamUrl(url: string): { url: string; host: string; port: number } {
  const m = URL_RE.exec(url);
  if (!m) {
    throw new UsageError(
      `upstream URL ${JSON.stringify(url)} is invalid`,
      'Expected http://127.0.0.1:PORT (loopback, no path, no query).',
    );
  }
  const host = validateLoopbackHost(m[1] ?? '');
  const port = validatePort(Number(m[2]), `upstream URL ${JSON.stringify(url)}: port`);
  const hostPart = host === '::1' ? '[::1]' : host;
  return { url: `http://${hostPart}:${port}`, host, port };
}

/** Validates a list of upstreams: at least one primary, names unique, each URL loopback. */
export function validateUpstreams(upstreams: ReadonlyArray<{ name: string; url: string; backup?: boolean }>): UpstreamSpec[] {
  if (upstreams.length === 0) throw new UsageError('at least one upstream is required', 'Pass --upstream NAME=URL.');
  if (upstreams.every((u) => u.backup === true)) throw new UsageError('at least one upstream that is not a backup is required', 'Pass --upstream NAME=URL besides --backup.');
  const seen = new Set<string>();
  return upstreams.map((u) => {
    const name = validateUpstreamName(u.name);
    if (seen.has(name)) throw new UsageError(`upstream name ${JSON.stringify(name)} is used twice`);
    seen.add(name);
    return { name, ...parseUpstreamUrl(u.url), ...(u.backup === true ? { backup: true } : {}) };
  });
}

/** Parses a `NAME=URL` command-line value. */
export function parseUpstreamArg(arg: string): { name: string; url: string } {
  const eq = arg.indexOf('=');
  if (eq <= 0) {
    throw new UsageError(`--upstream ${JSON.stringify(arg)} is invalid`, 'Expected NAME=URL, e.g. replica-0=http://127.0.0.1:8001');
  }
  return { name: arg.slice(0, eq), url: arg.slice(eq + 1) };
}

/** Throws UsageError unless `n` is an integer within [min, max]. */
export function validateIntRange(n: number, min: number, max: number, what: string): number {
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`${what} ${String(n)} is invalid: must be an integer ${min}..${max}`);
  }
  return n;
}

