// model.variant / --variant: picking onnx/model_<variant>.onnx in a transformers.js-style folder, and the errors
// that list what a folder offers when the choice is ambiguous or missing.
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchEngine } from '../../src/engine/batchEngine.js';
import { writeLlamaFixture } from '../../src/modelgen/llamaFixture.js';
import { listVariants, readModelFolder } from '../../src/onnx/loader.js';
import { startInferenceServer } from '../../src/server/inferenceServer.js';
import { resolveServeOptions } from '../../src/server/serveOptions.js';
import { parseStagesOption } from '../../src/engine/staged/stagedOptions.js';
import { readStagesManifest } from '../../src/split/splitManifest.js';

let root: string;
let both: string;
let onlyVariants: string;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'llmbench-variants-'));
  // fp32 onnx/model.onnx and fp16 onnx/model_fp16.onnx in one folder, as transformers.js repos ship them.
  both = (await writeLlamaFixture({ outDir: join(root, 'both'), dtype: 'float32' })).dir;
  const f16 = await writeLlamaFixture({ outDir: join(root, 'f16'), dtype: 'float16' });
  copyFileSync(join(f16.dir, f16.onnxFile), join(both, 'onnx', 'model_fp16.onnx'));
  // Only variants, no model.onnx: fp16 and a second name for the same file.
  onlyVariants = f16.dir;
  copyFileSync(join(f16.dir, 'onnx', 'model_fp16.onnx'), join(f16.dir, 'onnx', 'model_q4f16.onnx'));
}, 60_000);

afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Completion tokens a served model returns for a 3-token greedy request (fails the test on a non-200). */
async function completionTokens(url: string): Promise<number> {
  const r = await fetch(`${url}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: [5, 6, 7], max_tokens: 3, temperature: 0, ignore_eos: true }) });
  expect(r.status).toBe(200);
  return ((await r.json()) as { usage: { completion_tokens: number } }).usage.completion_tokens;
}

describe('--variant', () => {
  it('picks onnx/model_<variant>.onnx; no variant or fp32 is onnx/model.onnx', () => {
    expect(listVariants(both)).toEqual(['fp16']);
    expect(readModelFolder(both).onnxPath).toBe(join(both, 'onnx', 'model.onnx'));
    expect(readModelFolder(both, 'fp32').onnxPath).toBe(join(both, 'onnx', 'model.onnx'));
    expect(readModelFolder(both, 'fp16').onnxPath).toBe(join(both, 'onnx', 'model_fp16.onnx'));
  });

  it('a missing variant is an error listing the folder\'s variants', () => {
    expect(() => readModelFolder(both, 'q4')).toThrow(/no variant "q4"/);
    try {
      readModelFolder(both, 'q4');
    } catch (e) {
      expect((e as { hint: string }).hint).toBe('Variants in this folder: fp32 (onnx/model.onnx), fp16.');
    }
  });

  it('several variants without model.onnx: an error that asks for --variant and lists them', () => {
    expect(() => readModelFolder(onlyVariants)).toThrow(/several ONNX variants/);
    try {
      readModelFolder(onlyVariants);
    } catch (e) {
      expect((e as { hint: string }).hint).toBe('Pick one with --variant (model.variant in a scenario): fp16, q4f16.');
    }
    expect(readModelFolder(onlyVariants, 'q4f16').onnxPath).toBe(join(onlyVariants, 'onnx', 'model_q4f16.onnx'));
    unlinkSync(join(onlyVariants, 'onnx', 'model_q4f16.onnx'));
    expect(readModelFolder(onlyVariants).onnxPath).toBe(join(onlyVariants, 'onnx', 'model_fp16.onnx'));
  });

  it('the engine loads the chosen variant (the fp16 graph has a float16 KV cache) and generates', async () => {
    for (const [variant, kv] of [['fp16', 'float16'], [null, 'float32']] as const) {
      const engine = await BatchEngine.load({ modelDir: both, maxBatch: 1, threads: 1, variant });
      try {
        expect(engine.info.kvDtype).toBe(kv);
        engine.add({ id: 'a', promptIds: [5, 6, 7], maxTokens: 4, stopTokenIds: [], sampling: { temperature: 0, topP: 1, seed: null } });
        let n = 0;
        while (engine.running + engine.waiting > 0) n += (await engine.step()).length;
        expect(n).toBe(4);
      } finally {
        await engine.dispose();
      }
    }
  }, 60_000);

  it('a server started with --variant fp16 serves the float16 graph', async () => {
    const h = await startInferenceServer(resolveServeOptions({ model: both, port: 0, threads: 1, maxBatch: 1, variant: 'fp16' }));
    try {
      expect(h.state.model?.info.kvDtype).toBe('float16');
      expect(await completionTokens(h.url)).toBe(3);
    } finally {
      await h.close();
    }
  }, 60_000);

  it('--variant with --stages splits the chosen file: the stages run the float16 graph', async () => {
    // A cache of its own, so the split found below is the one this server built.
    const cache = join(root, 'cache-stages');
    const before = process.env.LLMBENCH_CACHE;
    process.env.LLMBENCH_CACHE = cache;
    try {
      const h = await startInferenceServer(resolveServeOptions({ model: both, port: 0, threads: 1, maxBatch: 1, variant: 'fp16', stages: parseStagesOption('2') }));
      try {
        expect(h.state.model?.info.kvDtype).toBe('float16');
        expect(h.state.model?.info.onnxPath).toBe(join(both, 'onnx', 'model_fp16.onnx'));
        // The one split built came from the fp16 file.
        const splits = readdirSync(join(cache, 'splits'));
        expect(splits).toHaveLength(1);
        expect(readStagesManifest(join(cache, 'splits', splits[0] as string)).source.onnxFile).toBe(join('onnx', 'model_fp16.onnx'));
        expect(await completionTokens(h.url)).toBe(3);
      } finally {
        await h.close();
      }
    } finally {
      if (before === undefined) delete process.env.LLMBENCH_CACHE;
      else process.env.LLMBENCH_CACHE = before;
    }
  }, 120_000);

  it('serve options refuse a malformed variant', () => {
    expect(() => resolveServeOptions({ model: both, variant: '../x' })).toThrow(/--variant: letters and digits only/);
  });

  it('--variant with --quantize quantizes the chosen file, not onnx/model.onnx, and serves the copy', async () => {
    const h = await startInferenceServer(resolveServeOptions({ model: both, port: 0, threads: 1, maxBatch: 1, variant: 'fp16', quantize: 'int8' }));
    try {
      const served = h.state.model?.info;
      // The fp16 graph's float16 KV cache survives int8 quantization; onnx/model.onnx would have given float32.
      expect(served?.kvDtype).toBe('float16');
      const q = JSON.parse(readFileSync(join(dirname(dirname(served?.onnxPath as string)), 'llmbench_quantization.json'), 'utf8')) as { method: string; variant: string; srcOnnxFile: string };
      expect(q.method).toBe('int8');
      expect(q.variant).toBe('fp16');
      expect(q.srcOnnxFile).toBe(join('onnx', 'model_fp16.onnx'));
      expect(await completionTokens(h.url)).toBe(3);
    } finally {
      await h.close();
    }
  }, 120_000);
});
