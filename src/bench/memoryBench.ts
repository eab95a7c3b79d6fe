// `npm run bench:memory`: real `llmbench serve` processes (fp32, int8, int4 of one model) driven by 1 and N
// concurrent requests that each fill a fixed number of tokens of context; reports each server's kernel peak RSS
// (VmHWM) against its weights + allocated KV + a constant, with the server's own memory breakdown.
import { resolveModelDir } from '../model/resolve.js';
import { loadHeldoutText } from '../model/corpusFiles.js';
import { TextTokenizer } from '../engine/tokenizer.js';
import { serverEnv } from '../runners/deployLocal.js';
import { spawnLlmbench } from '../runners/processes.js';
import type { MemoryBreakdown } from '../types.js';

/** One server configuration to measure. */
export interface MemoryBenchVariant {
  label: string;
  quantize: 'int8' | 'int4' | null;
  blockSize: number | null;
  /** Extra `serve` arguments (e.g. --no-mmap). */
  extraArgs: string[];
}

export interface MemoryBenchOptions {
  model: string;
  variants: MemoryBenchVariant[];
  streams: number[];
  /** Tokens each stream holds at the end: prompt + output. */
  contextTokens: number;
  outputTokens: number;
  threads: number;
  maxBatch: number;
  /** The constant in the target: peak RSS <= 1.2 x weights + KV + this. */
  slackBytes: number;
  log: (line: string) => void;
}

/** One measured row. */
export interface MemoryBenchRow {
  label: string;
  streams: number;
  /** Output tokens the server reported, and tokens per second over the requests' wall time. */
  outputTokens: number;
  tokensPerSecond: number;
  /** Breakdown when the KV cache was largest (polled while the streams ran), and at the end. */
  atPeakKv: MemoryBreakdown;
  end: MemoryBreakdown;
  /** 1.2 x weight file bytes + the largest KV allocation seen + slack. */
  targetBytes: number;
}

async function getMemory(url: string): Promise<MemoryBreakdown | null> {
  try {
    const r = await fetch(`${url}/memory`);
    return r.ok ? ((await r.json()) as { breakdown: MemoryBreakdown }).breakdown : null;
  } catch {
    return null;
  }
}

async function complete(url: string, prompt: number[], maxTokens: number): Promise<number> {
  const r = await fetch(`${url}/v1/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ prompt, max_tokens: maxTokens, temperature: 0 }),
  });
  if (r.status !== 200) throw new Error(`completion failed: HTTP ${r.status} ${(await r.text()).slice(0, 200)}`);
  return ((await r.json()) as { usage: { completion_tokens: number } }).usage.completion_tokens;
}

/** Measures every variant at every stream count, each in a fresh server (so VmHWM is that run's peak). */
export async function runMemoryBench(o: MemoryBenchOptions): Promise<MemoryBenchRow[]> {
  const tokenizer = TextTokenizer.load(await resolveModelDir(o.model, o.log));
  const ids = tokenizer.encode(loadHeldoutText().slice(0, 200_000));
  const promptTokens = o.contextTokens - o.outputTokens;
  const rows: MemoryBenchRow[] = [];
  for (const v of o.variants) {
    for (const streams of o.streams) {
      o.log(`${v.label}: ${streams} stream(s) of ${promptTokens} prompt + ${o.outputTokens} output tokens`);
      const args = ['serve', '--model', o.model, '--host', '127.0.0.1', '--port', '0', '--threads', String(o.threads), '--max-batch', String(o.maxBatch), '--max-queue', '64', '--timeout-ms', '0', '--exit-with-parent'];
      if (v.quantize) args.push('--quantize', v.quantize);
      if (v.quantize && v.blockSize) args.push('--block-size', String(v.blockSize));
      args.push(...v.extraArgs);
      const server = await spawnLlmbench({ name: `bench-memory/${v.label}`, role: 'server', args, env: serverEnv(), readyTimeoutMs: 300_000 });
      try {
        const url = server.ready.url;
        let atPeakKv = await getMemory(url);
        let polling = true;
        const poll = (async () => {
          while (polling) {
            const m = await getMemory(url);
            if (m && (!atPeakKv || m.kvAllocatedBytes > atPeakKv.kvAllocatedBytes || (m.kvAllocatedBytes === atPeakKv.kvAllocatedBytes && m.rssBytes > atPeakKv.rssBytes))) atPeakKv = m;
            await new Promise((r) => setTimeout(r, 250));
          }
        })();
        const t0 = performance.now();
        const counts = await Promise.all(
          Array.from({ length: streams }, (_, i) => complete(url, ids.slice(i * 97, i * 97 + promptTokens), o.outputTokens)),
        );
        const wallMs = performance.now() - t0;
        polling = false;
        await poll;
        const end = await getMemory(url);
        if (!end || !atPeakKv) throw new Error(`${v.label}: the server gave no memory breakdown (GET /memory needs Linux /proc)`);
        const outputTokens = counts.reduce((a, b) => a + b, 0);
        const kv = Math.max(atPeakKv.kvAllocatedBytes, end.kvAllocatedBytes);
        rows.push({
          label: v.label,
          streams,
          outputTokens,
          tokensPerSecond: outputTokens / (wallMs / 1000),
          atPeakKv,
          end,
          targetBytes: 1.2 * end.weightFileBytes + kv + o.slackBytes,
        });
      } finally {
        await server.stop(10_000);
      }
    }
  }
  return rows;
}
