// Memory bandwidth this machine gives a decode step. Two probes:
// - ORT GEMV: x[1,K] times 16 distinct weight matrices (512 MB, far above the L3 cache) in an ORT session
//   like the engine's. Decode at batch 1 is exactly such matrix-vector products, so this is the roofline the
//   runtime can reach here: the primary denominator of decode efficiency.
// - JS read: worker threads summing parts of a 512 MB Float64Array, a plain streaming read of DRAM. It shows
//   what the hardware gives; on this machine MLAS's fp32 GEMV reaches well under it.
// Both are measured right before each decode measurement, because on a shared machine bandwidth drifts.
import { Worker } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { DT, encodeModel, GraphBuilder } from '../onnx/builder.js';
import { median } from '../stats/quantile.js';


export interface ProbeResult {
  bytesPerSecond: number;
  /** Bytes per second of CPU time: immune to the probe being preempted by other processes. */
  bytesPerCpuSecond: number;
  runsMs: number[];
}

/** Wall and CPU time of `runs` calls of `fn`; medians turned into bytes/s for `bytes` per call. */
async function timeRuns(runs: number, bytes: number, fn: () => Promise<unknown>): Promise<ProbeResult> {
  const runsMs: number[] = [];
  const cpuMs: number[] = [];
  for (let r = 0; r < runs; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await fn();
    runsMs.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpuMs.push((c.user + c.system) / 1000);
  }
  return { bytesPerSecond: bytes / (median(runsMs) / 1000), bytesPerCpuSecond: bytes / (median(cpuMs) / 1000), runsMs };
}

/** A probe that can be measured repeatedly (interleaved with the decode it is compared with). */
export interface BandwidthProbe {
  /** Bytes/s over wall time and over this process's CPU time (medians of `runs` timed runs). */
  measure(runs: number): Promise<ProbeResult>;
  dispose(): Promise<void>;
}

/** fp32 matrix-vector products in ORT over 512 MB of distinct weights (distinct, or ORT would share them). */
export async function ortGemvProbe(threads: number): Promise<BandwidthProbe> {
  const K = 1024;
  const N = 8192;
  const mats = 16;
  const g = new GraphBuilder();
  g.input('x', DT.FLOAT, [1, K]);
  for (let i = 0; i < mats; i++) {
    const w = new Float32Array(K * N);
    for (let j = 0; j < w.length; j++) w[j] = ((i * 31 + j) % 13) / 13 - 0.5;
    g.f32(`w${i}`, [K, N], w);
    g.op('MatMul', ['x', `w${i}`], {}, `y${i}`);
    g.output(`y${i}`, DT.FLOAT, [1, N]);
  }
  const bytes = encodeModel({ irVersion: 8, opsetImport: [{ domain: '', version: 17 }], graph: g.graph('gemv') });
  const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'all', intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential' });
  const x = new ort.Tensor('float32', new Float32Array(K).fill(0.5), [1, K]);
  await session.run({ x });
  return {
    measure: (runs) => timeRuns(runs, mats * K * N * 4, () => session.run({ x })),
    dispose: () => session.release(),
  };
}

const SUM_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const a = new Float64Array(workerData.buf, workerData.offset * 8, workerData.length);
parentPort.on('message', () => {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  for (let i = 0; i < a.length; i += 4) { s0 += a[i]; s1 += a[i + 1]; s2 += a[i + 2]; s3 += a[i + 3]; }
  parentPort.postMessage(s0 + s1 + s2 + s3);
});`;

/** `workers` threads each summing its part of a 512 MB Float64Array. */
export async function jsReadProbe(workers: number): Promise<BandwidthProbe> {
  const n = 64 * 1024 * 1024;
  const buf = new SharedArrayBuffer(n * 8);
  new Float64Array(buf).fill(1);
  const per = Math.floor(n / workers / 4) * 4;
  const ws = Array.from({ length: workers }, (_, i) => new Worker(SUM_WORKER, { eval: true, workerData: { buf, offset: i * per, length: per } }));
  const once = (): Promise<void> =>
    Promise.all(
      ws.map(
        (w) =>
          new Promise<void>((resolve) => {
            w.once('message', () => resolve());
            w.postMessage(0);
          }),
      ),
    ).then(() => undefined);
  await once();
  return {
    measure: (runs) => timeRuns(runs, per * workers * 8, once),
    dispose: async () => {
      await Promise.all(ws.map((w) => w.terminate()));
    },
  };
}
