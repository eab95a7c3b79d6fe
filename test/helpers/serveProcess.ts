// A real `llmbench serve` child for tests, started with the product's own spawner (ready line, process group,
// stop), and a streamed chat request read back as parsed SSE chunks.
import { spawnLlmbench, type ManagedProcess } from '../../src/runners/deploy/processes.js';

/** Starts `llmbench serve <args>` on a free port and waits for its ready line. */
export function startServe(args: string[]): Promise<ManagedProcess> {
  return spawnLlmbench({ name: 'test/serve', role: 'server', args: ['serve', '--port', '0', '--exit-with-parent', ...args], readyTimeoutMs: 60_000 });
}

export interface StreamedChat {
  status: number;
  /** `data:` payloads in order, `[DONE]` included. */
  events: string[];
  chunks: Array<{ choices: Array<{ delta?: { content?: string } }>; usage?: { completion_tokens: number } | null }>;
}

/** POSTs a streamed greedy chat completion with a usage chunk and parses what came back. */
export async function streamChat(url: string, content: string, maxTokens: number): Promise<StreamedChat> {
  const r = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ messages: [{ role: 'user', content }], max_tokens: maxTokens, temperature: 0, stream: true, stream_options: { include_usage: true } }),
  });
  const events = (await r.text()).split('\n\n').map((e) => e.trim()).filter((e) => e.startsWith('data: ')).map((e) => e.slice(6));
  const chunks = events.filter((e) => e !== '[DONE]').map((e) => JSON.parse(e) as StreamedChat['chunks'][number]);
  return { status: r.status, events, chunks };
}
