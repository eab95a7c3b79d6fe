// The seeded workload: the same list of requests, byte for byte, for every pipeline of a run.
import { createHash } from 'node:crypto';
import { loadHeldoutText } from '../../modelgen/corpusFiles.js';
import type { ApiKind, LengthDist, WorkloadSpec } from '../../scenarios/types.js';
import { readDataset } from './dataset.js';
import { deriveSeed, Rng } from '../../stats/rng.js';
import type { TokenCounter } from '../load/tokenCounter.js';

export interface ChatMessage {
  role: string;
  content: string;
}

/** One request of the workload; `index` is its position, shared by every pipeline. */
export interface WorkloadRequest {
  index: number;
  prompt: string;
  messages: ChatMessage[];
  /** Prompt length in the model's tokens; null when no tokenizer was available. */
  promptTokens: number | null;
  maxTokens: number;
}

export interface Workload {
  api: ApiKind;
  stream: boolean;
  /** Ask servers for exactly max_tokens (ignore_eos + min_tokens). */
  fixedOutput: boolean;
  /** The prompts built up front (synthetic: distinctRequests; dataset: its lines). */
  requests: WorkloadRequest[];
  /** Cycle through `requests` (prompts repeat); otherwise every request gets a prompt of its own. */
  reusePrompts: boolean;
  /**
   * The request sent as the k-th of a pipeline repeat (warm-up included). Deterministic in k, so every pipeline
   * sends the same request k. Without reuse, k past `requests` gets a fresh prompt (synthetic) or the dataset
   * line with a short unique prefix (datasets), so no prompt cache can serve it.
   */
  at(k: number): WorkloadRequest;
  /** Tokenizer folder used to size prompts, or null (sizes then approximate 0.75 words per token). */
  tokenizer: string | null;
  /** sha256 of the requests, so a result shows every pipeline got the same workload. */
  sha256: string;
}

/** Draws one length from a distribution (rounded, clamped to its bounds, at least 1). */
export function drawLength(dist: LengthDist, rng: Rng): number {
  switch (dist.dist) {
    case 'fixed':
      return dist.value;
    case 'uniform':
      return rng.nextIntBetween(dist.min, dist.max);
    case 'normal':
    case 'lognormal': {
      let x: number;
      if (dist.dist === 'normal') {
        x = dist.mean + dist.sd * rng.nextNormal();
      } else {
        // Parameters of the underlying normal so that the drawn values have the requested mean and sd.
        const sigma2 = Math.log(1 + (dist.sd * dist.sd) / (dist.mean * dist.mean));
        const mu = Math.log(dist.mean) - sigma2 / 2;
        x = Math.exp(mu + Math.sqrt(sigma2) * rng.nextNormal());
      }
      const hi = dist.max ?? Number.MAX_SAFE_INTEGER;
      return Math.max(1, Math.min(hi, Math.max(dist.min, Math.round(x))));
    }
  }
}

let corpusWords: string[] | null = null;
function words(): string[] {
  corpusWords ??= loadHeldoutText().split(/\s+/).filter((w) => w.length > 0);
  return corpusWords;
}

function wordsFrom(start: number, count: number): string {
  const all = words();
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(all[(start + i) % all.length] as string);
  return out.join(' ');
}

/** Consecutive corpus words from a seeded offset, cut to `tokens` model tokens when a tokenizer is known. */
function syntheticPrompt(tokens: number, rng: Rng, tok: TokenCounter | null): { text: string; count: number | null } {
  return promptAt(rng.nextIntBetween(0, words().length - 1), tokens, tok);
}

function promptAt(start: number, tokens: number, tok: TokenCounter | null): { text: string; count: number | null } {
  if (!tok) return { text: wordsFrom(start, Math.max(1, Math.round(tokens * 0.75))), count: null };
  let wordCount = Math.ceil(tokens * 0.8) + 4;
  let ids: number[] = [];
  for (let attempt = 0; attempt < 8; attempt++) {
    ids = tok.encode(wordsFrom(start, wordCount));
    if (ids.length >= tokens) break;
    wordCount = Math.ceil((wordCount * tokens) / Math.max(1, ids.length)) + 4;
  }
  // Decoding a cut id list can re-tokenize differently at the cut: move the cut until the text has exactly
  // `tokens` tokens (vLLM's random dataset promises the same), or give up close to it after a few tries.
  let cut = Math.min(tokens, ids.length);
  let text = tok.decode(ids.slice(0, cut));
  let count = tok.count(text);
  for (let attempt = 0; attempt < 8 && count !== tokens && cut > 0; attempt++) {
    const next = cut + (tokens - count);
    if (next < 1 || next > ids.length || next === cut) break;
    cut = next;
    text = tok.decode(ids.slice(0, cut));
    count = tok.count(text);
  }
  return { text, count };
}

/** A prefix that makes a re-sent dataset prompt unique from its first token on (prefix caches match from the start). */
export function uniquePrefix(k: number): string {
  return `[request ${k}] `;
}

function withPrefix(req: WorkloadRequest, k: number, tok: TokenCounter | null): WorkloadRequest {
  const prefix = uniquePrefix(k);
  const messages = req.messages.map((m, i) => (i === 0 ? { ...m, content: prefix + m.content } : m));
  const prompt = prefix + req.prompt;
  return { ...req, index: k, prompt, messages, promptTokens: tok ? tok.count(prompt) : null };
}

/** Builds the workload from its spec and the scenario seed. */
export function buildWorkload(spec: WorkloadSpec, seed: number, tok: TokenCounter | null): Workload {
  const lengthRng = new Rng(deriveSeed(seed, 'lengths'));
  const promptRng = new Rng(deriveSeed(seed, 'prompts'));
  const requests: WorkloadRequest[] = [];
  const seen = new Set<string>();
  // Prompts are drawn without replacement: a text already used is drawn again, then made unique by a prefix.
  const nextSynthetic = (i: number, s: Extract<WorkloadSpec, { kind: 'synthetic' }>): WorkloadRequest => {
    const promptLen = drawLength(s.promptTokens, lengthRng);
    const maxTokens = drawLength(s.outputTokens, lengthRng);
    let p = syntheticPrompt(promptLen, promptRng, tok);
    for (let attempt = 0; attempt < 8 && seen.has(p.text); attempt++) p = syntheticPrompt(promptLen, promptRng, tok);
    let req: WorkloadRequest = { index: i, prompt: p.text, messages: [{ role: 'user', content: p.text }], promptTokens: p.count, maxTokens };
    if (seen.has(p.text)) req = withPrefix(req, i, tok);
    seen.add(req.prompt);
    return req;
  };
  if (spec.kind === 'synthetic') {
    for (let i = 0; i < spec.distinctRequests; i++) requests.push(nextSynthetic(i, spec));
  } else {
    readDataset(spec.path, tok).forEach((line, i) => {
      const maxTokens = line.maxTokens ?? drawLength(spec.outputTokens, lengthRng);
      const messages = line.messages ?? [{ role: 'user', content: line.prompt as string }];
      const prompt = line.prompt ?? messages.map((m) => m.content).join('\n');
      requests.push({ index: i, prompt, messages, promptTokens: tok ? tok.count(prompt) : null, maxTokens });
    });
  }
  const reusePrompts = spec.reusePrompts;
  const hash = createHash('sha256').update(JSON.stringify({ api: spec.api, stream: spec.stream, requests }));
  // Prompts past the built ones depend on the spec and seed too: they are part of what every pipeline gets.
  if (!reusePrompts) hash.update(JSON.stringify({ unique: true, seed, spec }));
  const sha256 = hash.digest('hex');
  const n = requests.length;
  const extra: WorkloadRequest[] = [];
  const at = (k: number): WorkloadRequest => {
    if (k < n) return requests[k] as WorkloadRequest;
    if (reusePrompts) return requests[k % n] as WorkloadRequest;
    // Generated in order, so request k is the same whichever pipeline asks first.
    while (extra.length <= k - n) {
      const i = n + extra.length;
      extra.push(spec.kind === 'synthetic' ? nextSynthetic(i, spec) : withPrefix(requests[i % n] as WorkloadRequest, i, tok));
    }
    return extra[k - n] as WorkloadRequest;
  };
  return { api: spec.api, stream: spec.stream, fixedOutput: spec.fixedOutput, requests, reusePrompts, at, tokenizer: tok?.source ?? null, sha256 };
}

/** Route for an API kind. */
export function apiPath(api: ApiKind): string {
  return api === 'chat' ? '/v1/chat/completions' : api === 'completions' ? '/v1/completions' : '/v1/generate';
}

/** What a pipeline adds to every request body. */
export interface BodyOptions {
  /** Server-specific fields (target.extraBody), merged last: they win over llmbench's own. */
  extraBody?: Record<string, unknown> | null;
  /** Ask for exactly max_tokens: `ignore_eos` (vLLM, llama.cpp, llmbench) and `min_tokens` (vLLM, llmbench). */
  fixedOutput?: boolean;
}

/**
 * The JSON body for one request. Greedy decoding (temperature 0) so every pipeline is asked for the same
 * thing; streaming asks for a final usage chunk so output tokens come from the server when it can say.
 */
export function requestBody(req: WorkloadRequest, api: ApiKind, stream: boolean, model: string | null, o: BodyOptions = {}): string {
  const fixed = o.fixedOutput === true ? { ignore_eos: true, min_tokens: req.maxTokens } : {};
  if (api === 'generate') return JSON.stringify({ prompt: req.prompt, max_tokens: req.maxTokens, ...fixed, ...(o.extraBody ?? {}) });
  const body: Record<string, unknown> = {};
  if (model !== null) body.model = model;
  if (api === 'chat') body.messages = req.messages;
  else body.prompt = req.prompt;
  body.max_tokens = req.maxTokens;
  body.temperature = 0;
  body.stream = stream;
  if (stream) body.stream_options = { include_usage: true };
  return JSON.stringify({ ...body, ...fixed, ...(o.extraBody ?? {}) });
}

/** The request bodies a pipeline sends: the built prompts up front, later ordinals made when first sent. */
export interface RequestSource {
  bodies: string[];
  request(k: number): { req: WorkloadRequest; body: string };
}

export function requestSource(workload: Workload, stream: boolean, model: string | null, o: BodyOptions): RequestSource {
  const bodies = workload.requests.map((r) => requestBody(r, workload.api, stream, model, o));
  // Only the newest late bodies are kept: ordinals only grow.
  const late = new Map<number, string>();
  const request = (k: number): { req: WorkloadRequest; body: string } => {
    const req = workload.at(k);
    if (k < bodies.length) return { req, body: bodies[k] as string };
    if (workload.reusePrompts) return { req, body: bodies[k % bodies.length] as string };
    let body = late.get(k);
    if (body === undefined) {
      body = requestBody(req, workload.api, stream, model, o);
      if (late.size >= 4096) late.clear();
      late.set(k, body);
    }
    return { req, body };
  };
  return { bodies, request };
}
