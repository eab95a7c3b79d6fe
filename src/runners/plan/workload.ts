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

/** Requests past the built ones that `at` keeps at once (the newest); older ones are generated again on demand. */
const EXTRA_WINDOW = 4096;

/** A 52-bit hash of a text (two 32-bit FNV-1a variants), exact as a double. */
function textHash(text: string): number {
  let a = 0x811c9dc5;
  let b = 0x01000193;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995) ^ (b >>> 15);
  }
  return (a >>> 0) * 0x100000 + ((b >>> 0) & 0xfffff);
}

/** The seeded prompt generator: request i depends on every draw before it (prompts are drawn without replacement). */
function syntheticGenerator(spec: Extract<WorkloadSpec, { kind: 'synthetic' }>, seed: number, tok: TokenCounter | null): (i: number) => WorkloadRequest {
  const lengthRng = new Rng(deriveSeed(seed, 'lengths'));
  const promptRng = new Rng(deriveSeed(seed, 'prompts'));
  // Texts drawn so far, by a 52-bit hash rather than the text, so a million-request run does not keep a million
  // prompts: two different texts would have to share a hash (about 1 in 10^4 over a million draws) to change a draw.
  // A prefixed prompt is not recorded: no drawn text starts with the prefix, so it could never match one.
  const seen = new Set<number>();
  // Prompts are drawn without replacement: a text already used is drawn again, then made unique by a prefix.
  return (i) => {
    const promptLen = drawLength(spec.promptTokens, lengthRng);
    const maxTokens = drawLength(spec.outputTokens, lengthRng);
    let p = syntheticPrompt(promptLen, promptRng, tok);
    for (let attempt = 0; attempt < 8 && seen.has(textHash(p.text)); attempt++) p = syntheticPrompt(promptLen, promptRng, tok);
    const req: WorkloadRequest = { index: i, prompt: p.text, messages: [{ role: 'user', content: p.text }], promptTokens: p.count, maxTokens };
    const h = textHash(p.text);
    if (seen.has(h)) return withPrefix(req, i, tok);
    seen.add(h);
    return req;
  };
}

/**
 * Request k >= n of a synthetic workload without reuse. Only the newest EXTRA_WINDOW are kept, so a long run does
 * not hold a request object per request sent; asking for an older one (the next pipeline starting over) replays
 * the generator from the start, which yields the same requests in the same order.
 */
function extraSynthetic(spec: Extract<WorkloadSpec, { kind: 'synthetic' }>, seed: number, tok: TokenCounter | null, n: number): (k: number) => WorkloadRequest {
  const window: Array<WorkloadRequest | undefined> = new Array(EXTRA_WINDOW);
  let gen: ((i: number) => WorkloadRequest) | null = null;
  let next = 0;
  return (k) => {
    const kept = window[k % EXTRA_WINDOW];
    if (kept && kept.index === k) return kept;
    if (gen === null || k < next - EXTRA_WINDOW || k < n) {
      gen = syntheticGenerator(spec, seed, tok);
      for (next = 0; next < n; next++) gen(next);
    }
    while (next <= k) {
      window[next % EXTRA_WINDOW] = gen(next);
      next++;
    }
    return window[k % EXTRA_WINDOW] as WorkloadRequest;
  };
}

/** Builds the workload from its spec and the scenario seed. */
export function buildWorkload(spec: WorkloadSpec, seed: number, tok: TokenCounter | null): Workload {
  const lengthRng = new Rng(deriveSeed(seed, 'lengths'));
  const requests: WorkloadRequest[] = [];
  if (spec.kind === 'synthetic') {
    const gen = syntheticGenerator(spec, seed, tok);
    for (let i = 0; i < spec.distinctRequests; i++) requests.push(gen(i));
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
  // A dataset line sent again is a pure function of k; a synthetic extra depends on the draws before it.
  const extra = spec.kind === 'synthetic' ? extraSynthetic(spec, seed, tok, n) : (k: number) => withPrefix(requests[k % n] as WorkloadRequest, k, tok);
  const at = (k: number): WorkloadRequest => {
    if (k < n) return requests[k] as WorkloadRequest;
    if (reusePrompts) return requests[k % n] as WorkloadRequest;
    return extra(k);
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
