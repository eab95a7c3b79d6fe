// `npm run bench:engine`: decode speed of the engine on the gpt2 preset against this machine's memory
// bandwidth, aggregate throughput at batch 1/4/8, and at long context the split between time inside ORT and
// the whole step. Not a test: numbers are medians of short repeated runs on a shared, noisy machine.
import { availableParallelism, loadavg } from 'node:os';
import * as ort from 'onnxruntime-node';
import { BatchEngine } from '../engine/batchEngine.js';
import { type SlotDecoder } from '../engine/decoder.js';
import { argmax } from '../engine/sampler.js';
import type { Feeds } from '../engine/runner.js';
import { resolveQuantizedModelDir } from '../quantize/quantize.js';
import { resolveModelDir } from '../modelgen/resolve.js';
import { type BandwidthProbe, jsReadProbe, ortGemvProbe } from './bandwidth.js';
import { median } from '../stats/quantile.js';
import { weightTrafficPerToken } from './weightBytes.js';

interface Args {
  model: string;
  threads: number;
  repeats: number;
  quant: string[];
  longContext: number;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { model: 'gpt2', threads: availableParallelism(), repeats: 5, quant: ['int8', 'int4'], longContext: 900 };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i + 1] ?? '';
    if (argv[i] === '--model') a.model = v;
    else if (argv[i] === '--threads') a.threads = Number(v);
    else if (argv[i] === '--repeats') a.repeats = Number(v);
    else if (argv[i] === '--quant') a.quant = v === 'none' ? [] : v.split(',');
    else if (argv[i] === '--long-context') a.longContext = Number(v);
    else continue;
    i++;
  }
  return a;
}

const fmt = (x: number, d = 1): string => x.toFixed(d);
const list = (xs: number[], d = 1): string => xs.map((x) => x.toFixed(d)).join(' ');
const log = (s: string): void => void process.stdout.write(`${s}\n`);

interface StepTimes {
  stepMs: number[];
  ortMs: number[];
  /** CPU time of this process per step (all threads). */
  cpuMs: number[];
}

/** Steady-state decode steps at batch `b` through BatchEngine.step(): wall, ORT and CPU ms per step. */
async function batchSteps(engine: BatchEngine, b: number, steps: number): Promise<StepTimes> {
  const prompt = engine.tokenizer.encode('The history of the city begins with a small market by the river').slice(0, 16);
  for (let i = 0; i < b; i++) {
    engine.add({ id: `b${b}-${i}`, promptIds: prompt, maxTokens: steps + 8, sampling: { temperature: 0, topP: 1, seed: null }, stopTokenIds: [] });
  }
  // Admit and prefill everyone (until a step yields one token per sequence), plus a warm-up step.
  for (let guard = 0; guard < 64; guard++) if ((await engine.step()).length === b && engine.waiting === 0) break;
  await engine.step();
  const t: StepTimes = { stepMs: [], ortMs: [], cpuMs: [] };
  for (let s = 0; s < steps; s++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const o0 = engine.stats.ortMs;
    const ev = await engine.step();
    t.stepMs.push(performance.now() - t0);
    t.ortMs.push(engine.stats.ortMs - o0);
    const c = process.cpuUsage(c0);
    t.cpuMs.push((c.user + c.system) / 1000);
    if (ev.length !== b) throw new Error(`expected ${b} tokens per step, got ${ev.length}`);
  }
  for (let i = 0; i < b; i++) engine.cancel(`b${b}-${i}`);
  return t;
}

/** Decode steps with `b` rows whose cache already holds `past` tokens (filled synthetically: values do not change timing). */
async function longContextSteps(engine: BatchEngine, b: number, past: number, steps: number): Promise<{ stepMs: number[]; ortMs: number[] }> {
  const dec = engine.decoder as SlotDecoder;
  const arena = dec.arena;
  for (let r = 0; r < b; r++) arena.lengths[r] = 0;
  arena.setStride(past + 16);
  for (let r = 0; r < b; r++) arena.lengths[r] = past;
  const runner = engine.session.runner;
  const V = dec.vocabSize;
  let ids = Array.from({ length: b }, (_, i) => 100 + i);
  const stepMs: number[] = [];
  const ortMs: number[] = [];
  for (let s = 0; s < steps + 2; s++) {
    const t0 = performance.now();
    const o0 = runner.stats.runMs;
    const logits = await dec.decode(ids);
    ids = ids.map((_, r) => argmax(logits, r * V, V));
    if (s >= 2) {
      stepMs.push(performance.now() - t0);
      ortMs.push(runner.stats.runMs - o0);
    }
  }
  for (let r = 0; r < b; r++) dec.clearRow(r);
  return { stepMs, ortMs };
}

/** The plain loop the engine replaces: feed past, fetch every `present` (copied out by the binding), swap. */
async function plainLoopSteps(engine: BatchEngine, b: number, past: number, steps: number): Promise<{ stepMs: number[]; ortMs: number[] }> {
  const { info, runner } = engine.session;
  const H = info.numKvHeads;
  const D = info.headDim;
  let kv = new Map<string, ort.Tensor>();
  for (let i = 0; i < info.numLayers; i++) {
    for (const kind of ['key', 'value']) kv.set(`${i}.${kind}`, new ort.Tensor('float32', new Float32Array(b * H * past * D), [b, H, past, D]));
  }
  const fetches = ['logits'];
  for (let i = 0; i < info.numLayers; i++) fetches.push(`present.${i}.key`, `present.${i}.value`);
  const stepMs: number[] = [];
  const ortMs: number[] = [];
  let p = past;
  for (let s = 0; s < steps + 2; s++) {
    const t0 = performance.now();
    const feeds: Feeds = {
      input_ids: new ort.Tensor('int64', new BigInt64Array(b).fill(100n), [b, 1]),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(b * (p + 1)).fill(1n), [b, p + 1]),
    };
    if (info.hasPositionIds) feeds.position_ids = new ort.Tensor('int64', new BigInt64Array(b).fill(BigInt(p)), [b, 1]);
    if (info.hasNumLogitsToKeep) feeds.num_logits_to_keep = new ort.Tensor('int64', BigInt64Array.from([1n]), []);
    for (const [k, t] of kv) feeds[`past_key_values.${k}`] = t;
    const o0 = runner.stats.runMs;
    const out = await runner.run(feeds, fetches);
    const next = new Map<string, ort.Tensor>();
    for (const k of kv.keys()) next.set(k, out[`present.${k}`] as ort.Tensor);
    kv = next;
    p += 1;
    if (s >= 2) {
      stepMs.push(performance.now() - t0);
      ortMs.push(runner.stats.runMs - o0);
    }
  }
  return { stepMs, ortMs };
}

interface Probes {
  /** ORT GEMV and JS read with the engine's thread count, and with one thread. */
  gemv: BandwidthProbe;
  gemv1: BandwidthProbe;
  js: BandwidthProbe;
  js1: BandwidthProbe;
}

/** One batch-1 round: bandwidth probes, then decode, back to back. */
interface Round {
  /** Best wall-clock bandwidth of any probe, bytes/s. */
  wallBw: number;
  /** Bytes per CPU-second of the one-thread probes. */
  cpuBwGemv: number;
  cpuBwJs: number;
  /** ms/token (wall) with N threads and with one thread; CPU ms/token with one thread. */
  msN: number;
  ms1: number;
  cpuMs1: number;
}

async function benchModel(label: string, dir: string, args: Args, probes: Probes): Promise<void> {
  const traffic = weightTrafficPerToken((await import('../onnx/loader.js')).readModelFolder(dir).onnxPath);
  const rss0 = process.memoryUsage().rss;
  const engine = await BatchEngine.load({ modelDir: dir, maxBatch: 8, threads: args.threads, keepPresentOutputs: true });
  // On a shared 2-core machine a second intra-op thread often waits for a core another process holds, so
  // batch 1 is also measured with one thread, whose CPU time is also a preemption-free measure.
  const single = args.threads > 1 ? await BatchEngine.load({ modelDir: dir, maxBatch: 1, threads: 1 }) : engine;
  try {
    log(`\n## ${label}: ${dir}`);
    log(`load ${fmt(engine.session.loadMs / 1000, 2)} s, kv cache: ${engine.session.kvMode}, RSS grew by ${fmt((process.memoryUsage().rss - rss0) / 1e6, 0)} MB on load`);
    log(`weights: ${fmt(traffic.totalBytes / 1e6)} MB in file; read per decode step at batch 1: ${fmt(traffic.perTokenBytes / 1e6)} MB ` +
      `(rows only of ${traffic.gathered.map((g) => g.name).join(', ') || 'no table'})`);
    const rounds: Record<number, { stepMs: number[]; ortMs: number[] }> = { 1: { stepMs: [], ortMs: [] }, 4: { stepMs: [], ortMs: [] }, 8: { stepMs: [], ortMs: [] } };
    const b1: Round[] = [];
    for (let r = 0; r < args.repeats; r++) {
      for (const b of [1, 4, 8]) {
        if (b === 1) {
          // Bandwidth right before the decode it is compared with: on a shared machine it drifts within seconds.
          const g1 = await probes.gemv1.measure(3);
          const j1 = await probes.js1.measure(3);
          const gN = await probes.gemv.measure(3);
          const jN = await probes.js.measure(3);
          const one = await batchSteps(single, 1, 24);
          const m = await batchSteps(engine, 1, 24);
          rounds[1]?.stepMs.push(median(m.stepMs));
          rounds[1]?.ortMs.push(median(m.ortMs));
          b1.push({
            wallBw: Math.max(g1.bytesPerSecond, j1.bytesPerSecond, gN.bytesPerSecond, jN.bytesPerSecond),
            cpuBwGemv: g1.bytesPerCpuSecond,
            cpuBwJs: j1.bytesPerCpuSecond,
            msN: median(m.stepMs),
            ms1: median(one.stepMs),
            cpuMs1: median(one.cpuMs),
          });
        } else {
          const m = await batchSteps(engine, b, 12);
          rounds[b]?.stepMs.push(median(m.stepMs));
          rounds[b]?.ortMs.push(median(m.ortMs));
        }
      }
    }
    const ideal = (bw: number): number => (traffic.perTokenBytes / bw) * 1000;
    const one = rounds[1] as { stepMs: number[]; ortMs: number[] };
    log(`batch 1 decode: ${fmt(median(b1.map((x) => x.msN)), 2)} ms/token with ${args.threads} threads (rounds: ${list(b1.map((x) => x.msN), 2)}), ` +
      `inside ORT ${fmt(median(one.ortMs), 2)} ms; ${fmt(median(b1.map((x) => x.ms1)), 2)} ms/token with 1 thread (rounds: ${list(b1.map((x) => x.ms1), 2)})`);
    log('decode efficiency = (bytes/token / bandwidth) / ms/token, per round:');
    const wallEff: number[] = [];
    const cpuEffGemv: number[] = [];
    const cpuEffJs: number[] = [];
    for (const x of b1) {
      const best = Math.min(x.msN, x.ms1);
      wallEff.push(ideal(x.wallBw) / best);
      cpuEffGemv.push(ideal(x.cpuBwGemv) / x.cpuMs1);
      cpuEffJs.push(ideal(x.cpuBwJs) / x.cpuMs1);
      log(`  wall: best probe ${fmt(x.wallBw / 1e9, 2)} GB/s -> ${fmt(ideal(x.wallBw), 2)} ms ideal / ${fmt(best, 2)} ms = ${fmt((100 * ideal(x.wallBw)) / best)}%` +
        ` | CPU time, 1 thread: ${fmt(x.cpuMs1, 2)} CPU ms/token; ORT GEMV ${fmt(x.cpuBwGemv / 1e9, 2)} GB/CPU-s -> ${fmt((100 * ideal(x.cpuBwGemv)) / x.cpuMs1)}%,` +
        ` JS read ${fmt(x.cpuBwJs / 1e9, 2)} GB/CPU-s -> ${fmt((100 * ideal(x.cpuBwJs)) / x.cpuMs1)}%`);
    }
    log(`decode efficiency, medians of rounds: CPU time (1 thread) ${fmt(100 * median(cpuEffGemv))}% of ORT GEMV, ${fmt(100 * median(cpuEffJs))}% of JS read; ` +
      `wall clock ${fmt(100 * median(wallEff))}% of the best probe`);
    log('| batch | step ms (median) | ORT ms | step/ORT | aggregate tokens/s | rounds (step ms) |');
    log('|---|---|---|---|---|---|');
    for (const b of [1, 4, 8]) {
      const x = rounds[b] as { stepMs: number[]; ortMs: number[] };
      const s = median(x.stepMs);
      const o = median(x.ortMs);
      log(`| ${b} | ${fmt(s, 2)} | ${fmt(o, 2)} | ${fmt(s / o, 3)} | ${fmt((b * 1000) / s)} | ${list(x.stepMs, 1)} |`);
    }
    if (engine.session.kvMode === 'slots') {
      log(`\nlong context (past = ${args.longContext}), decode step = ORT run + cache update + sampling:`);
      log('| batch | way | step ms | ORT ms | step/ORT | tokens/s |');
      log('|---|---|---|---|---|---|');
      for (const b of [1, 4]) {
        const ours: number[][] = [[], []];
        const plain: number[][] = [[], []];
        for (let r = 0; r < args.repeats; r++) {
          const m = await longContextSteps(engine, b, args.longContext, 8);
          ours[0]?.push(median(m.stepMs));
          ours[1]?.push(median(m.ortMs));
          const p = await plainLoopSteps(engine, b, args.longContext, 6);
          plain[0]?.push(median(p.stepMs));
          plain[1]?.push(median(p.ortMs));
        }
        for (const [way, x] of [['engine (slot cache)', ours], ['plain loop (fetch present)', plain]] as const) {
          const s = median(x[0] as number[]);
          const o = median(x[1] as number[]);
          log(`| ${b} | ${way} | ${fmt(s, 1)} | ${fmt(o, 1)} | ${fmt(s / o, 3)} | ${fmt((b * 1000) / s)} |`);
        }
      }
      log('(plain loop: its "ORT ms" includes the binding copying every present tensor into new JS buffers)');
    }
  } finally {
    await engine.dispose();
    if (single !== engine) await single.dispose();
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  log(`# bench:engine (${new Date().toISOString()})`);
  log(`node ${process.version}, onnxruntime-node ${ort.env.versions.common}, ${availableParallelism()} CPUs, threads ${args.threads}, ` +
    `load average ${loadavg().map((x) => x.toFixed(1)).join(' ')} (shared machine: figures are medians of short runs, expect noise)`);
  const dir = await resolveModelDir(args.model, (m) => log(m));
  const probes: Probes = {
    gemv: await ortGemvProbe(args.threads),
    gemv1: await ortGemvProbe(1),
    js: await jsReadProbe(args.threads),
    js1: await jsReadProbe(1),
  };
  log(`bandwidth probes (before each batch-1 round): ORT fp32 GEMV over 512 MB of distinct weights and a JS read of 512 MB, ` +
    `each with ${args.threads} threads and with 1; CPU-time figures use the 1-thread probes and the 1-thread engine`);
  try {
    await benchModel(`${args.model} fp32`, dir, args, probes);
    for (const method of args.quant) {
      const qdir = await resolveQuantizedModelDir(args.model, method, { onProgress: (m) => log(m) });
      await benchModel(`${args.model} ${method}`, qdir, args, probes);
    }
  } finally {
    for (const p of [probes.gemv, probes.gemv1, probes.js, probes.js1]) await p.dispose();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:engine failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
