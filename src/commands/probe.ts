// `llmbench probe URL`: what an OpenAI-compatible server offers a benchmark, found by asking it a few small
// questions: which models, whether streams carry usage and how they end, whether a tokenize endpoint
// answers, and whether ignore_eos is honoured. Each finding is measured; nothing is assumed from the name.
import { performance } from 'node:perf_hooks';
import { LlmbenchError, UsageError } from '../errors.js';
import { isLoopbackHost } from '../scenarios/loopback.js';
import type { Sample } from '../types.js';
import { StreamClient } from '../runners/load/streamClient.js';

/** Options of probeTarget. */
export interface ProbeOptions {
  url: string;
  model: string | null;
  api: 'completions' | 'chat';
  allowRemote: boolean;
  apiKey: string | null;
  timeoutMs?: number;
}

/** What the server showed. */
export interface ProbeReport {
  url: string;
  models: string[];
  model: string | null;
  stream: { ok: boolean; error: string | null; usage: boolean; finishReason: string | null; tokenEvents: number; outputTokens: number; ttftMs: number | null };
  /** The tokenize route that answered and its body shape, or null. */
  tokenize: { path: string; style: 'vllm' | 'llama.cpp' | 'tgi'; count: number } | null;
  /** true honoured, false ignored, null inconclusive (the model did not stop early without it either). */
  ignoreEos: { honoured: boolean | null; withoutTokens: number; withTokens: number; requested: number; detail: string };
}

async function request(url: string, method: string, body: unknown, apiKey: string | null, timeoutMs: number): Promise<{ status: number; json: unknown }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (apiKey) headers.authorization = `Bearer ${apiKey}`;
  const r = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) });
  const text = await r.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = null;
  }
  return { status: r.status, json };
}

/** Base URL without a trailing slash or /v1. */
function baseOf(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(`probe: not a valid URL: "${url}"`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new UsageError(`probe: expected an http:// or https:// URL, got ${parsed.protocol}`);
  return `${parsed.origin}${parsed.pathname}`.replace(/\/+$/, '').replace(/\/v1$/, '');
}

async function tokenizeProbe(base: string, model: string | null, o: ProbeOptions, timeoutMs: number): Promise<ProbeReport['tokenize']> {
  const text = 'The quick brown fox jumps over the lazy dog.';
  const tries: Array<{ style: 'vllm' | 'llama.cpp' | 'tgi'; body: unknown; read: (j: unknown) => number | null }> = [
    { style: 'vllm', body: { prompt: text, ...(model ? { model } : {}) }, read: (j) => countOf((j as { tokens?: unknown } | null)?.tokens) },
    { style: 'llama.cpp', body: { content: text }, read: (j) => countOf((j as { tokens?: unknown } | null)?.tokens) },
    { style: 'tgi', body: { inputs: text }, read: (j) => countOf(j) },
  ];
  for (const t of tries) {
    try {
      const r = await request(`${base}/tokenize`, 'POST', t.body, o.apiKey, timeoutMs);
      const n = r.status === 200 ? t.read(r.json) : null;
      if (n !== null) return { path: '/tokenize', style: t.style, count: n };
    } catch {
      // Not this shape (or no route at all): try the next.
    }
  }
  return null;
}

function countOf(v: unknown): number | null {
  return Array.isArray(v) && v.length > 0 ? v.length : null;
}

/** Asks the server; throws only for input errors and an unreachable server. */
export async function probeTarget(o: ProbeOptions): Promise<ProbeReport> {
  const base = baseOf(o.url);
  const host = new URL(base).hostname;
  if (!isLoopbackHost(host) && !o.allowRemote) {
    throw new UsageError(`probe: host "${host}" is not on this machine`, 'llmbench only sends requests elsewhere when asked: pass --allow-remote.');
  }
  const timeoutMs = o.timeoutMs ?? 30_000;
  let models: string[] = [];
  try {
    const r = await request(`${base}/v1/models`, 'GET', undefined, o.apiKey, timeoutMs);
    const data = (r.json as { data?: Array<{ id?: unknown }> } | null)?.data;
    models = Array.isArray(data) ? data.map((m) => m.id).filter((id): id is string => typeof id === 'string') : [];
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause?.code ?? (e as Error).message;
    throw new LlmbenchError('RUN', `probe: cannot reach ${base}/v1/models: ${cause}`, 'Is the server running, and is this its base URL (e.g. http://127.0.0.1:8000)?');
  }
  const model = o.model ?? models[0] ?? null;
  const path = o.api === 'chat' ? '/v1/chat/completions' : '/v1/completions';
  const prompt = 'Once upon a time';
  const body = (extra: Record<string, unknown>): string =>
    JSON.stringify({
      ...(model ? { model } : {}),
      ...(o.api === 'chat' ? { messages: [{ role: 'user', content: prompt }] } : { prompt }),
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
      ...extra,
    });
  const client = new StreamClient({ baseUrl: base, apiKey: o.apiKey, tokenizer: null }, performance.now());
  const send = (extra: Record<string, unknown>): Promise<Sample> =>
    client.send({ index: 0, warmup: false, path, body: body(extra), stream: true, scheduledAt: performance.now(), timeoutMs, promptTokens: null });
  try {
    const s = await send({ max_tokens: 8 });
    const stream: ProbeReport['stream'] = {
      ok: s.status === 'ok',
      error: s.error,
      usage: s.outputTokensSource === 'usage',
      finishReason: s.finishReason ?? null,
      tokenEvents: s.ttftMs === null ? 0 : s.itlMs.length + 1,
      outputTokens: s.outputTokens,
      ttftMs: s.ttftMs,
    };
    const requested = 64;
    const without = await send({ max_tokens: requested });
    const withIt = await send({ max_tokens: requested, ignore_eos: true, min_tokens: requested });
    let honoured: boolean | null;
    let detail: string;
    if (withIt.status !== 'ok') {
      honoured = false;
      detail = `the server refused it: ${withIt.error ?? 'error'}`;
    } else if (withIt.outputTokens === requested && without.outputTokens < requested) {
      honoured = true;
      detail = `without it the output stopped at ${without.outputTokens} tokens; with it, ${withIt.outputTokens} of ${requested}`;
    } else if (withIt.outputTokens < requested) {
      honoured = false;
      detail = `asked for ${requested} tokens with ignore_eos + min_tokens, got ${withIt.outputTokens} (finish_reason ${withIt.finishReason ?? 'none'})`;
    } else {
      honoured = null;
      detail = `inconclusive: the output reached ${requested} tokens without it too`;
    }
    const tokenize = await tokenizeProbe(base, model, o, timeoutMs);
    return { url: base, models, model, stream, tokenize, ignoreEos: { honoured, withoutTokens: without.outputTokens, withTokens: withIt.outputTokens, requested, detail } };
  } finally {
    client.close();
  }
}

/** The report as text. */
export function renderProbe(r: ProbeReport): string {
  const yes = (b: boolean): string => (b ? 'yes' : 'no');
  const s = r.stream;
  const lines = [
    `probe of ${r.url}`,
    `  models: ${r.models.length > 0 ? r.models.join(', ') : '(none listed)'}; probing with ${r.model ?? '(no model name)'}`,
    s.ok
      ? `  streaming: ok; usage in the stream: ${yes(s.usage)}; ${s.tokenEvents} token events for ${s.outputTokens} output tokens${s.usage ? '' : ' (no usage: counts would be estimated)'}; finish_reason ${s.finishReason ?? 'none'}; TTFT ${s.ttftMs === null ? 'n/a' : `${s.ttftMs.toFixed(1)} ms`}`
      : `  streaming: failed: ${s.error ?? 'unknown error'}`,
    `  tokenize endpoint: ${r.tokenize ? `${r.tokenize.path} (${r.tokenize.style} shape; ${r.tokenize.count} tokens for the probe sentence)` : 'none answered (tried vLLM, llama.cpp and TGI shapes of POST /tokenize)'}`,
    `  ignore_eos honoured: ${r.ignoreEos.honoured === null ? 'unknown' : yes(r.ignoreEos.honoured)} (${r.ignoreEos.detail})`,
  ];
  return `${lines.join('\n')}\n`;
}
