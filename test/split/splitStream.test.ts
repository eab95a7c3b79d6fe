// splitModel reads the graph without its weights and copies them from the source into the stage files one by
// one; the stage files are byte for byte what splitting the fully decoded model in memory writes, with and
// without the engine's byte rewrite, from inline and external-data sources.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DT, encodeModel } from '../../src/onnx/builder.js';
import { patchDecoderBytes, type PatchSpec } from '../../src/onnx/graphPatch.js';
import { readModelFolder } from '../../src/onnx/loader.js';
import { inlineExternalData } from '../../src/onnx/tensorData.js';
import { quantizeModelDir } from '../../src/quantize/quantize.js';
import { decodeModelMerged } from '../../src/split/splitDecode.js';
import { splitGraph } from '../../src/split/splitGraph.js';
import { resolveSplitPlan } from '../../src/split/splitPlan.js';
import { splitModel } from '../../src/split/splitModel.js';
import { makeModel, tempRoot } from './helpers.js';

const root = tempRoot('split-stream');
let tiny = '';
let extInt4 = '';

beforeAll(async () => {
  tiny = await makeModel(root.dir, 'tiny');
  extInt4 = (await quantizeModelDir(tiny, 'int4', { outDir: join(root.dir, 'tiny-int4-ext'), externalDataThresholdBytes: 0 })).outDir;
});
afterAll(() => root.cleanup());

/** Stage files as the in-memory split writes them: the whole model decoded, weights inlined, each stage encoded. */
function inMemoryStages(dir: string, stages: number, transform?: (b: Uint8Array) => Uint8Array): Uint8Array[] {
  const info = readModelFolder(dir);
  const raw = readFileSync(info.onnxPath);
  const model = decodeModelMerged(transform ? transform(raw) : raw, info.onnxPath);
  inlineExternalData(model.graph?.initializer ?? [], dirname(info.onnxPath));
  return splitGraph(model, resolveSplitPlan({ stages }, info.numLayers), info.onnxPath).stages.map((st) => encodeModel(st.model));
}

const patch: PatchSpec = { numLayers: 2, numKvHeads: 4, headDim: 16, kvElemType: DT.FLOAT, addNewKv: true, addLastLogits: true };

describe('splitModel streams weights', () => {
  for (const [label, withPatch] of [
    ['plain', false],
    ['with the engine patch appended to the bytes', true],
  ] as const) {
    it(`${label}: stage files equal the in-memory split, inline and external-data sources`, async () => {
      const apply = (b: Uint8Array): Uint8Array => patchDecoderBytes(b, patch);
      for (const dir of [tiny, extInt4]) {
        const r = await splitModel(dir, { stages: 2 }, { outDir: join(root.dir, `split-${withPatch}-${dir === tiny ? 'tiny' : 'ext'}`), transform: withPatch ? { key: 'patch', apply } : undefined });
        const expected = inMemoryStages(dir, 2, withPatch ? apply : undefined);
        expect(r.manifest.stages.length).toBe(2);
        r.manifest.stages.forEach((st, i) => {
          const got = readFileSync(join(r.dir, st.file));
          const want = expected[i] as Uint8Array;
          expect(got.length, `${dir} ${st.file}`).toBe(want.length);
          expect(Buffer.compare(got, Buffer.from(want)), `${dir} ${st.file}`).toBe(0);
          // The manifest counts the weights a stage carries though they were never in memory.
          expect(st.initializerBytes).toBeGreaterThan(10_000);
        });
      }
    });
  }
});
