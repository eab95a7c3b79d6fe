// A trivial OpenAI-compatible streaming server for client-side benchmarks and checkpoint tests: no model, each
// request streams `chunks` one-word chunks (optionally spaced) and a usage chunk. It measures the client, not
// inference. 127.0.0.1 only.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** Options of the trivial server. */
export interface TrivialServerOptions {
  /** Content chunks per response. */
  chunks: number;
  /** Pause between chunks (0: all in one write burst). */
  chunkDelayMs: number;
  /** Sent as x-llmbench-replica. */
  replica: string;
}

/** A running trivial server. */
export interface TrivialServer {
  url: string;
  /** Completion requests answered so far. */
  served(): number;
  close(): Promise<void>;
}

function chunk(chat: boolean, text: string): string {
  const choice = chat ? { index: 0, delta: { content: text }, finish_reason: null } : { index: 0, text, finish_reason: null };
  return `data: ${JSON.stringify({ choices: [choice] })}\n\n`;
}

/** Starts the server on 127.0.0.1 with a free port. */
export async function startTrivialSseServer(opts: Partial<TrivialServerOptions> = {}): Promise<TrivialServer> {
  const o: TrivialServerOptions = { chunks: 4, chunkDelayMs: 0, replica: 'trivial-0', ...opts };
  let served = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (req.method === 'GET' && req.url === '/v1/models') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ object: 'list', data: [{ id: 'trivial', object: 'model' }] }));
        return;
      }
      const chat = req.url === '/v1/chat/completions';
      if (req.method !== 'POST' || (!chat && req.url !== '/v1/completions')) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { message: `no route ${req.method} ${req.url}` } }));
        return;
      }
      served++;
      res.writeHead(200, { 'content-type': 'text/event-stream', 'x-llmbench-replica': o.replica });
      const usage = `data: ${JSON.stringify({ choices: [], usage: { prompt_tokens: 4, completion_tokens: o.chunks, total_tokens: 4 + o.chunks } })}\n\ndata: [DONE]\n\n`;
      if (o.chunkDelayMs <= 0) {
        let body = '';
        for (let i = 0; i < o.chunks; i++) body += chunk(chat, ` w${i}`);
        res.end(body + usage);
        return;
      }
      let i = 0;
      const step = (): void => {
        if (res.destroyed) return;
        if (i < o.chunks) {
          res.write(chunk(chat, ` w${i++}`));
          setTimeout(step, o.chunkDelayMs);
        } else res.end(usage);
      };
      step();
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    served: () => served,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
