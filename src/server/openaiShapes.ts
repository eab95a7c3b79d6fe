// Response bodies in the OpenAI shapes (completions, chat completions, their stream chunks, usage, models).
// Pure functions: ids and timestamps are passed in.

/** Token counts of one request. */
export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

/** How a normal answer ended (errors and timeouts never produce one of these). */
export type OpenAiFinishReason = 'stop' | 'length';

/** Identity of one response: shared by every chunk of a stream. */
export interface ResponseMeta {
  id: string;
  created: number;
  model: string;
}

/** Builds a usage object. */
export function usageOf(promptTokens: number, completionTokens: number): Usage {
  return { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
}

/** Non-streaming /v1/completions body. */
export function completionBody(meta: ResponseMeta, text: string, finish: OpenAiFinishReason, usage: Usage): object {
  return {
    id: meta.id,
    object: 'text_completion',
    created: meta.created,
    model: meta.model,
    choices: [{ index: 0, text, logprobs: null, finish_reason: finish }],
    usage,
  };
}

/** Non-streaming /v1/chat/completions body. */
export function chatBody(meta: ResponseMeta, content: string, finish: OpenAiFinishReason, usage: Usage): object {
  return {
    id: meta.id,
    object: 'chat.completion',
    created: meta.created,
    model: meta.model,
    choices: [{ index: 0, message: { role: 'assistant', content }, logprobs: null, finish_reason: finish }],
    usage,
  };
}

/**
 * One /v1/completions stream chunk. With include_usage, every chunk carries `usage: null` except the last,
 * as OpenAI does.
 */
export function completionChunk(meta: ResponseMeta, text: string, finish: OpenAiFinishReason | null, includeUsage: boolean): object {
  const chunk: Record<string, unknown> = {
    id: meta.id,
    object: 'text_completion',
    created: meta.created,
    model: meta.model,
    choices: [{ index: 0, text, logprobs: null, finish_reason: finish }],
  };
  if (includeUsage) chunk.usage = null;
  return chunk;
}

/** One chat stream chunk; `delta` is `{role}` first, then `{content}`, then `{}` with the finish reason. */
export function chatChunk(meta: ResponseMeta, delta: { role?: 'assistant'; content?: string }, finish: OpenAiFinishReason | null, includeUsage: boolean): object {
  const chunk: Record<string, unknown> = {
    id: meta.id,
    object: 'chat.completion.chunk',
    created: meta.created,
    model: meta.model,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
  };
  if (includeUsage) chunk.usage = null;
  return chunk;
}

/** The final usage-only chunk of a stream (`choices` empty). */
export function usageChunk(meta: ResponseMeta, object: 'text_completion' | 'chat.completion.chunk', usage: Usage): object {
  return { id: meta.id, object, created: meta.created, model: meta.model, choices: [], usage };
}

/** GET /v1/models body. */
export function modelsBody(modelId: string, created: number): object {
  return { object: 'list', data: [{ id: modelId, object: 'model', created, owned_by: 'llmbench' }] };
}
