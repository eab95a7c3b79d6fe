// Request validation for the OpenAI-compatible endpoints (zod). Parsing turns a JSON body into a typed request
// or an ApiError naming the offending parameter; nothing here touches the model.
import { z } from 'zod';
import { ApiError, badRequest } from './apiError.js';

const maxTokensField = z.number({ error: 'must be an integer >= 1' }).int({ error: 'must be an integer >= 1' }).min(1, { error: 'must be an integer >= 1' }).nullish();

/** Fields shared by /v1/completions and /v1/chat/completions. */
const commonFields = {
  model: z.string({ error: 'must be a string' }).nullish(),
  max_tokens: maxTokensField,
  temperature: z.number({ error: 'must be a number in [0, 2]' }).min(0, { error: 'must be a number in [0, 2]' }).max(2, { error: 'must be a number in [0, 2]' }).nullish(),
  top_p: z.number({ error: 'must be a number in (0, 1]' }).gt(0, { error: 'must be a number in (0, 1]' }).max(1, { error: 'must be a number in (0, 1]' }).nullish(),
  seed: z.number({ error: 'must be an integer' }).int({ error: 'must be an integer' }).nullish(),
  stop: z
    .union([z.string().min(1), z.array(z.string().min(1)).max(4)], { error: 'must be a non-empty string or an array of up to 4 non-empty strings' })
    .nullish(),
  n: z.number({ error: 'must be 1' }).nullish(),
  stream: z.boolean({ error: 'must be a boolean' }).nullish(),
  stream_options: z.object({ include_usage: z.boolean({ error: 'must be a boolean' }).nullish() }, { error: 'must be an object' }).nullish(),
  // vLLM's extensions for benchmarks that need a fixed output length.
  ignore_eos: z.boolean({ error: 'must be a boolean' }).nullish(),
  min_tokens: z.number({ error: 'must be an integer >= 0' }).int({ error: 'must be an integer >= 0' }).min(0, { error: 'must be an integer >= 0' }).nullish(),
  // Accepted only at their neutral values: anything else would silently change what is generated.
  echo: z.boolean({ error: 'must be a boolean' }).nullish(),
  logprobs: z.union([z.boolean(), z.number()], { error: 'must be a boolean or a number' }).nullish(),
  best_of: z.number({ error: 'must be 1' }).nullish(),
  presence_penalty: z.number({ error: 'must be a number' }).nullish(),
  frequency_penalty: z.number({ error: 'must be a number' }).nullish(),
  logit_bias: z.record(z.string(), z.number(), { error: 'must be an object' }).nullish(),
};

const completionSchema = z.object({
  ...commonFields,
  prompt: z.union([z.string(), z.array(z.string()).length(1), z.array(z.number().int().min(0)).min(1)], {
    error: (iss) => (iss.input === undefined ? 'is required' : 'must be a string, an array of one string, or a non-empty array of token ids'),
  }),
  suffix: z.string({ error: 'must be a string' }).nullish(),
});

const textPart = z.object({ type: z.literal('text'), text: z.string() });
const messageSchema = z.object({
  role: z.enum(['system', 'developer', 'user', 'assistant'], { error: 'must be one of system, developer, user, assistant' }),
  content: z.union([z.string(), z.array(textPart)], { error: 'must be a string or an array of {type:"text",text} parts' }).nullish(),
  name: z.string({ error: 'must be a string' }).nullish(),
});

const chatSchema = z.object({
  ...commonFields,
  max_completion_tokens: maxTokensField,
  messages: z.array(messageSchema, { error: (iss) => (iss.input === undefined ? 'is required' : 'must be an array of messages') }).min(1, { error: 'must contain at least one message' }),
  tools: z.array(z.unknown()).nullish(),
});

const generateSchema = z.object({
  prompt: z.string({ error: (iss) => (iss.input === undefined ? 'is required' : 'must be a string') }),
  max_tokens: maxTokensField,
  temperature: commonFields.temperature,
  top_p: commonFields.top_p,
  seed: commonFields.seed,
  stop: commonFields.stop,
  ignore_eos: commonFields.ignore_eos,
  min_tokens: commonFields.min_tokens,
});

/** Decoding settings common to every generation endpoint, after defaults. */
export interface GenerationSettings {
  /** null: as many as the context allows (chat default). */
  maxTokens: number | null;
  temperature: number;
  topP: number;
  seed: number | null;
  stop: string[];
  stream: boolean;
  includeUsage: boolean;
  model: string | null;
  /** Generate through end-of-sequence tokens (ignore_eos). */
  ignoreEos: boolean;
  /** min_tokens as asked (0 when absent). */
  minTokens: number;
}

/** A chat message after validation; content parts are joined. */
export interface ChatMessage {
  role: 'system' | 'developer' | 'user' | 'assistant';
  content: string;
}

export interface CompletionRequest {
  kind: 'completion';
  prompt: string | number[];
  settings: GenerationSettings;
}

export interface ChatRequest {
  kind: 'chat';
  messages: ChatMessage[];
  settings: GenerationSettings;
}

export interface GenerateRequest {
  kind: 'generate';
  prompt: string;
  settings: GenerationSettings;
}

/** OpenAI's default `max_tokens` for /v1/completions. */
export const COMPLETION_DEFAULT_MAX_TOKENS = 16;

function pathOf(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? String(p) : `.${String(p)}`;
  return out;
}

function parseWith<T>(schema: z.ZodType<T>, body: unknown): T {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw badRequest('Request body must be a JSON object', null, 'invalid_json');
  }
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const param = issue ? pathOf(issue.path) : null;
  const message = issue ? `${param ? `'${param}' ` : ''}${issue.message}` : 'Invalid request';
  throw new ApiError(400, 'invalid_request_error', message, param || null, issue?.message === 'is required' ? 'missing_required_parameter' : 'invalid_value');
}

type Common = z.infer<z.ZodObject<typeof commonFields>>;

function rejectUnsupported(b: Common): void {
  const unsupported = (param: string, what: string): ApiError => badRequest(`'${param}' ${what} is not supported by this server`, param, 'unsupported_parameter');
  if (b.n !== undefined && b.n !== null && b.n !== 1) throw badRequest(`'n' must be 1 (only one choice per request is supported), got ${b.n}`, 'n', 'unsupported_value');
  if (b.best_of !== undefined && b.best_of !== null && b.best_of !== 1) throw unsupported('best_of', '> 1');
  if (b.echo === true) throw unsupported('echo', 'true');
  if (b.logprobs !== undefined && b.logprobs !== null && b.logprobs !== false) throw unsupported('logprobs', '');
  if (b.presence_penalty) throw unsupported('presence_penalty', '!= 0');
  if (b.frequency_penalty) throw unsupported('frequency_penalty', '!= 0');
  if (b.logit_bias && Object.keys(b.logit_bias).length > 0) throw unsupported('logit_bias', '');
}

type SettingsFields = Pick<Common, 'temperature' | 'top_p' | 'seed' | 'stop' | 'ignore_eos' | 'min_tokens'> & Partial<Pick<Common, 'stream' | 'stream_options' | 'model'>>;

function settingsOf(b: SettingsFields, maxTokens: number | null, defaultTemperature: number): GenerationSettings {
  const stop = b.stop === undefined || b.stop === null ? [] : typeof b.stop === 'string' ? [b.stop] : b.stop;
  return {
    maxTokens,
    temperature: b.temperature ?? defaultTemperature,
    topP: b.top_p ?? 1,
    seed: b.seed ?? null,
    stop,
    stream: b.stream ?? false,
    includeUsage: b.stream_options?.include_usage ?? false,
    model: b.model ?? null,
    ignoreEos: b.ignore_eos === true,
    minTokens: b.min_tokens ?? 0,
  };
}

/** Validates a /v1/completions body. */
export function parseCompletionRequest(body: unknown): CompletionRequest {
  const b = parseWith(completionSchema, body);
  rejectUnsupported(b);
  if (b.suffix) throw badRequest(`'suffix' is not supported by this server`, 'suffix', 'unsupported_parameter');
  const prompt = typeof b.prompt === 'string' ? b.prompt : typeof b.prompt[0] === 'string' ? b.prompt[0] : (b.prompt as number[]);
  return { kind: 'completion', prompt, settings: settingsOf(b, b.max_tokens ?? COMPLETION_DEFAULT_MAX_TOKENS, 1) };
}

/** Validates a /v1/chat/completions body. */
export function parseChatRequest(body: unknown): ChatRequest {
  const b = parseWith(chatSchema, body);
  rejectUnsupported(b);
  if (b.tools && b.tools.length > 0) throw badRequest(`'tools' is not supported by this server`, 'tools', 'unsupported_parameter');
  const messages = b.messages.map((m): ChatMessage => ({
    role: m.role,
    content: m.content === undefined || m.content === null ? '' : typeof m.content === 'string' ? m.content : m.content.map((p) => p.text).join(''),
  }));
  return { kind: 'chat', messages, settings: settingsOf(b, b.max_completion_tokens ?? b.max_tokens ?? null, 1) };
}

/** Validates a /v1/generate body (`{prompt, max_tokens}`; greedy unless a temperature is given). */
export function parseGenerateRequest(body: unknown): GenerateRequest {
  const b = parseWith(generateSchema, body);
  return { kind: 'generate', prompt: b.prompt, settings: settingsOf(b, b.max_tokens ?? COMPLETION_DEFAULT_MAX_TOKENS, 0) };
}
