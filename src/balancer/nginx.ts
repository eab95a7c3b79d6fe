// Runs the system nginx as a load balancer for one run: writes a config into a fresh temporary prefix, checks
// it with `nginx -t`, starts nginx in the foreground on a free loopback port, waits until it answers, and on
// stop shuts it down (SIGQUIT, then SIGTERM, then SIGKILL, each bounded), reaps its workers, removes the prefix.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants as fsConstants } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { LlmbenchError } from '../errors.js';
import type { BalancerStats } from '../types.js';
import type { BalancerHandle } from './options.js';
import { NGINX_DEFAULTS, NGINX_READY_PATH, renderNginxConfig, resolveNginxConfig, type NginxConfigInput, type NginxConfigOptions } from './nginxConfig.js';
import { nginxStatsFromLog } from './nginxStats.js';
import { childPids, cmdline, isAlive } from './procfs.js';
import { validateLoopbackHost, validateIntRange } from './upstreamSpec.js';

/** Options of `startNginx`: the config's, plus where to listen and which binary to run. */
export interface NginxOptions extends NginxConfigOptions {
  /** Loopback address to listen on. */
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Path of the nginx binary; by default found on PATH or in the usual sbin folders. */
  nginxBinary?: string;
  /** Bound on waiting for nginx to answer after start. */
  startTimeoutMs?: number;
  /** Bound on waiting for the graceful (SIGQUIT) shutdown before harsher signals; default shutdown timeout + 3 s. */
  stopTimeoutMs?: number;
}

/** A running nginx balancer. `pid` is the master process. */
export interface NginxHandle extends BalancerHandle {
  kind: 'nginx';
  pid: number;
  prefix: string;
  configText: string;
  /** e.g. "1.22.1" */
  version: string;
  /** Current worker processes of the master. */
  workerPids(): number[];
}

const SBIN_DIRS = ['/usr/sbin', '/usr/local/sbin', '/usr/local/nginx/sbin', '/sbin'];
const PORT_ATTEMPTS = 5;
const OUTPUT_KEEP_CHARS = 8_000;

function notInstalled(detail: string): LlmbenchError {
  return new LlmbenchError(
    'NGINX',
    `nginx is not installed or cannot be run (${detail})`,
    'Install it with `apt-get install -y nginx` (Debian/Ubuntu; `dnf install nginx` on Fedora), or use `balancer: builtin`.',
  );
}

/** Finds the nginx binary: the explicit path, else PATH, else the usual sbin folders. Throws NGINX when absent. */
export function findNginx(explicit?: string): string {
  const candidates = explicit !== undefined
    ? [explicit]
    : [...(process.env['PATH'] ?? '').split(delimiter).filter(Boolean), ...SBIN_DIRS].map((d) => join(d, 'nginx'));
  for (const c of candidates) {
    try {
      accessSync(c, fsConstants.X_OK);
      return c;
    } catch {
      // try the next one
    }
  }
  throw notInstalled(explicit !== undefined ? `${explicit} is not an executable` : 'not found on PATH or in /usr/sbin');
}

function run(bin: string, args: string[], timeoutMs: number): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const add = (c: Buffer): void => {
      output = (output + c.toString('utf8')).slice(-OUTPUT_KEEP_CHARS);
    };
    child.stdout.on('data', add);
    child.stderr.on('data', add);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output: output.trim() });
    });
  });
}

/** Runs `nginx -v`; returns the version, e.g. "1.22.1". */
export async function nginxVersion(bin: string): Promise<string> {
  let r: { code: number | null; output: string };
  try {
    r = await run(bin, ['-v'], 10_000);
  } catch (e) {
    throw notInstalled(`${bin}: ${(e as Error).message}`);
  }
  const m = /nginx\/(\d+)\.(\d+)\.(\d+)/.exec(r.output);
  if (r.code !== 0 || !m) throw notInstalled(`${bin} -v said: ${r.output || `exit code ${String(r.code)}`}`);
  return `${m[1]}.${m[2]}.${m[3]}`;
}

function versionAtLeast(v: string, min: [number, number, number]): boolean {
  const parts = v.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    const a = parts[i] ?? 0;
    const b = min[i] ?? 0;
    if (a !== b) return a > b;
  }
  return true;
}

/** Binds port 0 on `host`, reads the port, closes. Another process may take it before nginx does: callers retry. */
export function pickFreePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

function probe(host: string, port: number, token: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ host, port, path: NGINX_READY_PATH, agent: false, timeout: 500 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve(res.statusCode === 200 && body === token));
      res.on('error', () => resolve(false));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function waitForExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (exited(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return '';
  }
}

interface Started {
  child: ChildProcess;
  config: NginxConfigInput;
  configText: string;
}

/** Starts nginx with the config for `port`; resolves once it answers with the token, or explains why not. */
async function startOnce(
  bin: string,
  version: string,
  prefix: string,
  opts: NginxOptions,
  host: string,
  port: number,
  startTimeoutMs: number,
): Promise<Started | 'port-in-use'> {
  const readyToken = randomBytes(12).toString('hex');
  const config = resolveNginxConfig(opts, { listenHost: host, listenPort: port, prefix, readyToken });
  const configText = renderNginxConfig(config);
  const confPath = join(prefix, 'nginx.conf');
  const errorLog = join(prefix, 'error.log');
  await writeFile(confPath, configText);
  // -e moves nginx's own startup log off the system path; it exists since 1.19.5.
  const base = ['-p', `${prefix}/`, '-c', confPath, ...(versionAtLeast(version, [1, 19, 5]) ? ['-e', errorLog] : [])];

  const check = await run(bin, [...base, '-t'], 15_000);
  if (check.code !== 0) {
    throw new LlmbenchError('NGINX', `generated nginx config failed \`nginx -t\`:\n${check.output}`, `llmbench needs nginx >= 1.11.11 with the proxy and upstream modules; this one is ${version}.`);
  }

  const child = spawn(bin, base, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const add = (c: Buffer): void => {
    output = (output + c.toString('utf8')).slice(-OUTPUT_KEEP_CHARS);
  };
  child.stdout?.on('data', add);
  child.stderr?.on('data', add);
  let spawnError: Error | null = null;
  child.on('error', (e) => (spawnError = e));

  const deadline = performance.now() + startTimeoutMs;
  while (performance.now() < deadline) {
    if (spawnError || exited(child)) break;
    if (await probe(host, port, readyToken)) return { child, config, configText };
    await new Promise((r) => setTimeout(r, 20));
  }
  if (!exited(child)) {
    child.kill('SIGKILL');
    await waitForExit(child, 5_000);
  }
  const why = `${output}\n${await readText(errorLog)}`.trim();
  if (/Address already in use|\(98:/.test(why)) return 'port-in-use';
  const reason = spawnError ? (spawnError as Error).message : exited(child) ? `nginx exited (${child.signalCode ?? `code ${String(child.exitCode)}`})` : `no answer within ${startTimeoutMs} ms`;
  throw new LlmbenchError('NGINX', `nginx did not start: ${reason}${why ? `\n${why}` : ''}`);
}

/** Starts the system nginx as the pipeline's balancer (least_conn with retries). Call `stop()` in a finally. */
export async function startNginx(opts: NginxOptions): Promise<NginxHandle> {
  const host = validateLoopbackHost(opts.host ?? '127.0.0.1');
  const fixedPort = validateIntRange(opts.port ?? 0, 0, 65535, 'port');
  const startTimeoutMs = validateIntRange(opts.startTimeoutMs ?? 10_000, 100, 120_000, 'start timeout (ms)');
  const stopTimeoutMs = validateIntRange(
    opts.stopTimeoutMs ?? (opts.shutdownTimeoutSeconds ?? NGINX_DEFAULTS.shutdownTimeoutSeconds) * 1000 + 3_000,
    100,
    700_000,
    'stop timeout (ms)',
  );
  // Validate every config value before touching the disk or looking for nginx.
  resolveNginxConfig(opts, { listenHost: host, listenPort: 1, prefix: '/tmp/llmbench-check', readyToken: 'check' });
  const bin = findNginx(opts.nginxBinary);
  const version = await nginxVersion(bin);

  const prefix = await mkdtemp(join(tmpdir(), 'llmbench-nginx-'));
  let started: Started | null = null;
  try {
    // Workers drop root privileges; they must be able to reach the temp folders inside the prefix.
    if (process.getuid?.() === 0) await chmod(prefix, 0o755);
    for (let attempt = 0; attempt < PORT_ATTEMPTS && started === null; attempt++) {
      const port = fixedPort !== 0 ? fixedPort : await pickFreePort(host);
      const r = await startOnce(bin, version, prefix, opts, host, port, startTimeoutMs);
      if (r !== 'port-in-use') started = r;
      else if (fixedPort !== 0) throw new LlmbenchError('NGINX', `nginx could not listen on ${host}:${port}: address already in use`, 'Use port 0 (a free port).');
    }
    if (started === null) throw new LlmbenchError('NGINX', `nginx could not get a free port after ${PORT_ATTEMPTS} attempts`);
  } catch (e) {
    await rm(prefix, { recursive: true, force: true });
    throw e;
  }

  const { child, config, configText } = started;
  const masterPid = child.pid ?? -1;
  const accessLog = join(prefix, 'access.log');
  const hostPart = host === '::1' ? '[::1]' : host;
  let finalStats: BalancerStats | null = null;
  let stopping: Promise<void> | null = null;

  const stop = async (): Promise<void> => {
    const workers = childPids(masterPid);
    if (!exited(child)) {
      child.kill('SIGQUIT'); // graceful: finish in-flight requests (bounded by worker_shutdown_timeout)
      if (!(await waitForExit(child, stopTimeoutMs))) {
        child.kill('SIGTERM');
        if (!(await waitForExit(child, 2_000))) {
          child.kill('SIGKILL');
          await waitForExit(child, 2_000);
        }
      }
    }
    // A master killed hard leaves its workers behind; reap any that are still nginx.
    for (const w of workers) {
      if (isAlive(w) && cmdline(w).startsWith('nginx')) {
        try {
          process.kill(w, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    finalStats = nginxStatsFromLog(await readText(accessLog), config.upstreams);
    await rm(prefix, { recursive: true, force: true });
  };

  return {
    kind: 'nginx',
    url: `http://${hostPart}:${config.listenPort}`,
    pid: masterPid,
    prefix,
    configText,
    version,
    workerPids: () => childPids(masterPid),
    async stats(): Promise<BalancerStats> {
      if (finalStats) return finalStats;
      // nginx logs a request after sending its response, so a client can see the answer before the log line
      // exists: read until the log stops changing (a short settle), so just-finished requests are counted.
      let text = await readText(accessLog);
      for (let i = 0; i < 10; i++) {
        await new Promise((r) => setTimeout(r, 30));
        const again = await readText(accessLog);
        if (again === text) break;
        text = again;
      }
      return nginxStatsFromLog(text, config.upstreams);
    },
    stop(): Promise<void> {
      stopping ??= stop();
      return stopping;
    },
  };
}
