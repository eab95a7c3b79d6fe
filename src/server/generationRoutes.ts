// POST /v1/completions, /v1/chat/completions and /v1/generate: validate, tokenize, check the context, run the
// generation, and answer as JSON or as an SSE stream. A stream that times out or fails ends with a
// `data: {"error":{...}}` event and `data: [DONE]`; a non-stream one with the matching status (504/503/500).
import { randomBytes, randomInt } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, badRequest, internalError, requestTimeout, unavailable } from './apiError.js';
import { renderChatPrompt } from './chatTemplate.js';
import { startGuardedGeneration, type FallbackMark, type GuardedOutcome } from './fallback.js';
import { sendError, sendJson, type Route } from './httpApp.js';
import { chatBody, chatChunk, completionBody, completionChunk, usageChunk, usageOf, type ResponseMeta } from './openaiShapes.js';
import { parseChatRequest, parseCompletionRequest, parseGenerateRequest, type ChatRequest, type CompletionRequest, type GenerateRequest } from './requestSchemas.js';
import type { ServedModel, ServerState } from './serverState.js';
import { SseWriter } from './sseWriter.js';

type ParsedRequest = CompletionRequest | ChatRequest | GenerateRequest;

function promptIdsOf(model: ServedModel, req: ParsedRequest): number[] {
  let ids: number[];
  if (req.kind === 'chat') ids = model.tokenizer.encode(renderChatPrompt(req.messages));
  else if (typeof req.prompt === 'string') ids = model.tokenizer.encode(req.prompt);
  else {
    const bad = req.prompt.find((t) => t >= model.info.vocabSize);
    if (bad !== undefined) throw badRequest(`'prompt' token id ${bad} is outside the vocabulary (size ${model.info.vocabSize})`, 'prompt');
    ids = req.prompt;
  }
  if (ids.length === 0) {
    // An empty prompt still needs one position to predict from; the model's BOS token is the neutral start.
    if (model.info.bosTokenId === null) throw badRequest(`'prompt' is empty and the model has no BOS token to start from`, 'prompt');
    ids = [model.info.bosTokenId];
  }
  return ids;
}

function maxTokensOf(model: ServedModel, promptTokens: number, requested: number | null): number {
  const ctx = model.maxContext;
  // OpenAI's wording, so clients that parse it keep working; the server's bound is named when it is the tighter one.
  const whose = ctx < model.info.maxPositions ? `This server's maximum context length (--max-context) is ${ctx} tokens (the model's is ${model.info.maxPositions})` : `This model's maximum context length is ${ctx} tokens`;
  if (promptTokens >= ctx) {
    throw badRequest(`${whose}; the prompt alone has ${promptTokens} tokens, leaving no room to generate`, 'prompt', 'context_length_exceeded');
  }
  if (requested === null) return ctx - promptTokens;
  if (promptTokens + requested > ctx) {
    throw badRequest(
      `${whose}; you requested ${promptTokens + requested} tokens (${promptTokens} in the prompt, ${requested} for the completion)`,
      'max_tokens',
      'context_length_exceeded',
    );
  }
  return requested;
}

/** Response header naming why a fallback answered; the body carries the same as `llmbench_fallback`. */
export const FALLBACK_HEADER = 'x-llmbench-fallback';

/** The extra field fallback answers carry (OpenAI clients ignore unknown fields). */
function fallbackField(mark: FallbackMark): { llmbench_fallback: { reason: string; source: string; primary_tokens: number } } {
  return { llmbench_fallback: { reason: mark.reason, source: mark.source, primary_tokens: mark.primaryTokens } };
}

function errorOf(out: Exclude<GuardedOutcome, { kind: 'finished' | 'disconnected' | 'fallback' }>, timeoutMs: number | null): ApiError {
  if (out.kind === 'timeout') return requestTimeout(timeoutMs ?? 0);
  if (out.kind === 'shutdown') return unavailable('server is shutting down; generation was cancelled');
  return internalError(out.message);
}

async function handle(state: ServerState, res: ServerResponse, req: ParsedRequest, arrivedAtMs: number): Promise<void> {
  const model = state.model;
  if (state.phase !== 'ready' || !model) throw unavailable(state.phase === 'draining' ? 'server is shutting down' : 'model is still loading');
  const s = req.settings;
  if (s.model !== null && !model.aliases.has(s.model)) {
    throw new ApiError(404, 'invalid_request_error', `The model '${s.model}' does not exist; this server serves '${model.id}'`, 'model', 'model_not_found');
  }
  const promptIds = promptIdsOf(model, req);
  const maxTokens = maxTokensOf(model, promptIds.length, s.maxTokens);
  if (s.minTokens > maxTokens) throw badRequest(`'min_tokens' (${s.minTokens}) must be <= max_tokens (${maxTokens})`, 'min_tokens');
  // The engine stops a sequence at EOS itself, so a lower bound short of max_tokens cannot be honoured exactly.
  if (s.minTokens > 1 && s.minTokens < maxTokens && !s.ignoreEos) {
    throw badRequest(`'min_tokens' between 2 and max_tokens - 1 is not supported by this server; send min_tokens = max_tokens or ignore_eos: true`, 'min_tokens', 'unsupported_value');
  }
  const ignoreEos = s.ignoreEos || (s.minTokens > 1 && s.minTokens >= maxTokens);
  const id = `${req.kind === 'chat' ? 'chatcmpl' : 'cmpl'}-${randomBytes(12).toString('hex')}`;
  const meta: ResponseMeta = { id, created: Math.floor(Date.now() / 1000), model: model.id };
  const job = {
    id,
    promptIds,
    maxTokens,
    // Without a seed, the server draws one, so every sequence still has its own reproducible generator.
    sampling: { temperature: s.temperature, topP: s.topP, seed: s.seed ?? randomInt(0, 2 ** 47) },
    stopTokenIds: ignoreEos ? [] : model.info.eosTokenIds,
    stopStrings: s.stop,
    timeoutMs: state.timeoutMs,
    arrivedAtMs,
  };
  const deps = { scheduler: model.scheduler, tokenizer: model.tokenizer, metrics: state.metrics };
  const streaming = s.stream && req.kind !== 'generate';
  let mark: FallbackMark | null = null;
  const sse = streaming ? new SseWriter(res, {}) : null;
  // With a deadline, the stream's headers wait for the first text or the switch, so a fallback from the
  // start is marked in the headers too; without one they go out at once, as before.
  const deferHead = state.fallback !== null;
  let opened = false;
  const open = (): void => {
    if (!sse || opened) return;
    opened = true;
    if (mark) res.setHeader(FALLBACK_HEADER, mark.reason);
    sse.start();
    if (req.kind === 'chat') sse.send(chatChunk(meta, { role: 'assistant', content: '' }, null, s.includeUsage));
  };
  const marked = (chunk: object): object => (mark ? { ...chunk, ...fallbackField(mark) } : chunk);
  const onText = (delta: string): void => {
    if (!sse) return;
    open();
    sse.send(marked(req.kind === 'chat' ? chatChunk(meta, { content: delta }, null, s.includeUsage) : completionChunk(meta, delta, null, s.includeUsage)));
  };
  const gen = startGuardedGeneration(deps, job, state.fallback, onText, (m) => {
    mark = m;
  });
  res.on('close', () => {
    if (!res.writableFinished) gen.disconnect();
  });
  // The client may already be gone (closed while its body was read): 'close' has fired before we listened.
  if (res.destroyed || res.socket?.destroyed) gen.disconnect();
  if (!deferHead) open();
  const out = await gen.outcome;
  if (out.kind === 'disconnected') return;
  if (out.kind !== 'finished' && out.kind !== 'fallback') {
    const err = errorOf(out, state.timeoutMs);
    if (sse && opened) {
      sse.send(err.body());
      sse.end();
    } else sendError(res, err);
    return;
  }
  open();
  const usage = usageOf(promptIds.length, out.completionTokens);
  if (sse) {
    sse.send(marked(req.kind === 'chat' ? chatChunk(meta, {}, out.finish, s.includeUsage) : completionChunk(meta, '', out.finish, s.includeUsage)));
    if (s.includeUsage) sse.send(marked(usageChunk(meta, req.kind === 'chat' ? 'chat.completion.chunk' : 'text_completion', usage)));
    sse.end();
    return;
  }
  const headers: Record<string, string> = mark ? { [FALLBACK_HEADER]: (mark as FallbackMark).reason } : {};
  const extra = mark ? fallbackField(mark) : {};
  if (req.kind === 'chat') sendJson(res, 200, { ...chatBody(meta, out.text, out.finish, usage), ...extra }, headers);
  else if (req.kind === 'completion') sendJson(res, 200, { ...completionBody(meta, out.text, out.finish, usage), ...extra }, headers);
  else sendJson(res, 200, { text: out.text, usage, finish_reason: out.finish, ...extra }, headers);
}

function route(path: string, parse: (body: unknown) => ParsedRequest): Route {
  return {
    method: 'POST',
    path,
    handler: (state: ServerState, _req: IncomingMessage, res: ServerResponse, body: unknown) => handle(state, res, parse(body), performance.now()),
  };
}

/** The generation routes. */
export const generationRoutes: Route[] = [
  route('/v1/completions', parseCompletionRequest),
  route('/v1/chat/completions', parseChatRequest),
  route('/v1/generate', parseGenerateRequest),
];
