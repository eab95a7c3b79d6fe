// Server-Sent Events writer for streamed completions: `data: <json>\n\n` per event, `data: [DONE]` at the end.
// Writes are flushed per event so each token reaches the client as soon as it exists.
import type { ServerResponse } from 'node:http';

/** Writes one SSE stream onto a response whose headers it sends itself. */
export class SseWriter {
  private started = false;
  private done = false;

  constructor(
    private readonly res: ServerResponse,
    private readonly headers: Record<string, string>,
  ) {}

  /** Sends the status line and SSE headers (idempotent). */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.res.writeHead(200, {
      ...this.headers,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    this.res.flushHeaders();
  }

  /** Sends one `data:` event with a JSON payload. */
  send(payload: object): void {
    if (this.done || this.res.destroyed) return;
    this.start();
    this.res.write(`data: ${JSON.stringify(payload)}\n\n`);
  }

  /** Sends `data: [DONE]` and ends the response. */
  end(): void {
    if (this.done) return;
    this.start();
    this.done = true;
    if (this.res.destroyed) return;
    this.res.end('data: [DONE]\n\n');
  }

  get isStarted(): boolean {
    return this.started;
  }
}
