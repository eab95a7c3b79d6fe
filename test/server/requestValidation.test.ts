// The hand-written request validation (src/server/requestSchemas.ts) against the zod schemas it replaced: on
// seeded bodies mixing valid and invalid values for every field, both accept the same bodies, and on a rejected
// body they name the same parameter with the same message and code. The reference schemas below are the ones
// the server used before (zod stays a dependency for scenario files, so the test can still run them).
import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../src/server/apiError.js';
import { parseChatRequest, parseCompletionRequest, parseGenerateRequest, parseTokenizeBody } from '../../src/server/requestSchemas.js';

const maxTokensField = z.number({ error: 'must be an integer >= 1' }).int({ error: 'must be an integer >= 1' }).min(1, { error: 'must be an integer >= 1' }).nullish();
const commonFields = {
  model: z.string({ error: 'must be a string' }).nullish(),
  max_tokens: maxTokensField,
  temperature: z.number({ error: 'must be a number in [0, 2]' }).min(0, { error: 'must be a number in [0, 2]' }).max(2, { error: 'must be a number in [0, 2]' }).nullish(),
  top_p: z.number({ error: 'must be a number in (0, 1]' }).gt(0, { error: 'must be a number in (0, 1]' }).max(1, { error: 'must be a number in (0, 1]' }).nullish(),
  seed: z.number({ error: 'must be an integer' }).int({ error: 'must be an integer' }).nullish(),
  stop: z.union([z.string().min(1), z.array(z.string().min(1)).max(4)], { error: 'must be a non-empty string or an array of up to 4 non-empty strings' }).nullish(),
  n: z.number({ error: 'must be 1' }).nullish(),
  stream: z.boolean({ error: 'must be a boolean' }).nullish(),
  stream_options: z.object({ include_usage: z.boolean({ error: 'must be a boolean' }).nullish() }, { error: 'must be an object' }).nullish(),
  ignore_eos: z.boolean({ error: 'must be a boolean' }).nullish(),
  min_tokens: z.number({ error: 'must be an integer >= 0' }).int({ error: 'must be an integer >= 0' }).min(0, { error: 'must be an integer >= 0' }).nullish(),
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
const tokenizeSchema = z.union([
  z.object({ prompt: z.string({ error: 'must be a string' }), model: z.string().nullish() }),
  z.object({ messages: z.array(z.object({ role: z.enum(['system', 'developer', 'user', 'assistant']), content: z.string() })).min(1), model: z.string().nullish() }),
]);

const UNION_MESSAGES = {
  stop: 'must be a non-empty string or an array of up to 4 non-empty strings',
  prompt: 'must be a string, an array of one string, or a non-empty array of token ids',
} as const;

/** What zod says about a body: null when it accepts it, else the first issue's param, message and code. */
function reference(schema: z.ZodType, body: Record<string, unknown>, unions: readonly string[]): { param: string; message: string; code: string } | null {
  const r = schema.safeParse(body);
  if (r.success) return null;
  const issue = r.error.issues[0] as z.core.$ZodIssue;
  let param = '';
  for (const p of issue.path) param += typeof p === 'number' ? `[${p}]` : param === '' ? String(p) : `.${String(p)}`;
  let message = issue.message;
  // The one intended difference: where only one option of a union has the input's type, zod reports that
  // option's inner issue ('stop': "" -> "'stop' Too small: expected string to have >=1 characters", 'prompt': [-1]
  // -> "'prompt[0]' Too small: ..."); the server names the field with the union's own message instead.
  const head = issue.path[0];
  if ((head === 'stop' || head === 'prompt') && unions.includes(head) && message !== UNION_MESSAGES[head] && message !== 'is required') {
    param = head;
    message = UNION_MESSAGES[head];
  }
  return { param, message: `'${param}' ${message}`, code: message === 'is required' ? 'missing_required_parameter' : 'invalid_value' };
}

/** What the server's parser says, at the validation step (later checks such as unsupported values pass here). */
function actual(parse: (b: unknown) => unknown, body: Record<string, unknown>): { param: string; message: string; code: string } | null {
  try {
    parse(body);
    return null;
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    const b = e.body().error;
    // Rejections after validation (n != 1, echo, suffix, tools, ...) mean validation itself passed.
    if (b.code === 'unsupported_parameter' || b.code === 'unsupported_value') return null;
    return { param: b.param ?? '', message: b.message, code: b.code ?? '' };
  }
}

/** Seeded generator (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Values every field is tried with: each type JSON has, edge numbers, and shapes the fields accept.
const SCALARS: unknown[] = [null, true, false, 0, 1, -1, 2, 2.5, 0.5, 3, 1e20, -0.1, '', 'a', 'hello', [], {}, ['a'], ['a', 'b'], [1, 2], [0], [-1], [1.5], ['', 'x'], ['a', 'b', 'c', 'd', 'e'], { include_usage: true }, { include_usage: 'x' }, { a: 1 }, { a: 'x' }];
const MESSAGES: unknown[] = [
  [{ role: 'user', content: 'hi' }],
  [{ role: 'system', content: 'x' }, { role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] }],
  [{ role: 'robot', content: 'x' }],
  [{ role: 'user', content: 5 }],
  [{ role: 'user', content: [{ type: 'image', text: 'a' }] }],
  [{ role: 'user' }],
  [{ role: 'user', content: null, name: 7 }],
  [{ content: 'x' }],
  ['hello'],
  [null],
  [{ role: 'assistant', content: 'ok' }, 3],
  [],
];
const FIELDS = ['model', 'max_tokens', 'temperature', 'top_p', 'seed', 'stop', 'n', 'stream', 'stream_options', 'ignore_eos', 'min_tokens', 'echo', 'logprobs', 'best_of', 'presence_penalty', 'frequency_penalty', 'logit_bias', 'suffix', 'max_completion_tokens', 'tools'];

function body(next: () => number, main: 'prompt' | 'messages'): Record<string, unknown> {
  const pick = <T>(a: readonly T[]): T => a[Math.floor(next() * a.length)] as T;
  const b: Record<string, unknown> = {};
  // Most bodies carry a valid main field and one to three other fields, so later fields get reached too.
  if (next() < 0.85) b[main] = main === 'prompt' ? pick(['hi', ['hi'], [1, 2, 3], 'x', 42, ['a', 'b'], [], [-1], null]) : pick(MESSAGES);
  const n = 1 + Math.floor(next() * 3);
  for (let i = 0; i < n; i++) b[pick(FIELDS)] = pick(SCALARS);
  return b;
}

describe('request validation matches the zod schemas it replaced', () => {
  // Which of a schema's fields are unions (generate's prompt is a plain string).
  const cases: Array<[string, z.ZodType, (b: unknown) => unknown, 'prompt' | 'messages', string[]]> = [
    ['/v1/completions', completionSchema, parseCompletionRequest, 'prompt', ['stop', 'prompt']],
    ['/v1/chat/completions', chatSchema, parseChatRequest, 'messages', ['stop']],
    ['/v1/generate', generateSchema, parseGenerateRequest, 'prompt', ['stop']],
  ];
  it.each(cases)('%s: 4,000 seeded bodies, same verdicts, parameters and messages', (_name, schema, parse, main, unions) => {
    const next = rng(1234);
    let rejected = 0;
    for (let i = 0; i < 4000; i++) {
      const b = body(next, main);
      const want = reference(schema, b, unions);
      const got = actual(parse, b);
      if (want) rejected += 1;
      expect({ body: b, verdict: got }).toEqual({ body: b, verdict: want });
    }
    // Both outcomes were exercised.
    expect(rejected).toBeGreaterThan(500);
    expect(4000 - rejected).toBeGreaterThan(50);
  });

  it('/tokenize: the same bodies accepted and the same text tokenized', () => {
    const next = rng(99);
    let accepted = 0;
    for (let i = 0; i < 3000; i++) {
      const b = body(next, next() < 0.5 ? 'prompt' : 'messages');
      if (next() < 0.3) b.model = SCALARS[Math.floor(next() * SCALARS.length)];
      const r = tokenizeSchema.safeParse(b);
      const got = parseTokenizeBody(b);
      expect({ b, ok: got !== null }).toEqual({ b, ok: r.success });
      if (r.success && got) {
        accepted += 1;
        expect(got).toEqual('prompt' in r.data ? { prompt: r.data.prompt } : { messages: r.data.messages });
      }
    }
    expect(accepted).toBeGreaterThan(200);
  });
});
