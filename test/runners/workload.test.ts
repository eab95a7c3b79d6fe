import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveModelDir } from '../../src/model/resolve.js';
import { SeededRng } from '../../src/runners/rng.js';
import { loadTokenCounter, type TokenCounter } from '../../src/runners/tokenCounter.js';
import { buildWorkload, drawLength, requestBody } from '../../src/runners/workload.js';
import type { WorkloadSpec } from '../../src/scenarios/types.js';

let dir: string;
let tok: TokenCounter;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'llmbench-workload-'));
  process.env.LLMBENCH_CACHE = join(dir, 'cache');
  tok = loadTokenCounter(await resolveModelDir('tiny'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const synthetic: WorkloadSpec = {
  kind: 'synthetic',
  api: 'completions',
  stream: true,
  distinctRequests: 20,
  promptTokens: { dist: 'uniform', min: 10, max: 40 },
  outputTokens: { dist: 'lognormal', mean: 20, sd: 8, min: 4, max: 64 },
};

describe('workload', () => {
  it('is identical for the same seed, different for another, and prompts have the drawn token length', () => {
    const a = buildWorkload(synthetic, 5, tok);
    const b = buildWorkload(synthetic, 5, tok);
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
    expect(buildWorkload(synthetic, 6, tok).sha256).not.toBe(a.sha256);
    expect(a.requests).toHaveLength(20);
    for (const r of a.requests) {
      expect(r.promptTokens).toBe(tok.count(r.prompt));
      // Decoding a cut token list can re-tokenize a little differently at the cut; never by much.
      expect(r.promptTokens as number).toBeGreaterThanOrEqual(9);
      expect(r.promptTokens as number).toBeLessThanOrEqual(42);
      expect(r.maxTokens).toBeGreaterThanOrEqual(4);
      expect(r.maxTokens).toBeLessThanOrEqual(64);
      expect(r.messages).toEqual([{ role: 'user', content: r.prompt }]);
    }
    expect(new Set(a.requests.map((r) => r.prompt)).size).toBe(20);
  });

  it('length distributions: fixed, uniform bounds, lognormal mean and sd', () => {
    const rng = new SeededRng(1);
    expect(drawLength({ dist: 'fixed', value: 9 }, rng)).toBe(9);
    const u = Array.from({ length: 2000 }, () => drawLength({ dist: 'uniform', min: 3, max: 5 }, rng));
    expect(new Set(u)).toEqual(new Set([3, 4, 5]));
    const l = Array.from({ length: 20000 }, () => drawLength({ dist: 'lognormal', mean: 100, sd: 30, min: 1, max: null }, rng));
    const mean = l.reduce((a, b) => a + b, 0) / l.length;
    const sd = Math.sqrt(l.reduce((a, b) => a + (b - mean) ** 2, 0) / l.length);
    expect(Math.abs(mean - 100)).toBeLessThan(2);
    expect(Math.abs(sd - 30)).toBeLessThan(2);
  });

  it('reads JSONL prompts and messages, with max_tokens per line or drawn', () => {
    const path = join(dir, 'p.jsonl');
    writeFileSync(path, '{"prompt":"hello there","max_tokens":3}\n\n{"messages":[{"role":"user","content":"hi"}]}\n');
    const w = buildWorkload({ kind: 'jsonl', api: 'chat', stream: true, path, outputTokens: { dist: 'fixed', value: 11 } }, 1, null);
    expect(w.requests.map((r) => [r.prompt, r.maxTokens, r.messages.length])).toEqual([
      ['hello there', 3, 1],
      ['hi', 11, 1],
    ]);
    writeFileSync(path, '{"prompt":"a"}\nnot json\n{"max_tokens":2}\n');
    expect(() => buildWorkload({ kind: 'jsonl', api: 'chat', stream: true, path, outputTokens: { dist: 'fixed', value: 1 } }, 1, null)).toThrow(
      /line 2: not valid JSON\n.*line 3: line needs exactly one of "prompt" or "messages"/,
    );
  });

  it('request bodies per API', () => {
    const r = { index: 0, prompt: 'p', messages: [{ role: 'user', content: 'p' }], promptTokens: 1, maxTokens: 4 };
    expect(requestBody(r, 'completions', true, null)).toBe(
      '{"prompt":"p","max_tokens":4,"temperature":0,"stream":true,"stream_options":{"include_usage":true}}',
    );
    expect(requestBody(r, 'chat', false, 'm')).toBe('{"model":"m","messages":[{"role":"user","content":"p"}],"max_tokens":4,"temperature":0,"stream":false}');
    expect(requestBody(r, 'generate', false, 'm')).toBe('{"prompt":"p","max_tokens":4}');
  });
});
