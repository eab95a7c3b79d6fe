// ORT memory probe for `npm run bench:quant`, in its own process: opens a model straight from its file with
// one set of session options (prepacking, CPU arena), runs a short prompt and a few cached decode steps,
// and prints one JSON line with load time, RSS and decode time. Finds onnxruntime's own overheads (a second,
// prepacked copy of the weights; arena growth) apart from the engine's.
import * as ort from 'onnxruntime-node';
import { readModelFolder } from '../onnx/loader.js';
import { isMainModule } from '../sys/mainModule.js';
import { requireProcStatus } from '../sys/procStatus.js';

/** One probe configuration. */
export interface ProbeRequest {
  dir: string;
  label: string;
  disablePrepacking: boolean;
  cpuArena: boolean;
  decodeSteps: number;
}

/** What a probe measured. */
export interface ProbeResult {
  label: string;
  dir: string;
  createMs: number;
  rssAfterLoadBytes: number;
  peakAfterLoadBytes: number;
  decodeMsMedian: number;
  rssEndBytes: number;
  peakRssBytes: number;
}

async function probe(req: ProbeRequest): Promise<ProbeResult> {
  const info = readModelFolder(req.dir);
  const opts: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: 'all',
    enableCpuMemArena: req.cpuArena,
    logSeverityLevel: 3,
    extra: { session: { disable_prepacking: req.disablePrepacking ? '1' : '0' } },
  };
  const t0 = performance.now();
  const session = await ort.InferenceSession.create(info.onnxPath, opts);
  const createMs = performance.now() - t0;
  const afterLoad = requireProcStatus();
  const names = new Set(session.inputNames);
  const i64 = (a: number[], dims: number[]): ort.Tensor => new ort.Tensor('int64', BigInt64Array.from(a.map((x) => BigInt(x))), dims);
  let past: Record<string, ort.Tensor> | null = null;
  let pastLen = 0;
  const step = async (ids: number[]): Promise<void> => {
    const S = ids.length;
    const feeds: Record<string, ort.Tensor> = {
      input_ids: i64(ids, [1, S]),
      attention_mask: i64(new Array<number>(pastLen + S).fill(1), [1, pastLen + S]),
    };
    if (names.has('position_ids')) feeds.position_ids = i64(ids.map((_, i) => pastLen + i), [1, S]);
    if (names.has('num_logits_to_keep')) feeds.num_logits_to_keep = new ort.Tensor('int64', new BigInt64Array([1n]), []);
    for (let l = 0; l < info.numLayers; l++) {
      for (const kv of ['key', 'value']) {
        feeds[`past_key_values.${l}.${kv}`] = past?.[`present.${l}.${kv}`] ?? new ort.Tensor('float32', new Float32Array(0), [1, info.numKvHeads, 0, info.headDim]);
      }
    }
    past = (await session.run(feeds)) as Record<string, ort.Tensor>;
    pastLen += S;
  };
  await step(Array.from({ length: 64 }, (_, i) => (i * 7 + 3) % Math.min(256, info.vocabSize)));
  const times: number[] = [];
  for (let i = 0; i < req.decodeSteps; i++) {
    const t = performance.now();
    await step([(i * 13 + 5) % Math.min(256, info.vocabSize)]);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const end = requireProcStatus();
  await session.release();
  return {
    label: req.label,
    dir: req.dir,
    createMs,
    rssAfterLoadBytes: afterLoad.rssBytes,
    peakAfterLoadBytes: afterLoad.peakRssBytes,
    decodeMsMedian: times[Math.floor(times.length / 2)] ?? Number.NaN,
    rssEndBytes: end.rssBytes,
    peakRssBytes: end.peakRssBytes,
  };
}

const arg = process.argv[2];
if (arg && isMainModule(import.meta.url)) process.stdout.write(`${JSON.stringify(await probe(JSON.parse(arg) as ProbeRequest))}\n`);
