import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { corpusTokenizer } from '../../src/modelgen/corpusTokenizer.js';
import { bigramLogProb, countBigrams } from '../../src/modelgen/fitBigram.js';
import { forwardLogits, negLogSoftmax } from '../../src/modelgen/fitForward.js';
import { fitPresetModel, type FittedModel } from '../../src/modelgen/fitPreset.js';
import { buildGpt2Model } from '../../src/modelgen/gpt2Graph.js';
import { encodeModel } from '../../src/onnx/builder.js';
import { PRESETS } from '../../src/modelgen/presets.js';

// The fitted tiny model as a real ONNX graph (the project's GPT-2 builder) in onnxruntime: held-out
// perplexity must be close to the bigram model it was fitted to and far below the vocabulary size.
describe('fitted tiny model in onnxruntime', () => {
  let fitted: FittedModel;
  let session: ort.InferenceSession;

  beforeAll(async () => {
    fitted = await fitPresetModel(PRESETS.tiny, 1);
    session = await ort.InferenceSession.create(encodeModel(buildGpt2Model(fitted.config, fitted.weights)), { intraOpNumThreads: 1, logSeverityLevel: 3 });
  });
  afterAll(async () => {
    await session.release();
  });

  async function logitsOf(ids: number[]): Promise<Float32Array> {
    const { nLayer, nHead, nEmbd } = fitted.config;
    const T = ids.length;
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, T]),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(T).fill(1n), [1, T]),
      position_ids: new ort.Tensor('int64', BigInt64Array.from({ length: T }, (_, i) => BigInt(i)), [1, T]),
      num_logits_to_keep: new ort.Tensor('int64', BigInt64Array.from([0n]), []),
    };
    for (let i = 0; i < nLayer; i++) {
      for (const kind of ['key', 'value']) feeds[`past_key_values.${i}.${kind}`] = new ort.Tensor('float32', new Float32Array(0), [1, nHead, 0, nEmbd / nHead]);
    }
    const out = await session.run(feeds);
    return out.logits?.data as Float32Array;
  }

  it('held-out perplexity is within 10% of the bigram perplexity and far below the vocabulary size', async () => {
    const tok = corpusTokenizer(PRESETS.tiny.tokenizerVocabSize);
    const table = countBigrams(tok.trainIds, fitted.tokenizerVocabSize);
    const V = fitted.config.vocabSize;
    const window = fitted.config.nPositions;
    let model = 0;
    let bigram = 0;
    let count = 0;
    for (let w = 0; w < 8; w++) {
      const chunk = tok.heldoutIds.slice(w * window, (w + 1) * window);
      const logits = await logitsOf(chunk);
      for (let t = 0; t + 1 < chunk.length; t++) {
        model += negLogSoftmax(logits, t * V, V, chunk[t + 1] ?? 0);
        bigram -= bigramLogProb(table, chunk[t] ?? 0, chunk[t + 1] ?? 0);
        count++;
      }
    }
    const modelPpl = Math.exp(model / count);
    const bigramPpl = Math.exp(bigram / count);
    // Measured on 2040 held-out predictions: bigram ppl ~18, model ppl ~18.5; V = 512.
    expect(count).toBe(8 * (window - 1));
    expect(modelPpl).toBeLessThan(1.1 * bigramPpl);
    expect(modelPpl).toBeLessThan(V / 10);
  });

  it('onnxruntime and the TypeScript reference forward agree', async () => {
    const ids = corpusTokenizer(PRESETS.tiny.tokenizerVocabSize).heldoutIds.slice(1000, 1064);
    const ort = await logitsOf(ids);
    const ref = forwardLogits(fitted.config, fitted.weights, ids);
    let maxDiff = 0;
    for (let k = 0; k < ref.length; k++) maxDiff = Math.max(maxDiff, Math.abs((ort[k] ?? NaN) - (ref[k] ?? NaN)));
    expect(maxDiff).toBeLessThan(2e-3);
  });
});
