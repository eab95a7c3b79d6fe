// `llmbench serve` as a real process: the ready line, a streamed request over plain HTTP, and SIGTERM/SIGINT
// shutdown (drain, then cancel past the bound) with exit code 0. Needs the compiled CLI (dist/), which
// `npm test` builds first.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../../bin/llmbench.js', import.meta.url));
const READY = /^llmbench-ready (\{.*\})$/;

let cacheDir: string;
const children: ChildProcessWithoutNullStreams[] = [];

beforeAll(() => {
  cacheDir = mkdtempSync(join(tmpdir(), 'llmbench-serve-cli-'));
});
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});
afterAll(() => rmSync(cacheDir, { recursive: true, force: true }));

interface Started {
  child: ChildProcessWithoutNullStreams;
  url: string;
  ready: { url: string; pid: number; model: string };
  stdoutLines: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Spawns `llmbench serve --model tiny --port 0 ...` with a private preset cache and waits for the ready line. */
async function startServe(extra: string[] = []): Promise<Started> {
  const child = spawn(process.execPath, [bin, 'serve', '--model', 'tiny', '--port', '0', ...extra], {
    env: { ...process.env, LLMBENCH_CACHE: cacheDir },
  });
  children.push(child);
  const stdoutLines: string[] = [];
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const ready = await new Promise<Started['ready']>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`no ready line within 60 s; stderr: ${stderr}`)), 60_000);
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) !== -1) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        stdoutLines.push(line);
        const m = READY.exec(line);
        if (m) {
          clearTimeout(timer);
          resolve(JSON.parse(m[1] as string) as Started['ready']);
        }
      }
    });
    void exited.then(({ code }) => reject(new Error(`serve exited with ${code} before ready; stderr: ${stderr}`)));
  });
  return { child, url: ready.url, ready, stdoutLines, exited };
}

async function readSse(r: Response): Promise<string[]> {
  return (await r.text())
    .split('\n\n')
    .map((e) => e.trim())
    .filter((e) => e.startsWith('data: '))
    .map((e) => e.slice(6));
}

describe('llmbench serve', () => {
  it('prints one ready line, streams over HTTP, and exits 0 on SIGTERM after finishing the running request', async () => {
    const s = await startServe(['--replica-name', 'replica-7']);
    expect(s.ready).toEqual({ url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/), urls: [s.url], pid: s.child.pid, model: 'tiny' });
    expect(s.stdoutLines).toHaveLength(1);
    const health = await fetch(`${s.url}/health`);
    expect(health.status).toBe(200);
    expect(health.headers.get('x-llmbench-replica')).toBe('replica-7');

    // A long streaming request is in flight when SIGTERM arrives: it is allowed to finish (default drain 5 s).
    const inFlight = fetch(`${s.url}/v1/completions`, {
      method: 'POST',
      body: JSON.stringify({ prompt: 'The', max_tokens: 150, temperature: 0, stream: true }),
    });
    const r = await inFlight;
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/event-stream/);
    s.child.kill('SIGTERM');
    const events = await readSse(r);
    expect(events.at(-1)).toBe('[DONE]');
    expect(events.at(-2)).toMatch(/"finish_reason":"length"/);
    expect(await s.exited).toEqual({ code: 0, signal: null });
    expect(s.stdoutLines).toHaveLength(1);
  }, 90_000);

  it('on SIGINT cancels requests still running after --drain-ms, ends their stream with an error event, and exits 0', async () => {
    const s = await startServe(['--drain-ms', '0', '--max-batch', '1']);
    const r = await fetch(`${s.url}/v1/completions`, {
      method: 'POST',
      body: JSON.stringify({ prompt: 'The', max_tokens: 250, temperature: 0, stream: true }),
    });
    expect(r.status).toBe(200);
    const t0 = Date.now();
    s.child.kill('SIGINT');
    const events = await readSse(r);
    expect(events.at(-1)).toBe('[DONE]');
    expect(JSON.parse(events.at(-2) as string)).toMatchObject({ error: { code: 'unavailable' } });
    expect(await s.exited).toEqual({ code: 0, signal: null });
    expect(Date.now() - t0).toBeLessThan(5000);
  }, 90_000);

  it('refuses a bad flag with exit code 2 and one clear line', async () => {
    const child = spawn(process.execPath, [bin, 'serve', '--model', 'tiny', '--max-batch', '0'], { env: { ...process.env, LLMBENCH_CACHE: cacheDir } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect({ code, stderr }).toEqual({ code: 2, stderr: expect.stringContaining('error: --max-batch: expected an integer in 1..1024, got "0"') });
  });

  // A fallback model that cannot load is covered in fallback.test.ts (in-process, no preset to build).
  it('refuses bad deadline and fallback settings at start with exit code 2, naming the flag', async () => {
    const run = (args: string[]): Promise<{ code: number | null; stderr: string }> => {
      const child = spawn(process.execPath, [bin, 'serve', '--model', 'tiny', '--port', '0', ...args], { env: { ...process.env, LLMBENCH_CACHE: cacheDir } });
      children.push(child);
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      return new Promise((resolve) => child.on('exit', (code) => resolve({ code, stderr })));
    };
    const cases: Array<[string[], string]> = [
      [['--deadline-ms', '0', '--fallback', 'canned:busy'], 'error: --deadline-ms: expected a whole number of milliseconds > 0, got "0"'],
      [['--deadline-ms', '100', '--fallback', 'canned:'], 'error: --fallback canned: the text is empty'],
      [['--deadline-ms', '100'], 'error: --deadline-ms needs --fallback'],
      [['--deadline-ms', '100', '--fallback', 'canned:busy', '--deadline-scope', 'eventually'], 'error: --deadline-scope: unknown scope "eventually"'],
    ];
    const results = await Promise.all(cases.map(([args]) => run(args)));
    results.forEach((r, i) => {
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 2, stderr: expect.stringContaining(cases[i]?.[1] as string) });
      expect(r.stderr).not.toContain('    at ');
    });
  }, 90_000);
});
