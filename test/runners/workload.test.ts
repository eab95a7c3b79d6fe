import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveModelDir } from '../../src/modelgen/resolve.js';
import { deriveSeed, Rng } from '../../src/stats/rng.js';
import { loadTokenCounter, type TokenCounter } from '../../src/runners/load/tokenCounter.js';
import { buildWorkload, drawLength, requestBody } from '../../src/runners/plan/workload.js';
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
  reusePrompts: false,
  fixedOutput: false,
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
    const rng = new Rng(1);
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
    const w = buildWorkload({ kind: 'jsonl', api: 'chat', stream: true, path, reusePrompts: false, fixedOutput: false, outputTokens: { dist: 'fixed', value: 11 } }, 1, null);
    expect(w.requests.map((r) => [r.prompt, r.maxTokens, r.messages.length])).toEqual([
      ['hello there', 3, 1],
      ['hi', 11, 1],
    ]);
    writeFileSync(path, '{"prompt":"a"}\nnot json\n{"max_tokens":2}\n');
    expect(() => buildWorkload({ kind: 'jsonl', api: 'chat', stream: true, path, reusePrompts: false, fixedOutput: false, outputTokens: { dist: 'fixed', value: 1 } }, 1, null)).toThrow(
      /line 2: not valid JSON\n.*line 3: line needs exactly one of "prompt" or "messages"/,
    );
  });

  it('every request gets its own prompt past the built ones, the same for every pipeline; reuse cycles when asked', () => {
    const a = buildWorkload(synthetic, 5, tok);
    const b = buildWorkload(synthetic, 5, tok);
    // b asks for request 59 first: the prompts past the built ones do not depend on who asks in which order.
    expect(b.at(59)).toEqual(a.at(59));
    const sent = Array.from({ length: 60 }, (_, k) => a.at(k));
    expect(new Set(sent.map((r) => r.prompt)).size).toBe(60);
    expect(sent.map((r) => r.index)).toEqual(Array.from({ length: 60 }, (_, k) => k));
    for (const r of sent.slice(20)) {
      expect(r.promptTokens).toBe(tok.count(r.prompt));
      expect(r.promptTokens as number).toBeGreaterThanOrEqual(9);
      expect(r.promptTokens as number).toBeLessThanOrEqual(42);
    }
    const reuse = buildWorkload({ ...synthetic, reusePrompts: true }, 5, tok);
    expect(reuse.at(27)).toEqual(reuse.requests[7]);
    expect(reuse.sha256).not.toBe(a.sha256);
  });

  it('a long run keeps only the newest extra prompts: asking again for an old one replays the same request', () => {
    // No tokenizer: the corpus runs out of fresh texts, so prefixed prompts come in too. 6,000 extras pass the
    // 4,096 the workload keeps, so a second pipeline starting over must regenerate them.
    const spec = { ...synthetic, promptTokens: { dist: 'fixed' as const, value: 6 }, distinctRequests: 50 };
    const first = buildWorkload(spec, 9, null);
    const firstPass = Array.from({ length: 6050 }, (_, k) => first.at(k));
    const again = [0, 60, 100, 4000, 6049].map((k) => first.at(k));
    expect(again).toEqual([0, 60, 100, 4000, 6049].map((k) => firstPass[k]));
    // A workload asked in another order (far end first) gives the same requests.
    const other = buildWorkload(spec, 9, null);
    expect(other.at(6049)).toEqual(firstPass[6049]);
    expect(other.at(70)).toEqual(firstPass[70]);
    expect(new Set(firstPass.map((r) => r.prompt)).size).toBe(6050);
    expect(firstPass.some((r) => r.prompt.startsWith('[request '))).toBe(true);
  });

  it('a dataset line sent again gets a short unique prefix unless reuse is asked for', () => {
    const path = join(dir, 'two.jsonl');
    writeFileSync(path, '{"prompt":"alpha"}\n{"messages":[{"role":"user","content":"beta"}]}\n');
    const spec = { kind: 'jsonl' as const, api: 'chat' as const, stream: true, path, reusePrompts: false, fixedOutput: false, outputTokens: { dist: 'fixed' as const, value: 4 } };
    const w = buildWorkload(spec, 1, null);
    expect([0, 1, 2, 3].map((k) => w.at(k).messages[0]?.content)).toEqual(['alpha', 'beta', '[request 2] alpha', '[request 3] beta']);
    const r = buildWorkload({ ...spec, reusePrompts: true }, 1, null);
    expect(r.at(3).messages[0]?.content).toBe('beta');
  });

  it('prompts have exactly the drawn token length in the target tokenizer (a tokenizer.json file works as well as its folder)', () => {
    const fromFile = loadTokenCounter(join(tok.source, 'tokenizer.json'));
    const spec: WorkloadSpec = { ...synthetic, distinctRequests: 40, promptTokens: { dist: 'uniform', min: 5, max: 200 } };
    const w = buildWorkload(spec, 3, fromFile);
    // The lengths the workload drew: prompt then output length per request, from the seed's length stream.
    const rng = new Rng(deriveSeed(3, 'lengths'));
    const drawn = w.requests.map(() => {
      const p = drawLength(spec.kind === 'synthetic' ? spec.promptTokens : { dist: 'fixed', value: 1 }, rng);
      drawLength(spec.outputTokens, rng);
      return p;
    });
    expect(w.requests.map((r) => fromFile.count(r.prompt))).toEqual(drawn);
    // Exact: fixed lengths come out fixed.
    const fixed = buildWorkload({ ...spec, promptTokens: { dist: 'fixed', value: 37 } }, 3, tok);
    expect(new Set(fixed.requests.map((r) => tok.count(r.prompt)))).toEqual(new Set([37]));
  });

  it('reads ShareGPT (JSON array or JSONL): first human turn is the prompt, the reply sets max_tokens', () => {
    const path = join(dir, 'sharegpt.json');
    writeFileSync(
      path,
      JSON.stringify([
        { id: 'a', conversations: [{ from: 'human', value: 'What is a river?' }, { from: 'gpt', value: 'A river is a stream of water flowing to the sea.' }] },
        { id: 'b', conversations: [{ from: 'human', value: 'only a question' }] },
        { id: 'c', conversations: [{ from: 'system', value: 'be brief' }, { from: 'human', value: 'Hi' }, { from: 'gpt', value: 'Hello there' }] },
      ]),
    );
    const spec = { kind: 'jsonl' as const, api: 'chat' as const, stream: true, path, reusePrompts: false, fixedOutput: false, outputTokens: { dist: 'fixed' as const, value: 4 } };
    const w = buildWorkload(spec, 1, tok);
    expect(w.requests.map((r) => [r.prompt, r.maxTokens])).toEqual([
      ['What is a river?', tok.count('A river is a stream of water flowing to the sea.')],
      ['Hi', tok.count('Hello there')],
    ]);
    writeFileSync(path, `${JSON.stringify({ conversations: [{ from: 'human', value: 'q' }, { from: 'gpt', value: 'one two three' }] })}\n{"prompt":"p","output_tokens":9}\n`);
    expect(buildWorkload(spec, 1, null).requests.map((r) => [r.prompt, r.maxTokens])).toEqual([
      ['q', 4],
      ['p', 9],
    ]);
    writeFileSync(path, '[{"conversations":[{"from":"human","value":"x"}]}]');
    expect(() => buildWorkload(spec, 1, null)).toThrow('none of the 1 conversations has a human turn followed by a reply');
  });

  it('request bodies per API', () => {
    const r = { index: 0, prompt: 'p', messages: [{ role: 'user', content: 'p' }], promptTokens: 1, maxTokens: 4 };
    expect(requestBody(r, 'completions', true, null)).toBe(
      '{"prompt":"p","max_tokens":4,"temperature":0,"stream":true,"stream_options":{"include_usage":true}}',
    );
    expect(requestBody(r, 'chat', false, 'm')).toBe('{"model":"m","messages":[{"role":"user","content":"p"}],"max_tokens":4,"temperature":0,"stream":false}');
    expect(requestBody(r, 'generate', false, 'm')).toBe('{"prompt":"p","max_tokens":4}');
    // fixedOutput asks for exactly max_tokens; extraBody is merged last and wins.
    expect(requestBody(r, 'completions', false, null, { fixedOutput: true, extraBody: { cache_prompt: false, temperature: 0.5 } })).toBe(
      '{"prompt":"p","max_tokens":4,"temperature":0.5,"stream":false,"ignore_eos":true,"min_tokens":4,"cache_prompt":false}',
    );
  });
});
