// One variant of `npm run bench:quant`, in its own process so its memory is its own: loads the model with
// the engine (as the server does), times prefill and decode at batch 1 and at batch N, and prints one JSON
// line with the timings and the kernel's peak RSS (VmHWM) of this process.
import { BatchEngine } from '../engine/batchEngine.js';
import { generate } from '../engine/generate.js';
import { loadHeldoutText } from '../modelgen/corpusFiles.js';
import { isMainModule } from '../sys/mainModule.js';
import { requireProcStatus } from '../sys/procStatus.js';

/** What the parent asks for. */
export interface BenchChildRequest {
  dir: string;
  promptTokens: number;
  decodeTokens: number;
  batch: number;
  /** Batch-1 generations timed (median taken by the parent over all of them). */
  runs: number;
  threads: number | null;
}

/** What the child reports. */
export interface BenchChildResult {
  dir: string;
  sessionCreateMs: number;
  /** Prompt of promptTokens tokens up to the first output token, batch 1. */
  prefillMs: number[];
  decodeMsPerTokenB1: number[];
  /** Wall time of decode-only engine steps with all `batch` sequences running (one token each). */
  decodeStepMsBatch: number[];
  rssAfterLoadBytes: number;
  rssEndBytes: number;
  peakRssBytes: number;
}

/** Full GC when node runs with --expose-gc (the parent starts children that way). */
function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

async function run(req: BenchChildRequest): Promise<BenchChildResult> {
  const engine = await BatchEngine.load({ modelDir: req.dir, maxBatch: req.batch, threads: req.threads });
  // Garbage from loading (the file bytes the engine read) is not server memory: collect it before measuring.
  collectGarbage();
  const rssAfterLoadBytes = requireProcStatus().rssBytes;
  const text = loadHeldoutText();
  const ids = engine.tokenizer.encode(text.slice(0, req.promptTokens * 8 * (req.batch + 1)));
  const prompt = ids.slice(0, req.promptTokens);
  const sampling = { temperature: 0, topP: 1, seed: null };
  // Warm-up: first runs allocate arenas and pick kernels.
  await generate(engine, prompt.slice(0, 16), { maxTokens: 4, stopTokenIds: [] });

  const prefillMs: number[] = [];
  const decodeMsPerTokenB1: number[] = [];
  for (let r = 0; r < req.runs; r++) {
    const g = await generate(engine, prompt, { maxTokens: req.decodeTokens, stopTokenIds: [] });
    prefillMs.push(g.prefillMs);
    decodeMsPerTokenB1.push(g.decodeMsPerToken);
  }

  // Batch N: N prompts of 32 tokens, all decoding together; only steps without prefill work are timed.
  const decodeStepMsBatch: number[] = [];
  for (let b = 0; b < req.batch; b++) {
    engine.add({ id: `b${b}`, promptIds: ids.slice(b * 32, b * 32 + 32), maxTokens: req.decodeTokens, sampling, stopTokenIds: [] });
  }
  for (let guard = 0; engine.running + engine.waiting > 0 && guard < 10_000; guard++) {
    const prefillBefore = engine.stats.prefillTokens;
    const full = engine.running === req.batch && engine.waiting === 0;
    const t0 = performance.now();
    await engine.step();
    const ms = performance.now() - t0;
    if (full && engine.stats.prefillTokens === prefillBefore && engine.running === req.batch) decodeStepMsBatch.push(ms);
  }
  collectGarbage();
  const end = requireProcStatus();
  const sessionCreateMs = engine.session.loadMs;
  await engine.dispose();
  return { dir: req.dir, sessionCreateMs, prefillMs, decodeMsPerTokenB1, decodeStepMsBatch, rssAfterLoadBytes, rssEndBytes: end.rssBytes, peakRssBytes: end.peakRssBytes };
}

const arg = process.argv[2];
if (arg && isMainModule(import.meta.url)) {
  const result = await run(JSON.parse(arg) as BenchChildRequest);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
