// splitModel on real generated graphs: where layers, weights and tensors go, that chaining the stage files
// reproduces the unsplit outputs exactly, caching, and the graphs it must refuse.
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ModelError } from '../../src/errors.js';
import { DT, decodeModel, encodeModel, GraphBuilder, type ModelProto } from '../../src/onnx/builder.js';
import { splitGraph } from '../../src/split/splitGraph.js';
import { quantizeModelDir } from '../../src/quantize/quantize.js';
import { splitModel } from '../../src/split/splitModel.js';
import { maxAbsDiff, makeModel, runChained, runWhole, stepFeeds, tempRoot } from './helpers.js';

const root = tempRoot('model');
let tiny = '';
let small = '';
const TINY = { numLayers: 2, heads: 4, headDim: 16 };
const SMALL = { numLayers: 4, heads: 4, headDim: 64 };

beforeAll(async () => {
  tiny = await makeModel(root.dir, 'tiny');
  small = await makeModel(root.dir, 'small');
});
afterAll(() => root.cleanup());

/** Prefill of 5 tokens, then one decode step on the prefill's presents; returns both steps' outputs. */
async function twoSteps(run: (feeds: ReturnType<typeof stepFeeds>) => Promise<Record<string, import('onnxruntime-node').Tensor>>, shape: typeof TINY) {
  const prefill = await run(stepFeeds(shape, [3, 9, 27, 81, 243], 0, null));
  const past = (l: number, kind: 'key' | 'value'): Float32Array => prefill[`present.${l}.${kind}`]?.data as Float32Array;
  const decode = await run(stepFeeds(shape, [7], 5, past));
  return { prefill, decode };
}

describe('splitModel', () => {
  it('puts each layer, its cache and its weights in one stage, and passes only the residual and the mask bias', async () => {
    const r = await splitModel(tiny, { stages: 2 });
    const [s0, s1] = r.manifest.stages;
    expect(r.cached).toBe(false);
    expect(s0?.inputs).toEqual(['input_ids', 'attention_mask', 'position_ids', 'past_key_values.0.key', 'past_key_values.0.value']);
    expect(s0?.outputs).toEqual(['present.0.key', 'present.0.value']);
    expect(s1?.inputs).toEqual(['past_key_values.1.key', 'past_key_values.1.value', 'num_logits_to_keep']);
    expect(s1?.outputs).toEqual(['logits', 'present.1.key', 'present.1.value']);
    // The residual stream and the attention bias; nothing else crosses.
    expect(r.manifest.tensors).toHaveLength(2);
    expect(r.manifest.tensors.every((t) => t.fromStage === 0 && t.toStages.join() === '1' && t.elemType === DT.FLOAT)).toBe(true);
    expect(s1?.receives.sort()).toEqual(r.manifest.tensors.map((t) => t.name).sort());

    const inits = (file: string): string[] => (decodeModel(readFileSync(join(r.dir, file))).graph?.initializer ?? []).map((t) => t.name ?? '');
    const i0 = inits('stage_0.onnx');
    const i1 = inits('stage_1.onnx');
    expect(i0).toContain('transformer.wte.weight');
    expect(i0).toContain('transformer.h.0.attn.c_attn.weight');
    expect(i0.some((n) => n.startsWith('transformer.h.1.') || n.startsWith('lm_head'))).toBe(false);
    expect(i1).toContain('lm_head.weight');
    expect(i1).toContain('transformer.h.1.mlp.c_fc.weight');
    expect(i1.some((n) => n.startsWith('transformer.h.0.') || n.startsWith('transformer.w'))).toBe(false);
    // Only small constants are copied into both stages.
    expect(r.manifest.sharedInitializers.length).toBeGreaterThan(0);
    expect(Math.max(...r.manifest.sharedInitializers.map((s) => s.bytes))).toBeLessThanOrEqual(64);
    const wholeBytes = readFileSync(join(tiny, 'onnx', 'model.onnx')).length;
    expect((s0?.fileBytes ?? 0) + (s1?.fileBytes ?? 0)).toBeLessThan(wholeBytes * 1.02);
    expect(existsSync(join(r.dir, 'tokenizer.json'))).toBe(true);
  });

  it('chained stage files give exactly the unsplit outputs, prefill and decode, for 2 and 3 stages', async () => {
    const whole = await twoSteps((f) => runWhole(join(small, 'onnx', 'model.onnx'), f), SMALL);
    for (const plan of [{ stages: 2 }, { stages: 3 }, { ranges: [[0, 0], [1, 3]] as [number, number][] }]) {
      const r = await splitModel(small, plan);
      const files = r.manifest.stages.map((s) => s.file);
      const split = await twoSteps((f) => runChained(r.dir, files, f), SMALL);
      for (const step of ['prefill', 'decode'] as const) {
        for (const name of r.manifest.outputs) expect(maxAbsDiff(whole[step][name], split[step][name]), `${step} ${name}`).toBe(0);
      }
    }
  });

  it('reuses a split of the same content and re-splits when the plan or the model changes', async () => {
    const a = await splitModel(tiny, { stages: 2 });
    const b = await splitModel(tiny, { ranges: [[0, 0], [1, 1]] });
    expect(b.cached).toBe(true);
    expect(b.dir).toBe(a.dir);
    const c = await splitModel(tiny, { stages: 1 });
    expect(c.dir).not.toBe(a.dir);
    expect(c.manifest.tensors).toEqual([]);
    const copy = join(root.dir, 'tiny-copy');
    copyFolder(tiny, copy, (m) => m);
    const d = await splitModel(copy, { stages: 2 });
    expect(d.cached).toBe(false);
    const modified = join(root.dir, 'tiny-modified');
    copyFolder(tiny, modified, (m) => ({ ...m, producerName: 'someone else' }));
    const e = await splitModel(modified, { stages: 2 });
    expect(e.manifest.source.contentSha256).not.toBe(a.manifest.source.contentSha256);
  });

  it('splits a graph whose weights and nodes carry no layer names, from the cache edges alone', async () => {
    const anon = join(root.dir, 'small-anonymous');
    copyFolder(small, anon, anonymize);
    const whole = await twoSteps((f) => runWhole(join(anon, 'onnx', 'model.onnx'), f), SMALL);
    for (const stages of [2, 4]) {
      const r = await splitModel(anon, { stages });
      const split = await twoSteps((f) => runChained(r.dir, r.manifest.stages.map((s) => s.file), f), SMALL);
      // The same cut as with names (residual stream at each boundary + attention bias), so the same outputs.
      expect(r.manifest.tensors).toHaveLength(stages);
      for (const name of r.manifest.outputs) expect(maxAbsDiff(whole.decode[name], split.decode[name]), `${stages} ${name}`).toBe(0);
      // Still no weight matrix in two stages.
      expect(Math.max(0, ...r.manifest.sharedInitializers.map((s) => s.bytes))).toBeLessThanOrEqual(64);
      expect(r.manifest.stages[0]?.inputs).not.toContain('past_key_values.2.key');
    }
  });

  it('reads a source with external weights and writes large stages with side files', async () => {
    const q = await quantizeModelDir(tiny, 'int4', { outDir: join(root.dir, 'tiny-int4-ext'), externalDataThresholdBytes: 1000 });
    expect(q.externalData).toBe(true);
    const r = await splitModel(q.outDir, { stages: 2 }, { inlineLimitBytes: 1000 });
    for (const st of r.manifest.stages) expect(existsSync(join(r.dir, `${st.file}.data`)), st.file).toBe(true);
    const whole = await twoSteps((f) => runWhole(join(q.outDir, 'onnx', 'model.onnx'), f), TINY);
    const split = await twoSteps((f) => runChained(r.dir, r.manifest.stages.map((st) => st.file), f), TINY);
    for (const name of r.manifest.outputs) expect(maxAbsDiff(whole.decode[name], split.decode[name]), name).toBe(0);
  });

  it('asks onnxruntime for the type of a crossing tensor made by an operator its rules do not know', async () => {
    const odd = join(root.dir, 'tiny-shrink');
    copyFolder(tiny, odd, (m) => {
      const nodes = [...(m.graph?.node ?? [])];
      const ln = nodes.findIndex((n) => n.input?.[1] === 'transformer.h.1.ln_1.weight');
      const x = nodes[ln]?.input?.[0] ?? '';
      // Shrink with lambd = bias = 0 is the identity, and not in the splitter's type rules.
      const rewired = nodes.map((n) => ({ ...n, input: (n.input ?? []).map((t) => (t === x ? 'x_shrunk' : t)) }));
      rewired.splice(ln, 0, { opType: 'Shrink', name: 'odd_op', input: [x], output: ['x_shrunk'], attribute: [{ name: 'lambd', type: 1, f: 0 }, { name: 'bias', type: 1, f: 0 }] });
      return { ...m, graph: { ...m.graph, node: rewired } };
    });
    const r = await splitModel(odd, { stages: 2 });
    expect(r.manifest.tensors.find((t) => t.name === 'x_shrunk')?.elemType).toBe(DT.FLOAT);
    const whole = await twoSteps((f) => runWhole(join(odd, 'onnx', 'model.onnx'), f), TINY);
    const split = await twoSteps((f) => runChained(r.dir, r.manifest.stages.map((st) => st.file), f), TINY);
    for (const name of r.manifest.outputs) expect(maxAbsDiff(whole.decode[name], split.decode[name]), name).toBe(0);
  });

  it('refuses folders and graphs it cannot split, saying why', async () => {
    await expect(splitModel(tiny, { stages: 3 })).rejects.toThrow('split: 3 stages for a model with 2 layers');
    await expect(splitModel(join(root.dir, 'nowhere'), { stages: 2 })).rejects.toBeInstanceOf(ModelError);

    const noCache = new GraphBuilder();
    noCache.input('input_ids', DT.INT64, ['b', 's']);
    noCache.op('Identity', ['input_ids'], {}, 'logits');
    noCache.output('logits', DT.INT64, ['b', 's']);
    expect(() => splitGraph(model(noCache), [{ firstLayer: 0, lastLayer: 0 }], 'm.onnx')).toThrow('m.onnx: cannot split: the graph has no past_key_values.{i}.key|value inputs');

    const branchy = decoderShell(2);
    branchy.nodes.push({ opType: 'If', name: 'merged_branch', input: ['cond'], output: ['x'], attribute: [{ name: 'then_branch', type: 5, g: { name: 'then' } }] });
    expect(() => splitGraph(model(branchy), [{ firstLayer: 0, lastLayer: 0 }, { firstLayer: 1, lastLayer: 1 }], 'm.onnx')).toThrow('cannot split: node merged_branch (If) has a subgraph');

    const crossed = decoderShell(2);
    // Layer 0's present computed from layer 1's past: not a sequence of layers.
    crossed.op('Identity', ['past_key_values.1.key'], {}, 'from_layer_1');
    crossed.op('Add', ['past_key_values.0.key', 'from_layer_1'], {}, 'present.0.key');
    expect(() => splitGraph(model(crossed), [{ firstLayer: 0, lastLayer: 0 }, { firstLayer: 1, lastLayer: 1 }], 'm.onnx')).toThrow('depends on layer 1');
  });
});

/** A graph with the decoder's cache inputs/outputs wired straight through (present.0.key left to the caller). */
function decoderShell(layers: number): GraphBuilder {
  const g = new GraphBuilder();
  for (let i = 0; i < layers; i++) {
    for (const kind of ['key', 'value']) {
      g.input(`past_key_values.${i}.${kind}`, DT.FLOAT, ['b', 2, 'p', 4]);
      g.output(`present.${i}.${kind}`, DT.FLOAT, ['b', 2, 't', 4]);
      if (!(i === 0 && kind === 'key')) g.op('Identity', [`past_key_values.${i}.${kind}`], {}, `present.${i}.${kind}`);
    }
  }
  return g;
}

function model(g: GraphBuilder): ModelProto {
  return { irVersion: 8, opsetImport: [{ domain: '', version: 17 }], graph: g.graph('t') };
}

/** Renames every initializer and node to names that say nothing about layers (like `onnx::MatMul_123`). */
function anonymize(m: ModelProto): ModelProto {
  const graph = m.graph ?? {};
  const rename = new Map((graph.initializer ?? []).map((t, i) => [t.name ?? '', `onnx::W_${i}`]));
  return {
    ...m,
    graph: {
      ...graph,
      initializer: (graph.initializer ?? []).map((t) => ({ ...t, name: rename.get(t.name ?? '') })),
      node: (graph.node ?? []).map((n, i) => ({ ...n, name: `node_${i}`, input: (n.input ?? []).map((x) => rename.get(x) ?? x) })),
    },
  };
}

function copyFolder(from: string, to: string, edit: (m: ModelProto) => ModelProto): void {
  mkdirSync(join(to, 'onnx'), { recursive: true });
  for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json']) copyFileSync(join(from, f), join(to, f));
  writeFileSync(join(to, 'onnx', 'model.onnx'), encodeModel(edit(decodeModel(readFileSync(join(from, 'onnx', 'model.onnx'))))));
}
