// Continuous batching under concurrent streaming load: every request completes with the right token count, the
// engine really ran batches larger than one, and batched greedy text equals one-at-a-time greedy text.
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InferenceServerHandle } from '../../src/server/inferenceServer.js';
import { createTinyModel, metricValue, scrape, startTinyServer, type TinyModel } from '../helpers/tinyServer.js';

const PROMPTS = [
  'The river runs',
  'In the morning the market',
  'She opened the old door and',
  'Rain',
  'A long time ago, in a village by the sea, there lived',
  'The engineer checked the',
];
const MAX_TOKENS = [40, 25, 60, 33, 48, 52];

let model: TinyModel;
let server: InferenceServerHandle;
let client: OpenAI;

beforeAll(async () => {
  model = await createTinyModel();
  server = await startTinyServer(model, { maxBatch: 4, maxQueue: 8 });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'x', maxRetries: 0 });
});

afterAll(async () => {
  await server?.close();
  model?.remove();
});

interface Streamed {
  text: string;
  completionTokens: number | null;
  finish: string | null;
}

async function streamOne(prompt: string, maxTokens: number): Promise<Streamed> {
  const stream = await client.completions.create({ model: 'tiny', prompt, max_tokens: maxTokens, temperature: 0, stream: true, stream_options: { include_usage: true } });
  const out: Streamed = { text: '', completionTokens: null, finish: null };
  for await (const c of stream) {
    const ch = c.choices[0];
    if (ch) {
      out.text += ch.text;
      out.finish = ch.finish_reason ?? out.finish;
    }
    if (c.usage) out.completionTokens = c.usage.completion_tokens;
  }
  return out;
}

describe('concurrent streaming', () => {
  it('batches concurrent requests and matches unbatched greedy decoding', async () => {
    // Reference: one request at a time, so every engine step has a batch of one.
    const sequential: Streamed[] = [];
    for (let i = 0; i < PROMPTS.length; i++) sequential.push(await streamOne(PROMPTS[i] as string, MAX_TOKENS[i] as number));
    const before = await scrape(server.url);
    expect(metricValue(before, 'llmbench_batch_size_peak')).toBe(1);

    const parallel = await Promise.all(PROMPTS.map((p, i) => streamOne(p, MAX_TOKENS[i] as number)));
    for (let i = 0; i < PROMPTS.length; i++) {
      const got = parallel[i] as Streamed;
      const want = sequential[i] as Streamed;
      expect(got.text).toBe(want.text);
      expect(got.finish).toBe(want.finish);
      expect(got.completionTokens).toBe(want.completionTokens);
      // Greedy tiny-model text runs to the limit unless it emits end-of-text first.
      if (got.finish === 'length') expect(got.completionTokens).toBe(MAX_TOKENS[i]);
      else expect(got.completionTokens).toBeLessThan(MAX_TOKENS[i] as number);
    }
    const after = await scrape(server.url);
    const peak = metricValue(after, 'llmbench_batch_size_peak');
    expect(peak).toBeGreaterThan(1);
    expect(peak).toBeLessThanOrEqual(4);
    // Steps with more than one sequence were recorded in the histogram too.
    expect(metricValue(after, 'llmbench_batch_size_count')).toBeGreaterThan(metricValue(after, 'llmbench_batch_size_bucket{le="1"}'));
    const totalTokens = parallel.reduce((n, r) => n + (r.completionTokens ?? 0), 0) * 2;
    expect(metricValue(after, 'llmbench_generation_tokens_total')).toBe(totalTokens);
    expect(metricValue(after, 'llmbench_requests_total{endpoint="/v1/completions",status="200"}')).toBe(PROMPTS.length * 2);
    expect(metricValue(after, 'llmbench_running_requests')).toBe(0);
    expect(metricValue(after, 'llmbench_queue_depth')).toBe(0);
  });
});
