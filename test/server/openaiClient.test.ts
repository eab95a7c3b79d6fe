// The official openai client against a real server on the tiny model.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InferenceServerHandle } from '../../src/server/inferenceServer.js';
import { createTinyModel, startTinyServer, type TinyModel } from '../helpers/tinyServer.js';

let model: TinyModel;
let server: InferenceServerHandle;
let keyed: InferenceServerHandle;
let client: OpenAI;

beforeAll(async () => {
  model = await createTinyModel();
  server = await startTinyServer(model);
  keyed = await startTinyServer(model, { apiKey: 'sekret', replicaName: 'keyed-1' });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'x', maxRetries: 0 });
});

afterAll(async () => {
  await server?.close();
  await keyed?.close();
  model?.remove();
});

describe('openai client', () => {
  it('lists the model', async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual(['tiny']);
  });

  it('completes a prompt with usage and finish_reason length', async () => {
    const r = await client.completions.create({ model: 'tiny', prompt: 'The river', max_tokens: 9, temperature: 0 });
    expect(r.object).toBe('text_completion');
    expect(r.model).toBe('tiny');
    expect(r.choices).toHaveLength(1);
    expect(r.choices[0]?.finish_reason).toBe('length');
    expect(r.choices[0]?.text.length).toBeGreaterThan(0);
    expect(r.usage).toEqual({ prompt_tokens: expect.any(Number), completion_tokens: 9, total_tokens: (r.usage?.prompt_tokens ?? 0) + 9 });
    // Greedy decoding is deterministic.
    const again = await client.completions.create({ model: 'tiny', prompt: 'The river', max_tokens: 9, temperature: 0 });
    expect(again.choices[0]?.text).toBe(r.choices[0]?.text);
  });

  it('same seed gives the same sampled text', async () => {
    const req = { model: 'tiny', prompt: 'A storm', max_tokens: 12, temperature: 1, top_p: 0.9, seed: 7 };
    const a = await client.completions.create(req);
    const b = await client.completions.create(req);
    expect(a.choices[0]?.text).toBe(b.choices[0]?.text);
  });

  it('chat completion returns an assistant message', async () => {
    const r = await client.chat.completions.create({
      model: 'tiny',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Tell me about the sea.' },
      ],
      max_tokens: 6,
      temperature: 0,
    });
    expect(r.object).toBe('chat.completion');
    expect(r.choices[0]?.message.role).toBe('assistant');
    expect(typeof r.choices[0]?.message.content).toBe('string');
    expect(r.usage?.completion_tokens).toBeLessThanOrEqual(6);
    expect(['stop', 'length']).toContain(r.choices[0]?.finish_reason);
  });

  it('streams completion chunks incrementally, with usage in the final chunk', async () => {
    const stream = await client.completions.create({
      model: 'tiny',
      prompt: 'Once upon a time',
      max_tokens: 200,
      temperature: 0,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let chunks = 0;
    let activeAtFirstChunk: number | null = null;
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | null | undefined = null;
    for await (const chunk of stream) {
      const choice = chunk.choices[0];
      if (choice) {
        if (choice.text && activeAtFirstChunk === null) activeAtFirstChunk = server.state.model?.scheduler.active ?? -1;
        text += choice.text;
        if (choice.finish_reason) finish = choice.finish_reason;
        chunks += 1;
      }
      if (chunk.usage) usage = chunk.usage;
    }
    // The first piece of text arrived while the sequence was still generating: the stream is not buffered.
    expect(activeAtFirstChunk).toBe(1);
    expect(chunks).toBeGreaterThan(10);
    expect(usage?.completion_tokens).toBe(200);
    expect(finish).toBe('length');
    const whole = await client.completions.create({ model: 'tiny', prompt: 'Once upon a time', max_tokens: 200, temperature: 0 });
    expect(text).toBe(whole.choices[0]?.text);
  });

  it('streams chat: role first, then content, finish reason, and no usage unless asked', async () => {
    const stream = await client.chat.completions.create({
      model: 'tiny',
      messages: [{ role: 'user', content: 'Hello there' }],
      max_tokens: 8,
      temperature: 0,
      stream: true,
    });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const c of stream) chunks.push(c);
    expect(chunks[0]?.choices[0]?.delta.role).toBe('assistant');
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toMatch(/^(stop|length)$/);
    expect(chunks.every((c) => c.usage === undefined)).toBe(true);
    expect(chunks.every((c) => c.object === 'chat.completion.chunk')).toBe(true);
  });

  it('cuts at a stop string (not included) with finish_reason stop, streamed or not', async () => {
    const base = { model: 'tiny', prompt: 'The old bridge', max_tokens: 60, temperature: 0 };
    const full = (await client.completions.create(base)).choices[0]?.text ?? '';
    const stop = [...full].slice(12, 15).join('');
    expect(stop.length).toBeGreaterThan(0);
    const expected = full.slice(0, full.indexOf(stop));
    const cut = await client.completions.create({ ...base, stop: [stop, 'never-appears'] });
    expect(cut.choices[0]?.text).toBe(expected);
    expect(cut.choices[0]?.finish_reason).toBe('stop');
    const stream = await client.completions.create({ ...base, stop, stream: true });
    let text = '';
    let finish: string | null = null;
    for await (const c of stream) {
      text += c.choices[0]?.text ?? '';
      finish = c.choices[0]?.finish_reason ?? finish;
    }
    expect(text).toBe(expected);
    expect(finish).toBe('stop');
  });

  it('surfaces errors as the client error types', async () => {
    await expect(client.completions.create({ model: 'tiny', prompt: 'x', max_tokens: 0 })).rejects.toBeInstanceOf(OpenAI.BadRequestError);
    await expect(client.completions.create({ model: 'tiny', prompt: 'x', max_tokens: 5, n: 2 })).rejects.toBeInstanceOf(OpenAI.BadRequestError);
    await expect(client.completions.create({ model: 'nope', prompt: 'x', max_tokens: 5 })).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    const err = await client.completions.create({ model: 'tiny', prompt: 'x', max_tokens: 100_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).code).toBe('context_length_exceeded');
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('max_tokens');
  });

  it('requires the bearer key when one is set', async () => {
    const noKey = new OpenAI({ baseURL: `${keyed.url}/v1`, apiKey: 'wrong', maxRetries: 0 });
    await expect(noKey.completions.create({ model: 'tiny', prompt: 'x', max_tokens: 2 })).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
    const withKey = new OpenAI({ baseURL: `${keyed.url}/v1`, apiKey: 'sekret', maxRetries: 0 });
    const r = await withKey.completions.create({ model: 'tiny', prompt: 'x', max_tokens: 2 }).withResponse();
    expect(r.data.usage?.completion_tokens).toBeGreaterThan(0);
    expect(r.response.headers.get('x-llmbench-replica')).toBe('keyed-1');
    const bare = await fetch(`${keyed.url}/v1/models`);
    expect(bare.status).toBe(401);
    expect(bare.headers.get('x-llmbench-replica')).toBe('keyed-1');
    // Health and metrics stay open for probes and scrapers.
    expect((await fetch(`${keyed.url}/health`)).status).toBe(200);
  });
});
