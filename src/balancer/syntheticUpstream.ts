// An OpenAI-shaped SSE server with fixed timing (first token after `ttftMs`, then one chunk every `itlMs`).
// Because its timing is fixed, anything a proxy adds in front of it shows up directly as extra TTFT.
// A request whose path ends in `?instant=1` is answered with no delays (for measuring a proxy's capacity).
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** Timing of the synthetic server's responses. */
export interface SyntheticTiming {
  ttftMs: number;
  itlMs: number;
  /** Content chunks per response (then `[DONE]`). */
  chunks: number;
}

/** Starts the synthetic server on 127.0.0.1; resolves with its URL and a close function. */
export async function startSyntheticUpstream(
  name: string,
  timing: SyntheticTiming,
  port = 0,
): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer({ noDelay: true }, (req, res) => {
    const instant = (req.url ?? '').endsWith('?instant=1');
    const itlMs = instant ? 0 : timing.itlMs;
    const ttftMs = instant ? 0 : timing.ttftMs;
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-llmbench-replica': name });
      res.flushHeaders();
      let sent = 0;
      const send = (): void => {
        if (res.destroyed) return;
        if (sent === timing.chunks) {
          res.end('data: [DONE]\n\n');
          return;
        }
        res.write(`data: {"object":"text_completion","choices":[{"index":0,"text":" tok${sent}","finish_reason":null}]}\n\n`);
        sent += 1;
        if (itlMs > 0) setTimeout(send, itlMs);
        else send();
      };
      if (ttftMs > 0) setTimeout(send, ttftMs);
      else send();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
