// ignore_eos and min_tokens on llmbench's own server (what `workload.fixedOutput` sends). To make the model stop
// early for sure, a copy of the tiny model declares its greedy first token to be end-of-sequence.
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeTarget } from '../../src/commands/probe.js';
import type { InferenceServerHandle } from '../../src/server/inferenceServer.js';
import { createTinyModel, startTinyServer, type TinyModel } from '../helpers/tinyServer.js';

let model: TinyModel;
let server: InferenceServerHandle | null = null;
// The prompt `llmbench probe` sends, so the probe sees this model stop early too.
const PROMPT = 'Once upon a time';

async function complete(url: string, body: Record<string, unknown>): Promise<{ status: number; json: Record<string, unknown> }> {
  const r = await fetch(`${url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: PROMPT, temperature: 0, ...body }) });
  return { status: r.status, json: (await r.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  model = await createTinyModel();
  const probe = await startTinyServer(model);
  let first: number;
  try {
    const r = await fetch(`${probe.url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: PROMPT, max_tokens: 1, temperature: 0 }) });
    const text = ((await r.json()) as { choices: Array<{ text: string }> }).choices[0]?.text ?? '';
    const t = await fetch(`${probe.url}/tokenize`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: PROMPT + text }) });
    const all = ((await t.json()) as { tokens: number[] }).tokens;
    first = all[all.length - 1] as number;
  } finally {
    await probe.close();
  }
  const dir = join(model.dir, '..', 'eos-first');
  cpSync(model.dir, dir, { recursive: true });
  const cfgPath = join(dir, 'config.json');
  writeFileSync(cfgPath, JSON.stringify({ ...JSON.parse(readFileSync(cfgPath, 'utf8')), eos_token_id: first }));
  server = await startTinyServer({ dir, remove: () => undefined });
});
afterAll(async () => {
  await server?.close();
  model?.remove();
});

const usageOf = (j: Record<string, unknown>) => (j.usage as { completion_tokens: number }).completion_tokens;
const finishOf = (j: Record<string, unknown>) => (j.choices as Array<{ finish_reason: string }>)[0]?.finish_reason;

describe('fixed output length', () => {
  it('without ignore_eos the model stops at its first token; with it, or with min_tokens = max_tokens, it runs to max_tokens', async () => {
    const url = (server as InferenceServerHandle).url;
    const plain = await complete(url, { max_tokens: 12 });
    expect([usageOf(plain.json), finishOf(plain.json)]).toEqual([1, 'stop']);
    const ignore = await complete(url, { max_tokens: 12, ignore_eos: true });
    expect([usageOf(ignore.json), finishOf(ignore.json)]).toEqual([12, 'length']);
    const min = await complete(url, { max_tokens: 12, min_tokens: 12 });
    expect([usageOf(min.json), finishOf(min.json)]).toEqual([12, 'length']);
  });

  it('`llmbench probe` sees ignore_eos honoured', async () => {
    const r = await probeTarget({ url: (server as InferenceServerHandle).url, model: null, api: 'completions', allowRemote: false, apiKey: null });
    expect(r.ignoreEos).toMatchObject({ honoured: true, withoutTokens: 1, withTokens: 64 });
    expect(r.stream).toMatchObject({ ok: true, usage: true, outputTokens: 1, tokenEvents: 1, finishReason: 'stop' });
  });

  it('min_tokens it cannot honour is a 400 naming the parameter', async () => {
    const url = (server as InferenceServerHandle).url;
    const between = await complete(url, { max_tokens: 12, min_tokens: 5 });
    expect(between.status).toBe(400);
    expect(between.json).toMatchObject({ error: { param: 'min_tokens', code: 'unsupported_value' } });
    const above = await complete(url, { max_tokens: 4, min_tokens: 5 });
    expect(above.status).toBe(400);
    expect((above.json.error as { message: string }).message).toBe("'min_tokens' (5) must be <= max_tokens (4)");
  });
});
