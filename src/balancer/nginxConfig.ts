// Writes the nginx config for one run. Pure: validated input in, config text out. Every value that reaches the
// text is checked first (names and paths against strict character sets, numbers against ranges), so nothing a
// scenario says can add a directive.
import { LlmbenchError } from '../errors.js';
import { validateIntRange, validateLoopbackHost, validatePort, validateUpstreams, type UpstreamSpec } from './upstreamSpec.js';

/** Name of the nginx upstream group; also what $upstream_addr shows when no server was live. */
export const NGINX_UPSTREAM_GROUP = 'llmbench';
/** Location nginx answers itself with the run token, so the driver knows it is talking to its own nginx. */
export const NGINX_READY_PATH = '/llmbench-nginx-ready';

/** What the driver may configure. */
export interface NginxConfigOptions {
  /** `backup: true` servers get nginx's `backup` flag: used only when every primary is down or failed. */
  upstreams: ReadonlyArray<{ name: string; url: string; backup?: boolean }>;
  /** Attempts per request in total (`proxy_next_upstream_tries`). */
  tries?: number;
  /** Connect / send / read timeout; nginx's read timeout also bounds the gap between streamed chunks. */
  upstreamTimeoutMs?: number;
  /** `fail_timeout`: how long a failed server is skipped (nginx takes whole seconds here). */
  failTimeoutSeconds?: number;
  /** `max_fails` within `fail_timeout` before a server is skipped. */
  maxFails?: number;
  /** Idle keep-alive connections to upstreams kept per worker. */
  keepaliveConnections?: number;
  workerConnections?: number;
  maxBodyBytes?: number;
  /** `worker_shutdown_timeout`: bound on a graceful stop while streams are still open. */
  shutdownTimeoutSeconds?: number;
}

/** Config options after defaults and validation, plus where nginx listens and keeps its files. */
export interface NginxConfigInput {
  upstreams: UpstreamSpec[];
  tries: number;
  upstreamTimeoutMs: number;
  failTimeoutSeconds: number;
  maxFails: number;
  keepaliveConnections: number;
  workerConnections: number;
  maxBodyBytes: number;
  shutdownTimeoutSeconds: number;
  listenHost: string;
  listenPort: number;
  /** Absolute folder holding the config, pid, logs and temp folders. */
  prefix: string;
  /** Answered at NGINX_READY_PATH. */
  readyToken: string;
}

/** Defaults mirror the issue: least_conn, 3 tries, a failed server skipped for 2 s after one failure. */
export const NGINX_DEFAULTS = {
  tries: 3,
  upstreamTimeoutMs: 120_000,
  failTimeoutSeconds: 2,
  maxFails: 1,
  keepaliveConnections: 32,
  workerConnections: 1024,
  maxBodyBytes: 16 * 1024 * 1024,
  shutdownTimeoutSeconds: 3,
} as const;

const SAFE_PATH_RE = /^\/[A-Za-z0-9_./-]*$/;
const TOKEN_RE = /^[A-Za-z0-9_-]{1,64}$/;
/** nginx documents that the connect timeout usually cannot exceed 75 s. */
const MAX_CONNECT_TIMEOUT_MS = 75_000;

/** Validates the caller's options and the driver's own values; throws UsageError / LlmbenchError('NGINX'). */
export function resolveNginxConfig(
  opts: NginxConfigOptions,
  where: { listenHost: string; listenPort: number; prefix: string; readyToken: string },
): NginxConfigInput {
  if (!SAFE_PATH_RE.test(where.prefix) || where.prefix.includes('..')) {
    throw new LlmbenchError('NGINX', `nginx prefix ${JSON.stringify(where.prefix)} has characters llmbench does not write into a config`, 'Set TMPDIR to a plain path such as /tmp.');
  }
  if (!TOKEN_RE.test(where.readyToken)) throw new LlmbenchError('NGINX', `invalid ready token ${JSON.stringify(where.readyToken)}`);
  return {
    upstreams: validateUpstreams(opts.upstreams),
    tries: validateIntRange(opts.tries ?? NGINX_DEFAULTS.tries, 1, 16, 'tries'),
    upstreamTimeoutMs: validateIntRange(opts.upstreamTimeoutMs ?? NGINX_DEFAULTS.upstreamTimeoutMs, 1, 3_600_000, 'upstream timeout (ms)'),
    failTimeoutSeconds: validateIntRange(opts.failTimeoutSeconds ?? NGINX_DEFAULTS.failTimeoutSeconds, 1, 3_600, 'fail timeout (s)'),
    maxFails: validateIntRange(opts.maxFails ?? NGINX_DEFAULTS.maxFails, 0, 100, 'max fails'),
    keepaliveConnections: validateIntRange(opts.keepaliveConnections ?? NGINX_DEFAULTS.keepaliveConnections, 1, 10_000, 'keepalive connections'),
    workerConnections: validateIntRange(opts.workerConnections ?? NGINX_DEFAULTS.workerConnections, 16, 65_535, 'worker connections'),
    maxBodyBytes: validateIntRange(opts.maxBodyBytes ?? NGINX_DEFAULTS.maxBodyBytes, 1, 1024 ** 3, 'max body bytes'),
    shutdownTimeoutSeconds: validateIntRange(opts.shutdownTimeoutSeconds ?? NGINX_DEFAULTS.shutdownTimeoutSeconds, 1, 600, 'shutdown timeout (s)'),
    listenHost: validateLoopbackHost(where.listenHost),
    listenPort: validatePort(where.listenPort, 'listen port'),
    prefix: where.prefix.replace(/\/+$/, ''),
    readyToken: where.readyToken,
  };
}

function hostPort(host: string, port: number): string {
  return host === '::1' ? `[::1]:${port}` : `${host}:${port}`;
}

/** Renders nginx.conf. Input must come from `resolveNginxConfig`. */
export function renderNginxConfig(c: NginxConfigInput): string {
  const p = c.prefix;
  const connectMs = Math.min(c.upstreamTimeoutMs, MAX_CONNECT_TIMEOUT_MS);
  const servers = c.upstreams.map(
    (u) => `    server ${hostPort(u.host, u.port)} max_fails=${c.maxFails} fail_timeout=${c.failTimeoutSeconds}s${u.backup ? ' backup' : ''}; # ${u.name}`,
  );
  const backups = c.upstreams.filter((u) => u.backup);
  // $upstream_addr ends with the server that answered; a backup's answer is marked as a fallback.
  const fallbackMap = backups.length === 0 ? [] : [
    '  map $upstream_addr $llmbench_fallback {',
    '    default "";',
    ...backups.map((u) => `    "~${hostPort(u.host, u.port).replace(/[.[\]]/g, (ch) => `\\${ch}`)}$" backup;`),
    '  }',
    '',
  ];
  return [
    '# Written by llmbench for one run; the whole prefix folder is removed when the run ends.',
    'daemon off;',
    'master_process on;',
    'worker_processes 1;',
    `pid ${p}/nginx.pid;`,
    `lock_file ${p}/nginx.lock;`,
    `error_log ${p}/error.log warn;`,
    // Bounds SIGQUIT's graceful shutdown: long SSE streams must not keep nginx alive forever.
    `worker_shutdown_timeout ${c.shutdownTimeoutSeconds}s;`,
    '',
    'events {',
    `  worker_connections ${c.workerConnections};`,
    '}',
    '',
    'http {',
    // Read back by the driver for per-upstream stats ($upstream_addr lists every server tried).
    "  log_format llmbench '$status|$upstream_addr|$upstream_status|$request_time';",
    `  access_log ${p}/access.log llmbench;`,
    `  client_body_temp_path ${p}/client_body_temp;`,
    `  proxy_temp_path ${p}/proxy_temp;`,
    `  fastcgi_temp_path ${p}/fastcgi_temp;`,
    `  uwsgi_temp_path ${p}/uwsgi_temp;`,
    `  scgi_temp_path ${p}/scgi_temp;`,
    `  client_max_body_size ${c.maxBodyBytes};`,
    '  client_body_buffer_size 1m;',
    '',
    ...fallbackMap,
    `  upstream ${NGINX_UPSTREAM_GROUP} {`,
    '    least_conn;',
    ...servers,
    `    keepalive ${c.keepaliveConnections};`,
    '  }',
    '',
    '  server {',
    `    listen ${hostPort(c.listenHost, c.listenPort)};`,
    '',
    `    location = ${NGINX_READY_PATH} {`,
    '      access_log off;',
    `      return 200 "${c.readyToken}";`,
    '    }',
    '',
    '    location / {',
    `      proxy_pass http://${NGINX_UPSTREAM_GROUP};`,
    '      proxy_http_version 1.1;',
    '      proxy_set_header Connection "";',
    // SSE: no response buffering, so tokens reach the client as the replica produces them.
    '      proxy_buffering off;',
    '      proxy_cache off;',
    // The whole body is read first, so a retry can resend it to the next server.
    '      proxy_request_buffering on;',
    `      proxy_connect_timeout ${connectMs}ms;`,
    `      proxy_send_timeout ${c.upstreamTimeoutMs}ms;`,
    `      proxy_read_timeout ${c.upstreamTimeoutMs}ms;`,
    // POST is non-idempotent: without non_idempotent nginx would not retry a request it already sent.
    '      proxy_next_upstream error timeout http_502 http_503 http_504 non_idempotent;',
    `      proxy_next_upstream_tries ${c.tries};`,
    '      add_header x-llmbench-upstream-addr $upstream_addr always;',
    ...(backups.length > 0 ? ['      add_header x-llmbench-fallback $llmbench_fallback always;'] : []),
    '    }',
    '  }',
    '}',
    '',
  ].join('\n');
}
