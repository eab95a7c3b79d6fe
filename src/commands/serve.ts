// `llmbench serve` logic: start the server, print the ready line, serve until asked to stop, drain, return.
import { startInferenceServer } from '../server/inferenceServer.js';
import type { ServeOptions } from '../server/serveOptions.js';

/** Prefix of the one machine-readable stdout line runners wait for. */
export const READY_PREFIX = 'llmbench-ready ';

/** The ready line: `llmbench-ready {"url":...,"urls":[...],"pid":...,"model":...}` (url: the first replica's). */
export function readyLine(urls: readonly string[], pid: number, modelId: string): string {
  return `${READY_PREFIX}${JSON.stringify({ url: urls[0], urls, pid, model: modelId })}\n`;
}

export interface ServeIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Resolves when the server should shut down (SIGTERM, SIGINT, parent gone). */
  stopRequested: Promise<void>;
}

/** Runs one server until `stopRequested`; resolves after the drain. */
export async function runServe(opts: ServeOptions, io: ServeIo): Promise<void> {
  let stop = false;
  void io.stopRequested.then(() => (stop = true));
  const handle = await startInferenceServer(opts, {
    onProgress: (msg) => io.stderr(`${msg}\n`),
    onListening: (url) => io.stderr(`listening on ${url}; loading ${opts.model}${opts.quantize ? ` (${opts.quantize})` : ''} (/health answers 503 until ready)\n`),
  });
  if (!stop) {
    io.stdout(readyLine(handle.urls, process.pid, handle.modelId));
    const where = opts.replicas === 1 ? `${handle.url} (replica ${opts.replicaName}` : `${handle.urls.join(', ')} (${opts.replicas} replicas sharing one copy of the weights`;
    io.stderr(`serving ${handle.modelId} on ${where}, max batch ${opts.maxBatch}, max queue ${opts.maxQueue})\n`);
    await io.stopRequested;
  }
  io.stderr(`shutting down (drain up to ${opts.drainMs} ms)\n`);
  await handle.close();
}
