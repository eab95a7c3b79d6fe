// Request validation for the OpenAI-compatible endpoints. Parsing turns a JSON body into a typed request or an
// ApiError naming the offending parameter (the first one wrong, in the order the fields are listed here); nothing
// here touches the model. Written out by hand rather than with zod, which the rest of llmbench uses for scenario
// files: importing zod alone takes 13.9 MiB of RSS (`node --input-type=module -e "const b =
// process.memoryUsage.rss(); await import('zod'); console.log(process.memoryUsage.rss() - b)"`), and without it (and
// with the staged engine loaded on first use) the serve command's modules went from 37.7 to 26.9 MiB, the same
// measurement on `./dist/cli/serve.js`, 2-core EPYC. test/server/requestValidation.test.ts checks this code against
// the zod schemas it replaced on generated bodies.
import { ApiError, badRequest } from './apiError.js';

/** A field that failed: its path (`messages[0].role`) and what it must be. */
class Invalid {
  constructor(
    readonly path: string,
    readonly message: string,
  ) {}
}

type Body = Record<string, unknown>;

/** The JSON type of a value as error messages name it. */
function typeName(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
}

const isObject = (v: unknown): v is Body => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isInteger = (v: unknown): v is number => isNumber(v) && Number.isSafeInteger(v);
const absent = (v: unknown): v is null | undefined => v === undefined || v === null;

/** `body[key]` when absent or when `ok`; otherwise the field is invalid with `message`. */
function optional<T>(body: Body, key: string, ok: (v: unknown) => v is T, message: string, path = key): T | null | undefined {
  const v = body[key];
  if (absent(v) || ok(v)) return v as T | null | undefined;
  throw new Invalid(path, message);
}

const MAX_TOKENS = 'must be an integer >= 1';
const isMaxTokens = (v: unknown): v is number => isInteger(v) && v >= 1;
const isTemperature = (v: unknown): v is number => isNumber(v) && v >= 0 && v <= 2;
const isTopP = (v: unknown): v is number => isNumber(v) && v > 0 && v <= 1;
const isMinTokens = (v: unknown): v is number => isInteger(v) && v >= 0;
const isBoolean = (v: unknown): v is boolean => typeof v === 'boolean';
const isString = (v: unknown): v is string => typeof v === 'string';
const isStop = (v: unknown): v is string | string[] =>
  (typeof v === 'string' && v.length > 0) || (Array.isArray(v) && v.length <= 4 && v.every((x) => typeof x === 'string' && x.length > 0));
const ROLES = ['system', 'developer', 'user', 'assistant'] as const;
type Role = (typeof ROLES)[number];
const isRole = (v: unknown): v is Role => typeof v === 'string' && (ROLES as readonly string[]).includes(v);

/** Fields shared by /v1/completions and /v1/chat/completions, as validated. */
interface Common {
  model?: string | null;
  max_tokens?: number | null;
  temperature?: number | null;
  top_p?: number | null;
  seed?: number | null;
  stop?: string | string[] | null;
  n?: number | null;
  stream?: boolean | null;
  stream_options?: { include_usage?: boolean | null } | null;
  ignore_eos?: boolean | null;
  min_tokens?: number | null;
  echo?: boolean | null;
  logprobs?: boolean | number | null;
  best_of?: number | null;
  presence_penalty?: number | null;
  frequency_penalty?: number | null;
  logit_bias?: Record<string, number> | null;
}

function streamOptions(body: Body): Common['stream_options'] {
  const v = body.stream_options;
  if (absent(v)) return v;
  if (!isObject(v)) throw new Invalid('stream_options', 'must be an object');
  return { include_usage: optional(v, 'include_usage', isBoolean, 'must be a boolean', 'stream_options.include_usage') };
}

function logitBias(body: Body): Common['logit_bias'] {
  const v = body.logit_bias;
  if (absent(v)) return v;
  if (!isObject(v)) throw new Invalid('logit_bias', 'must be an object');
  for (const [k, x] of Object.entries(v)) if (!isNumber(x)) throw new Invalid(`logit_bias.${k}`, `Invalid input: expected number, received ${typeName(x)}`);
  return v as Record<string, number>;
}

/** The shared fields, checked in this order. */
function commonFields(b: Body): Common {
  return {
    model: optional(b, 'model', isString, 'must be a string'),
    max_tokens: optional(b, 'max_tokens', isMaxTokens, MAX_TOKENS),
    temperature: optional(b, 'temperature', isTemperature, 'must be a number in [0, 2]'),
    top_p: optional(b, 'top_p', isTopP, 'must be a number in (0, 1]'),
    seed: optional(b, 'seed', isInteger, 'must be an integer'),
    stop: optional(b, 'stop', isStop, 'must be a non-empty string or an array of up to 4 non-empty strings'),
    n: optional(b, 'n', isNumber, 'must be 1'),
    stream: optional(b, 'stream', isBoolean, 'must be a boolean'),
    stream_options: streamOptions(b),
    // vLLM's extensions for benchmarks that need a fixed output length.
    ignore_eos: optional(b, 'ignore_eos', isBoolean, 'must be a boolean'),
    min_tokens: optional(b, 'min_tokens', isMinTokens, 'must be an integer >= 0'),
    // Accepted only at their neutral values (rejectUnsupported): anything else would silently change what is generated.
    echo: optional(b, 'echo', isBoolean, 'must be a boolean'),
    logprobs: optional(b, 'logprobs', (v): v is boolean | number => isBoolean(v) || isNumber(v), 'must be a boolean or a number'),
    best_of: optional(b, 'best_of', isNumber, 'must be 1'),
    presence_penalty: optional(b, 'presence_penalty', isNumber, 'must be a number'),
    frequency_penalty: optional(b, 'frequency_penalty', isNumber, 'must be a number'),
    logit_bias: logitBias(b),
  };
}

/** A required field: 'is required' when missing, `message` when it fails `ok`. */
function required<T>(body: Body, key: string, ok: (v: unknown) => v is T, message: string): T {
  const v = body[key];
  if (v === undefined) throw new Invalid(key, 'is required');
  if (!ok(v)) throw new Invalid(key, message);
  return v;
}

const isPrompt = (v: unknown): v is string | [string] | number[] =>
  typeof v === 'string' ||
  (Array.isArray(v) && v.length === 1 && typeof v[0] === 'string') ||
  (Array.isArray(v) && v.length >= 1 && v.every((x) => isInteger(x) && x >= 0));

/** A chat message's content: a string or an array of {type: "text", text} parts, joined. */
const isContent = (v: unknown): v is string | Array<{ type: 'text'; text: string }> =>
  typeof v === 'string' || (Array.isArray(v) && v.every((p) => isObject(p) && p.type === 'text' && typeof p.text === 'string'));

function chatMessages(b: Body): Array<{ role: Role; content?: string | Array<{ text: string }> | null }> {
  const v = b.messages;
  if (v === undefined) throw new Invalid('messages', 'is required');
  if (!Array.isArray(v)) throw new Invalid('messages', 'must be an array of messages');
  const out = v.map((m: unknown, i) => {
    const at = `messages[${i}]`;
    if (!isObject(m)) throw new Invalid(at, `Invalid input: expected object, received ${typeName(m)}`);
    const role = m.role;
    if (!isRole(role)) throw new Invalid(`${at}.role`, 'must be one of system, developer, user, assistant');
    const content = optional(m, 'content', isContent, 'must be a string or an array of {type:"text",text} parts', `${at}.content`);
    optional(m, 'name', isString, 'must be a string', `${at}.name`);
    return { role, content };
  });
  if (out.length === 0) throw new Invalid('messages', 'must contain at least one message');
  return out;
}

function tools(b: Body): unknown[] | null | undefined {
  const v = b.tools;
  if (absent(v) || Array.isArray(v)) return v;
  throw new Invalid('tools', `Invalid input: expected array, received ${typeName(v)}`);
}

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

/** Runs `check` on a JSON body; the first invalid field becomes a 400 naming it. */
function parseWith<T>(body: unknown, check: (b: Body) => T): T {
  if (!isObject(body)) throw badRequest('Request body must be a JSON object', null, 'invalid_json');
  try {
    return check(body);
  } catch (e) {
    if (!(e instanceof Invalid)) throw e;
    return invalidRequest(e);
  }
}

function invalidRequest(e: Invalid): never {
  throw new ApiError(400, 'invalid_request_error', `'${e.path}' ${e.message}`, e.path, e.message === 'is required' ? 'missing_required_parameter' : 'invalid_value');
}

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
  const b = parseWith(body, (o) => ({
    ...commonFields(o),
    prompt: required(o, 'prompt', isPrompt, 'must be a string, an array of one string, or a non-empty array of token ids'),
    suffix: optional(o, 'suffix', isString, 'must be a string'),
  }));
  rejectUnsupported(b);
  if (b.suffix) throw badRequest(`'suffix' is not supported by this server`, 'suffix', 'unsupported_parameter');
  const prompt = typeof b.prompt === 'string' ? b.prompt : typeof b.prompt[0] === 'string' ? b.prompt[0] : (b.prompt as number[]);
  return { kind: 'completion', prompt, settings: settingsOf(b, b.max_tokens ?? COMPLETION_DEFAULT_MAX_TOKENS, 1) };
}

/** Validates a /v1/chat/completions body. */
export function parseChatRequest(body: unknown): ChatRequest {
  const b = parseWith(body, (o) => ({
    ...commonFields(o),
    max_completion_tokens: optional(o, 'max_completion_tokens', isMaxTokens, MAX_TOKENS),
    messages: chatMessages(o),
    tools: tools(o),
  }));
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
  const b = parseWith(body, (o) => ({
    prompt: required(o, 'prompt', isString, 'must be a string'),
    max_tokens: optional(o, 'max_tokens', isMaxTokens, MAX_TOKENS),
    temperature: optional(o, 'temperature', isTemperature, 'must be a number in [0, 2]'),
    top_p: optional(o, 'top_p', isTopP, 'must be a number in (0, 1]'),
    seed: optional(o, 'seed', isInteger, 'must be an integer'),
    stop: optional(o, 'stop', isStop, 'must be a non-empty string or an array of up to 4 non-empty strings'),
    ignore_eos: optional(o, 'ignore_eos', isBoolean, 'must be a boolean'),
    min_tokens: optional(o, 'min_tokens', isMinTokens, 'must be an integer >= 0'),
  }));
  return { kind: 'generate', prompt: b.prompt, settings: settingsOf(b, b.max_tokens ?? COMPLETION_DEFAULT_MAX_TOKENS, 0) };
}

/** Checks a /tokenize body: `{prompt: string}` or `{messages: [{role, content: string}, ...]}` (one or more), `model` optional. */
export function parseTokenizeBody(body: unknown): { prompt: string } | { messages: ChatMessage[] } | null {
  if (!isObject(body) || !(absent(body.model) || typeof body.model === 'string')) return null;
  if (typeof body.prompt === 'string') return { prompt: body.prompt };
  const m = body.messages;
  if (Array.isArray(m) && m.length > 0 && m.every((x) => isObject(x) && isRole(x.role) && typeof x.content === 'string')) {
    return { messages: (m as Body[]).map((x) => ({ role: x.role as Role, content: x.content as string })) };
  }
  return null;
}
