// `llmbench serve --max-context N` on the generated Llama fixture (context 2048): the KV cache is bounded to N
// positions per row, /metrics says so, the arrays never grow past it, and requests that need more get 400.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeLlamaFixture } from '../../src/modelgen/llamaFixture.js';
import { startInferenceServer } from '../../src/server/inferenceServer.js';
import { resolveServeOptions } from '../../src/server/serveOptions.js';
import { metricValue, scrape } from '../helpers/tinyServer.js';

let root: string;
let child: ChildProcessWithoutNullStreams | null = null;
let url: string;
let fixtureDir: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'llmbench-maxctx-'));
  const { dir } = await writeLlamaFixture({ outDir: join(root, 'llama'), dtype: 'float32', maxPositions: 2048 });
  fixtureDir = dir;
  const bin = fileURLToPath(new URL('../../bin/llmbench.js', import.meta.url));
  const proc = spawn(process.execPath, [bin, 'serve', '--model', dir, '--port', '0', '--threads', '1', '--max-batch', '2', '--max-context', '512']);
  child = proc;
  url = await new Promise<string>((resolve, reject) => {
    let buf = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`no ready line; stderr: ${err}`)), 60_000);
    proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
    proc.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /llmbench-ready (\{.*\})/.exec(buf);
      if (m) {
        clearTimeout(timer);
        resolve((JSON.parse(m[1] as string) as { url: string }).url);
      }
    });
    proc.on('exit', (code) => reject(new Error(`serve exited ${code}: ${err}`)));
  });
}, 90_000);

afterAll(() => {
  child?.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

const ids = (n: number): number[] => Array.from({ length: n }, (_, i) => 5 + (i % 200));
const complete = (prompt: number[], maxTokens: number): Promise<Response> =>
  fetch(`${url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt, max_tokens: maxTokens, temperature: 0, ignore_eos: true }) });

describe('serve --max-context', () => {
  it('reports the bound in /metrics: 512 positions, 2 rows x 512 x bytes per token as the ceiling', async () => {
    const m = await scrape(url);
    expect(metricValue(m, 'llmbench_kv_cache_max_positions')).toBe(512);
    // 2 layers x (key + value) x 2 KV heads x head_dim 16 x 4 bytes = 512 bytes per token.
    expect(metricValue(m, 'llmbench_kv_cache_max_bytes')).toBe(2 * 512 * 512);
    const tk = (await (await fetch(`${url}/tokenize`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'x' }) })).json()) as { max_model_len: number };
    expect(tk.max_model_len).toBe(512);
  });

  it('answers 400 context_length_exceeded past the bound, naming --max-context, and keeps serving', async () => {
    const r = await complete(ids(500), 20);
    expect(r.status).toBe(400);
    const body = (await r.json()) as { error: { message: string; code: string; param: string } };
    expect(body.error.code).toBe('context_length_exceeded');
    expect(body.error.message).toContain('--max-context');
    expect(body.error.message).toContain('512');
    expect(body.error.message).toContain('2048');
    const tooLong = await complete(ids(600), 1);
    expect(tooLong.status).toBe(400);
  });

  it('a request filling the bound is served, and the KV arrays grow to at most 512 positions', async () => {
    const r = await complete(ids(440), 72);
    expect(r.status).toBe(200);
    const body = (await r.json()) as { usage: { completion_tokens: number } };
    expect(body.usage.completion_tokens).toBe(72);
    const m = await scrape(url);
    const positions = metricValue(m, 'llmbench_kv_cache_positions');
    expect(positions).toBeGreaterThanOrEqual(511);
    expect(positions).toBeLessThanOrEqual(512);
    expect(metricValue(m, 'llmbench_kv_cache_bytes')).toBeLessThanOrEqual(metricValue(m, 'llmbench_kv_cache_max_bytes'));
  });
});

describe('serve --kv-dtype float16 (float32 model)', () => {
  it('halves the KV bound and the arena, and still answers', async () => {
    const h = await startInferenceServer(resolveServeOptions({ model: fixtureDir, port: 0, threads: 1, maxBatch: 2, maxContext: 512, kvDtype: 'float16' }));
    try {
      const r = await fetch(`${h.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: ids(100), max_tokens: 8, temperature: 0, ignore_eos: true }) });
      expect(r.status).toBe(200);
      const m = await scrape(h.url);
      expect(metricValue(m, 'llmbench_kv_cache_max_bytes')).toBe((2 * 512 * 512) / 2);
      // One row of 128 slots: 2 layers x 2 kinds x 2 heads x 128 x 16 dims x 2 bytes.
      expect(metricValue(m, 'llmbench_kv_cache_bytes')).toBe(2 * 2 * 2 * 128 * 16 * 2);
    } finally {
      await h.close();
    }
  }, 60_000);
});
