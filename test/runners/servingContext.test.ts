// The default KV bound of a local pipeline: the workload's longest request as the server will tokenize it.
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveModelDir } from '../../src/modelgen/resolve.js';
import type { WorkloadSpec } from '../../src/scenarios/types.js';
import { renderChatPrompt } from '../../src/server/chatTemplate.js';
import { defaultMaxContext, workloadContextNeed } from '../../src/runners/plan/servingContext.js';
import { loadTokenCounter, type TokenCounter } from '../../src/runners/load/tokenCounter.js';
import { buildWorkload } from '../../src/runners/plan/workload.js';

let tok: TokenCounter;
beforeAll(async () => {
  tok = loadTokenCounter(await resolveModelDir('tiny'));
}, 120_000);

const synthetic = (api: 'completions' | 'chat', reusePrompts: boolean): WorkloadSpec => ({
  kind: 'synthetic',
  api,
  stream: true,
  distinctRequests: 8,
  reusePrompts,
  fixedOutput: false,
  promptTokens: { dist: 'uniform', min: 20, max: 40 },
  outputTokens: { dist: 'uniform', min: 5, max: 30 },
});

describe('default max context', () => {
  it('rounds the need plus an eighth (>= 16) up to 64 and caps it by the model', () => {
    expect(defaultMaxContext(40, 1024)).toBe(64);
    expect(defaultMaxContext(49, 1024)).toBe(128);
    expect(defaultMaxContext(512, 1024)).toBe(576);
    expect(defaultMaxContext(1000, 1024)).toBe(1024);
  });

  it('counts the longest request: every built prompt as sent, the distributions\' bounds, and the unique prefix', () => {
    const w = buildWorkload(synthetic('completions', true), 3, tok);
    const longestPrompt = Math.max(...w.requests.map((r) => tok.count(r.prompt)));
    expect(workloadContextNeed(w, tok, null, null)).toBe(longestPrompt + Math.max(...w.requests.map((r) => r.maxTokens)));
    expect(workloadContextNeed(w, tok, 40, 30)).toBe(Math.max(longestPrompt, 40) + 30);
    const fresh = buildWorkload(synthetic('completions', false), 3, tok);
    const base = workloadContextNeed({ ...fresh, reusePrompts: true }, tok, 40, 30);
    expect(workloadContextNeed(fresh, tok, 40, 30)).toBeGreaterThan(base);
  });

  it('counts chat prompts through the chat template the server applies', () => {
    const w = buildWorkload(synthetic('chat', true), 3, tok);
    const longest = Math.max(...w.requests.map((r) => tok.count(renderChatPrompt(r.messages as Parameters<typeof renderChatPrompt>[0]))));
    expect(longest).toBeGreaterThan(Math.max(...w.requests.map((r) => tok.count(r.prompt))));
    expect(workloadContextNeed(w, tok, null, 30)).toBe(longest + 30);
  });
});
