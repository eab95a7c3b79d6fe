// Stream timing for every way a stream can end, against the documented formats of vLLM, TGI, llama.cpp server,
// Ollama and OpenAI (fixtures in test/fixtures/streams), replayed by a real local HTTP server one event per
// interval. Each server-side send time is recorded, so the client's measurements are checked against when the
// bytes actually left, not against timer intentions (timers fire late on a busy machine).
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { StreamClient, type RequestSpec } from '../../src/runners/load/streamClient.js';
import type { TokenCounter } from '../../src/runners/load/tokenCounter.js';
import type { Sample } from '../../src/types.js';
import { sleep, startTestServer } from '../helpers/testServer.js';

/** Words and punctuation marks: each fixture chunk is one such "token". */
const wordCounter: TokenCounter = {
  source: 'words',
  encode: (t) => (t.match(/\w+|[^\w\s]/g) ?? []).map((_, i) => i),
  decode: () => '',
  count: (t) => (t.match(/\w+|[^\w\s]/g) ?? []).length,
};

function fixtureEvents(name: string): string[] {
  const text = readFileSync(fileURLToPath(new URL(`../fixtures/streams/${name}`, import.meta.url)), 'utf8');
  return text
    .split(/\n\n+/)
    .map((block) => block.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n'))
    .filter((d) => d.length > 0);
}

interface Replay {
  url: string;
  /** performance.now() just before each event of the latest response was written. */
  sentAt: number[];
  connections: number;
  close(): Promise<void>;
}

/** Serves `events` as SSE, one every `intervalMs`; `closeAfter` hangs up after each stream (llama.cpp does). */
async function replayServer(events: () => string[], intervalMs: number, closeAfter = false): Promise<Replay> {
  let sentAt: number[] = [];
  const server = await startTestServer(async (req, res) => {
    const sent: number[] = [];
    res.writeHead(200, { 'content-type': 'text/event-stream', connection: 'keep-alive' });
    res.flushHeaders();
    for (const data of events()) {
      await sleep(intervalMs);
      sent.push(performance.now());
      res.write(`data: ${data}\n\n`);
    }
    sentAt = sent;
    res.end(() => {
      if (closeAfter) req.socket.destroy();
    });
  });
  return {
    url: server.url,
    get sentAt() {
      return sentAt;
    },
    get connections() {
      return server.stats.connections;
    },
    close: server.close,
  };
}

let replay: Replay | null = null;
let client: StreamClient | null = null;
afterEach(async () => {
  client?.close();
  await replay?.close();
  replay = null;
  client = null;
});

function spec(path: string): RequestSpec {
  return { index: 0, warmup: false, path, body: '{}', stream: true, scheduledAt: performance.now(), timeoutMs: 10_000, promptTokens: 3 };
}

const INTERVAL_MS = 40;

/** Absolute performance.now() times of a sample's first token and of its E2E end. */
function times(s: Sample, c: StreamClient, scheduledAt: number): { first: number | null; end: number } {
  return { first: s.firstTokenMs === null ? null : s.firstTokenMs + c.clock0, end: scheduledAt + s.e2eMs };
}

/** The time lies after event i was sent and before event i + 1 was. */
function expectAtEvent(t: number, sentAt: number[], i: number): void {
  expect(t).toBeGreaterThanOrEqual(sentAt[i] as number);
  if (i + 1 < sentAt.length) expect(t).toBeLessThan(sentAt[i + 1] as number);
}

interface Case {
  file: string;
  path: string;
  tokenizer: TokenCounter | null;
  /** Event index of the first token, of the first answer token (null: none), and of the E2E end. */
  firstEvent: number;
  answerEvent: number | null;
  endEvent: number;
  /** Token events (ITL gaps + 1). */
  tokenEvents: number;
  outputTokens: number;
  promptTokens: number;
  finishReason: string;
  closeAfter?: boolean;
}

const CASES: Case[] = [
  { file: 'vllm-completions.sse', path: '/v1/completions', tokenizer: wordCounter, firstEvent: 0, answerEvent: 0, endEvent: 4, tokenEvents: 5, outputTokens: 5, promptTokens: 6, finishReason: 'stop' },
  { file: 'vllm-chat-reasoning.sse', path: '/v1/chat/completions', tokenizer: wordCounter, firstEvent: 1, answerEvent: 4, endEvent: 6, tokenEvents: 6, outputTokens: 6, promptTokens: 12, finishReason: 'stop' },
  { file: 'vllm-chat-tools.sse', path: '/v1/chat/completions', tokenizer: null, firstEvent: 1, answerEvent: null, endEvent: 4, tokenEvents: 4, outputTokens: 4, promptTokens: 40, finishReason: 'tool_calls' },
  { file: 'tgi-chat.sse', path: '/v1/chat/completions', tokenizer: wordCounter, firstEvent: 0, answerEvent: 0, endEvent: 3, tokenEvents: 4, outputTokens: 4, promptTokens: 9, finishReason: 'length' },
  { file: 'llamacpp-chat.sse', path: '/v1/chat/completions', tokenizer: wordCounter, firstEvent: 1, answerEvent: 1, endEvent: 5, tokenEvents: 5, outputTokens: 5, promptTokens: 35, finishReason: 'stop', closeAfter: true },
  { file: 'llamacpp-first-token-stop.sse', path: '/v1/completions', tokenizer: wordCounter, firstEvent: 0, answerEvent: null, endEvent: 0, tokenEvents: 1, outputTokens: 1, promptTokens: 8, finishReason: 'stop', closeAfter: true },
  { file: 'ollama-chat.sse', path: '/v1/chat/completions', tokenizer: wordCounter, firstEvent: 0, answerEvent: 2, endEvent: 4, tokenEvents: 5, outputTokens: 5, promptTokens: 11, finishReason: 'stop' },
  // OpenAI's usage counts 3 for 3 text chunks: its `delta: {}` stop chunk is not a token, but E2E still ends there.
  { file: 'openai-chat.sse', path: '/v1/chat/completions', tokenizer: wordCounter, firstEvent: 1, answerEvent: 1, endEvent: 4, tokenEvents: 3, outputTokens: 3, promptTokens: 9, finishReason: 'stop' },
];

describe('documented stream formats', () => {
  for (const c of CASES) {
    it(`${c.file}: token events, TTFT, answer TTFT, E2E end, counts`, async () => {
      const events = fixtureEvents(c.file);
      replay = await replayServer(() => events, INTERVAL_MS, c.closeAfter === true);
      client = new StreamClient({ baseUrl: replay.url, apiKey: null, tokenizer: c.tokenizer }, performance.now());
      const sp = spec(c.path);
      const s = await client.send(sp);
      expect(s.status, s.error ?? '').toBe('ok');
      const t = times(s, client, sp.scheduledAt);
      expect(t.first).not.toBeNull();
      expectAtEvent(t.first as number, replay.sentAt, c.firstEvent);
      expectAtEvent(t.end, replay.sentAt, c.endEvent);
      if (c.answerEvent === null) expect(s.answerTtftMs).toBeNull();
      else expectAtEvent(sp.scheduledAt + (s.answerTtftMs as number), replay.sentAt, c.answerEvent);
      expect(s.itlMs).toHaveLength(c.tokenEvents - 1);
      expect(s.outputTokens).toBe(c.outputTokens);
      expect(s.outputTokensSource).toBe('usage');
      expect(s.promptTokens).toBe(c.promptTokens);
      expect(s.tokenCountMismatch).toBeNull();
      expect(s.finishReason).toBe(c.finishReason);
      if (c.outputTokens === 1) expect(s.tpotMs).toBe(0);
      else expect(s.tpotMs).toBeCloseTo((s.e2eMs - (s.ttftMs as number)) / (c.outputTokens - 1), 9);
    });
  }

  it('llama.cpp closes the connection after every stream while saying keep-alive: no request fails', async () => {
    const events = fixtureEvents('llamacpp-chat.sse');
    replay = await replayServer(() => events, 2, true);
    client = new StreamClient({ baseUrl: replay.url, apiKey: null, tokenizer: wordCounter }, performance.now());
    const samples: Sample[] = [];
    for (let i = 0; i < 6; i++) samples.push(await client.send(spec('/v1/chat/completions')));
    samples.push(...(await Promise.all(Array.from({ length: 6 }, () => (client as StreamClient).send(spec('/v1/chat/completions'))))));
    expect(samples.map((s) => s.error)).toEqual(Array(12).fill(null));
    expect(samples.every((s) => s.outputTokens === 5 && s.tokenCountMismatch === null)).toBe(true);
    // Every stream needed a fresh connection (the retry path ran), none was reused into an error.
    expect(replay.connections).toBeGreaterThanOrEqual(12);
  });
});

describe('TPOT for a stream that ends with an empty stop-token chunk', () => {
  it('equals the scripted decode interval within 1%, E2E ends at the final chunk, no mismatch', async () => {
    const n = 12;
    const events = (): string[] => [
      JSON.stringify({ choices: [{ index: 0, delta: { role: 'assistant', content: null }, finish_reason: null }] }),
      ...Array.from({ length: n - 1 }, (_, i) => JSON.stringify({ choices: [{ index: 0, delta: { content: ` w${i}` }, finish_reason: null }] })),
      JSON.stringify({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], usage: { prompt_tokens: 4, completion_tokens: n, total_tokens: n + 4 } }),
      '[DONE]',
    ];
    replay = await replayServer(events, 30);
    client = new StreamClient({ baseUrl: replay.url, apiKey: null, tokenizer: wordCounter }, performance.now());
    await client.send(spec('/v1/chat/completions'));
    const sp = spec('/v1/chat/completions');
    const s = await client.send(sp);
    const sent = replay.sentAt;
    // The decode interval the server actually produced: first token (event 1) to the stop token (event n).
    const interval = ((sent[n] as number) - (sent[1] as number)) / (n - 1);
    expect(s.tpotMs as number).toBeGreaterThan(interval * 0.99);
    expect(s.tpotMs as number).toBeLessThan(interval * 1.01);
    expectAtEvent(sp.scheduledAt + s.e2eMs, sent, n);
    expect(s.tokenCountMismatch).toBeNull();
    expect(s.outputTokens).toBe(n);
    expect(s.itlMs).toHaveLength(n - 1);
  });

  it('without usage, a "stop" finish chunk is the stop token: counted by the tokenizer plus one', async () => {
    const events = (): string[] => [
      JSON.stringify({ choices: [{ index: 0, text: ' a', finish_reason: null }] }),
      JSON.stringify({ choices: [{ index: 0, text: ' b', finish_reason: null }] }),
      JSON.stringify({ choices: [{ index: 0, text: '', finish_reason: 'stop' }] }),
      '[DONE]',
    ];
    replay = await replayServer(events, 20);
    client = new StreamClient({ baseUrl: replay.url, apiKey: null, tokenizer: wordCounter }, performance.now());
    const sp = spec('/v1/completions');
    const s = await client.send(sp);
    expect(s.outputTokens).toBe(3);
    expect(s.outputTokensSource).toBe('tokenizer');
    expect(s.itlMs).toHaveLength(2);
    expectAtEvent(sp.scheduledAt + s.e2eMs, replay.sentAt, 2);
  });
});
