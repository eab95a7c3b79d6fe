// Prints how well a preset's fitted weights model the held-out text: the smoothed bigram model they were
// fitted to, the embedding -> final LayerNorm -> head path alone, and the full model in onnxruntime, all
// on the same next-token predictions. Run after `npx tsc -p .`:
//   node bench/fit-report.mjs [tiny|small|gpt2] [predictions=2048]
import * as ort from 'onnxruntime-node';
import { corpusTokenizer } from '../dist/modelgen/corpusTokenizer.js';
import { bigramLogProb, countBigrams } from '../dist/modelgen/fitBigram.js';
import { embeddingHeadLogits, negLogSoftmax } from '../dist/modelgen/fitForward.js';
import { fitPresetModel } from '../dist/modelgen/fitPreset.js';
import { buildGpt2Model } from '../dist/modelgen/gpt2Graph.js';
import { encodeModel } from '../dist/onnx/builder.js';
import { PRESETS } from '../dist/modelgen/presets.js';

const preset = process.argv[2] ?? 'tiny';
const predictions = Number(process.argv[3] ?? 2048);
const spec = PRESETS[preset];
if (!spec) throw new Error(`unknown preset ${preset}`);

const t0 = performance.now();
const fitted = await fitPresetModel(spec, 42);
const fitMs = performance.now() - t0;
const { config, weights } = fitted;
const Vt = fitted.tokenizerVocabSize;
const tok = corpusTokenizer(spec.tokenizerVocabSize);
const table = countBigrams(tok.trainIds, Vt);

// The embedding-only path over the tokenizer's columns (padded columns sit at -30 and do not matter).
const D = config.nEmbd;
const head = new Float32Array(D * Vt);
for (let k = 0; k < D; k++) head.set(weights.lmHead.subarray(k * config.vocabSize, k * config.vocabSize + Vt), k * Vt);
const narrow = { config: { ...config, vocabSize: Vt }, weights: { ...weights, lmHead: head } };
const cache = new Map();

const session = await ort.InferenceSession.create(encodeModel(buildGpt2Model(config, weights)), { logSeverityLevel: 3 });
const window = Math.min(256, config.nPositions);
let bigram = 0;
let embedding = 0;
let model = 0;
let count = 0;
for (let w = 0; count < predictions; w++) {
  const ids = tok.heldoutIds.slice(w * window, (w + 1) * window);
  if (ids.length < 2) break;
  const T = ids.length;
  const feeds = {
    input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, T]),
    attention_mask: new ort.Tensor('int64', new BigInt64Array(T).fill(1n), [1, T]),
    position_ids: new ort.Tensor('int64', BigInt64Array.from({ length: T }, (_, i) => BigInt(i)), [1, T]),
    num_logits_to_keep: new ort.Tensor('int64', BigInt64Array.from([0n]), []),
  };
  for (let i = 0; i < config.nLayer; i++) {
    for (const kind of ['key', 'value']) feeds[`past_key_values.${i}.${kind}`] = new ort.Tensor('float32', new Float32Array(0), [1, config.nHead, 0, D / config.nHead]);
  }
  const logits = (await session.run(feeds)).logits.data;
  for (let t = 0; t + 1 < T && count < predictions; t++) {
    const next = ids[t + 1];
    bigram -= bigramLogProb(table, ids[t], next);
    let e = cache.get(ids[t]);
    if (e === undefined) cache.set(ids[t], (e = embeddingHeadLogits(narrow.config, narrow.weights, ids[t])));
    embedding += negLogSoftmax(e, 0, Vt, next);
    model += negLogSoftmax(logits, t * config.vocabSize, config.vocabSize, next);
    count++;
  }
}
await session.release();

const line = (name, sum) => `${name.padEnd(34)} ${(sum / count).toFixed(3)} nats  ppl ${Math.exp(sum / count).toFixed(2)}`;
console.log(`${preset}: tokenizer ${Vt} tokens (model vocab ${config.vocabSize}), rank ${fitted.diagnostics.rank}, fit ${fitMs.toFixed(0)} ms`);
console.log(`refinement training loss ${fitted.diagnostics.refineLosses.map((l) => l.toFixed(3)).join(' -> ')}`);
console.log(`held-out, ${count} predictions in windows of ${window}; log V = ${Math.log(Vt).toFixed(2)}`);
console.log(line('smoothed bigram (fit target)', bigram));
console.log(line('embedding -> LN_f -> head only', embedding));
console.log(line('full model (onnxruntime)', model));
