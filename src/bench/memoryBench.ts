// `npm run bench:memory`: real `llmbench serve` processes (fp32, int8, int4 of one model) driven by 1 and N
// concurrent requests that each fill a fixed number of tokens of context; reports each server's kernel peak RSS
// (VmHWM) against its weights + allocated KV + a constant, with the server's own memory breakdown.
import { resolveModelDir } from '../modelgen/resolve.js';
import { loadHeldoutText } from '../modelgen/corpusFiles.js';
import { TextTokenizer } from '../engine/tokenizer.js';
import { serverEnv } from '../runners/deploy/deployLocal.js';
import { spawnLlmbench } from '../runners/deploy/processes.js';
import { sumBreakdowns } from '../report/memorySection.js';
import { resolveQuantizedModelDir } from '../quantize/quantize.js';
import { readModelFolder } from '../onnx/loader.js';
import { ensureMmapLayout } from '../onnx/mmapLayout.js';
import type { MemoryBreakdown } from '../types.js';

const MIB = 1024 * 1024;

/** One server configuration to measure. */
export interface MemoryBenchVariant {
  label: string;
  quantize: 'int8' | 'int4' | null;
  blockSize: number | null;
  /** Extra `serve` arguments (e.g. --no-mmap). */
  extraArgs: string[];
  /** Replicas the streams are spread over (round robin), and where they live: a process each, or one shared. */
  replicas: number;
  replicaMode: 'process' | 'shared';
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
  /** Server processes measured (1 unless replicas run a process each); breakdowns below are summed over them. */
  processes: number;
  /** Breakdown when the KV cache was largest (polled while the streams ran), and at the end. */
  atPeakKv: MemoryBreakdown;
  end: MemoryBreakdown;
  /** Per process 1.2 x weight file bytes + slack, plus the largest KV allocation seen. */
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
  const rows: MemoryBenchRow[] = [];
  for (const v of o.variants) {
    await prepareModel(o, v);
    for (const streams of o.streams) {
      const row = await measureRow(o, v, streams, ids);
      rows.push(row);
      // Each row as it is measured, so a long or interrupted run still shows what it found.
      o.log(`  peak RSS ${(row.end.peakRssBytes / MIB).toFixed(1)} MiB, target ${(row.targetBytes / MIB).toFixed(1)} MiB, ${row.tokensPerSecond.toFixed(1)} output tok/s`);
    }
  }
  return rows;
}

/**
 * Writes what a server would otherwise build while starting (the quantized copy, the page-aligned weights file)
 * in this process, before the measured server starts: a row measures serving, not a one-time conversion (the
 * int8 row once peaked at the quantizer's memory, because its copy was built inside the measured server).
 */
async function prepareModel(o: MemoryBenchOptions, v: MemoryBenchVariant): Promise<void> {
  const dir = v.quantize
    ? await resolveQuantizedModelDir(o.model, v.quantize, { onProgress: o.log, ...(v.blockSize ? { blockSize: v.blockSize } : {}) })
    : await resolveModelDir(o.model, o.log);
  if (!v.extraArgs.includes('--no-mmap')) ensureMmapLayout(readModelFolder(dir).onnxPath, o.log);
}

/** One variant at one stream count, in fresh servers (so VmHWM is this run's peak). */
async function measureRow(o: MemoryBenchOptions, v: MemoryBenchVariant, streams: number, ids: number[]): Promise<MemoryBenchRow> {
  const promptTokens = o.contextTokens - o.outputTokens;
  const shared = v.replicaMode === 'shared' && v.replicas > 1;
  o.log(`${v.label}: ${streams} stream(s) of ${promptTokens} prompt + ${o.outputTokens} output tokens`);
  const args = ['serve', '--model', o.model, '--host', '127.0.0.1', '--port', '0', '--max-batch', String(o.maxBatch), '--max-queue', '64', '--timeout-ms', '0', '--exit-with-parent'];
  if (v.quantize) args.push('--quantize', v.quantize);
  if (v.quantize && v.blockSize) args.push('--block-size', String(v.blockSize));
  // The same CPU threads in both modes: shared runs take turns on replicas x threads.
  args.push('--threads', String(shared ? o.threads * v.replicas : o.threads));
  if (shared) args.push('--replicas', String(v.replicas), '--replica-name', 'replica');
  args.push(...v.extraArgs);
  const count = shared ? 1 : v.replicas;
  const servers = await Promise.all(
    Array.from({ length: count }, (_, i) => spawnLlmbench({ name: `bench-memory/${v.label}/${i}`, role: 'server', args: [...args, ...(shared ? [] : ['--replica-name', `replica-${i}`])], env: serverEnv(), readyTimeoutMs: 300_000 })),
  );
  try {
    const urls = servers.flatMap((s) => s.ready.urls ?? [s.ready.url]);
    // One URL per process for /memory (a shared process answers the same from every replica).
    const memoryUrls = servers.map((s) => s.ready.url);
    const memory = async (): Promise<MemoryBreakdown | null> => {
      const all = await Promise.all(memoryUrls.map(getMemory));
      return all.every((m): m is MemoryBreakdown => m !== null) ? sumBreakdowns(all) : null;
    };
    let atPeakKv = await memory();
    let polling = true;
    const poll = (async () => {
      while (polling) {
        const m = await memory();
        if (m && (!atPeakKv || m.kvAllocatedBytes > atPeakKv.kvAllocatedBytes || (m.kvAllocatedBytes === atPeakKv.kvAllocatedBytes && m.rssBytes > atPeakKv.rssBytes))) atPeakKv = m;
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    const t0 = performance.now();
    const counts = await Promise.all(
      Array.from({ length: streams }, (_, i) => complete(urls[i % urls.length] as string, ids.slice(i * 97, i * 97 + promptTokens), o.outputTokens)),
    );
    const wallMs = performance.now() - t0;
    polling = false;
    await poll;
    const end = await memory();
    if (!end || !atPeakKv) throw new Error(`${v.label}: the server gave no memory breakdown (GET /memory needs Linux /proc)`);
    const outputTokens = counts.reduce((a, b) => a + b, 0);
    const kv = Math.max(atPeakKv.kvAllocatedBytes, end.kvAllocatedBytes);
    return {
      label: v.label,
      streams,
      outputTokens,
      tokensPerSecond: outputTokens / (wallMs / 1000),
      processes: count,
      atPeakKv,
      end,
      targetBytes: count * (1.2 * (end.weightFileBytes / count) + o.slackBytes) + kv,
    };
  } finally {
    await Promise.all(servers.map((s) => s.stop(10_000)));
  }
}
