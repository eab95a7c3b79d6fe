// `npm run bench:endings`: what the streaming client measures for each way a stream can end, against a local
// server that scripts llama.cpp-style streams (one token every --interval ms; the stop token as a last chunk
// with empty text and a finish reason, counted in usage). Prints the client's TPOT and E2E next to the decode
// interval and end time the server actually produced (its own send timestamps), so any bias shows as a ratio.
// LLMBENCH_DIST=<folder> measures another build's client (e.g. an older checkout's dist/) with the same script.
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

const { values: a } = parseArgs({ options: { interval: { type: 'string', default: '22' }, tokens: { type: 'string', default: '5' }, requests: { type: 'string', default: '20' } } });
const intervalMs = Number(a.interval);
const n = Number(a.tokens);
const dist = process.env.LLMBENCH_DIST ?? new URL('../dist', import.meta.url).pathname;
const { StreamClient } = await import(`${dist}/runners/streamClient.js`);

const chunk = (delta, finish = null, usage = undefined) => JSON.stringify({ choices: [{ index: 0, delta, finish_reason: finish }], ...(usage ? { usage } : {}) });
const usage = (c) => ({ prompt_tokens: 4, completion_tokens: c, total_tokens: c + 4 });
/** Endings: [name, events]; each event is [text-or-null, isToken]. */
const endings = {
  'max_tokens (last text chunk has finish_reason length)': () => [
    ...Array.from({ length: n - 1 }, (_, i) => chunk({ content: ` w${i}` })),
    chunk({ content: ' end' }, 'length', usage(n)),
  ],
  'stop token (empty last chunk, counted in usage)': () => [...Array.from({ length: n - 1 }, (_, i) => chunk({ content: ` w${i}` })), chunk({}, 'stop', usage(n))],
  'reasoning, then answer, then stop token': () => [
    ...Array.from({ length: n - 2 }, (_, i) => chunk({ reasoning_content: ` r${i}` })),
    chunk({ content: ' yes' }),
    chunk({}, 'stop', usage(n)),
  ],
  'first token is the stop token': () => [chunk({}, 'stop', usage(1))],
};

let current = [];
let sentAt = [];
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', async () => {
    res.writeHead(200, { 'content-type': 'text/event-stream', connection: 'keep-alive' });
    res.flushHeaders();
    const sent = [];
    for (const ev of current) {
      await new Promise((r) => setTimeout(r, intervalMs));
      sent.push(performance.now());
      res.write(`data: ${ev}\n\n`);
    }
    res.write('data: [DONE]\n\n');
    sentAt = sent;
    // llama.cpp closes the connection after each stream.
    res.end(() => req.socket.destroy());
  });
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${server.address().port}`;
const client = new StreamClient({ baseUrl: url, apiKey: null, tokenizer: null }, performance.now());
console.log(`client: ${dist}; ${n} tokens per request, one every ${intervalMs} ms, ${a.requests} requests per ending`);
for (const [name, make] of Object.entries(endings)) {
  current = make();
  const ratios = [];
  const endLag = [];
  let ttftMissing = 0;
  let tokens = 0;
  for (let i = 0; i < Number(a.requests); i++) {
    const scheduledAt = performance.now();
    const s = await client.send({ index: i, warmup: false, path: '/v1/chat/completions', body: '{}', stream: true, scheduledAt, timeoutMs: 10_000, promptTokens: 4 });
    if (s.status !== 'ok') throw new Error(`${name}: ${s.error}`);
    tokens = s.outputTokens;
    if (s.ttftMs === null) ttftMissing++;
    const sent = sentAt;
    // Server truth: the decode interval from the first to the last token it sent, and when the last one left.
    if (tokens > 1 && s.tpotMs !== null) ratios.push(s.tpotMs / ((sent[sent.length - 1] - sent[0]) / (tokens - 1)));
    endLag.push(scheduledAt + s.e2eMs - sent[sent.length - 1]);
  }
  const med = (xs) => [...xs].sort((x, y) => x - y)[Math.floor((xs.length - 1) / 2)];
  const tpot = ratios.length > 0 ? `TPOT / true decode interval: median ${med(ratios).toFixed(3)}` : 'TPOT: 0 (one token)';
  console.log(`${name}: ${tokens} output tokens; ${tpot}; E2E end - last chunk sent: median ${med(endLag).toFixed(2)} ms; requests without TTFT: ${ttftMissing}`);
}
client.close();
server.close();
