// Shared fixtures for engine tests: the tiny preset built into a temp folder, and variants of it that look
// like older Hugging Face exports (no position_ids, no num_logits_to_keep) or are broken on purpose.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createModel } from '../../src/modelgen/create.js';
import type onnxProto from 'onnx-proto';
import { DT, decodeModel, GraphBuilder, onnx, tensorI64 } from '../../src/onnx/builder.js';

/** A temp root with the tiny preset in `<root>/tiny`; call `cleanup` in afterAll. */
export async function makeTinyModel(seed = 7): Promise<{ root: string; dir: string; cleanup: () => void }> {
  const root = mkdtempSync(join(tmpdir(), 'llmbench-engine-'));
  const dir = join(root, 'tiny');
  await createModel({ preset: 'tiny', seed, outDir: dir });
  return { root, dir, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

/**
 * Copies `srcDir` to `dstDir` with the graph rewritten: `dropNumLogitsToKeep` makes num_logits_to_keep a
 * constant 0 (logits for every position, as older exports); `dropPositionIds` derives positions from the past
 * length inside the graph (as exports without a position_ids input do).
 */
export function writeVariant(srcDir: string, dstDir: string, opts: { dropPositionIds?: boolean; dropNumLogitsToKeep?: boolean }): string {
  cpSync(srcDir, dstDir, { recursive: true });
  const path = join(dstDir, 'onnx', 'model.onnx');
  const model = decodeModel(readFileSync(path));
  const graph = model.graph as onnxProto.onnx.GraphProto;
  if (opts.dropNumLogitsToKeep) {
    graph.input = graph.input.filter((v) => v.name !== 'num_logits_to_keep');
    graph.initializer.push(onnx.TensorProto.create(tensorI64('num_logits_to_keep', [], [0])));
  }
  if (opts.dropPositionIds) {
    graph.input = graph.input.filter((v) => v.name !== 'position_ids');
    const g = new GraphBuilder();
    const idx1 = g.i64('variant_idx1', [1]);
    const idx2 = g.i64('variant_idx2', [2]);
    const one = g.i64('variant_one', [1], []);
    const zero = g.i64('variant_axes0', [0]);
    const past = g.op('Gather', [g.op('Shape', ['past_key_values.0.key'], {}, 'variant_past_shape'), idx2], { axis: 0 }, 'variant_past');
    const seq = g.op('Gather', [g.op('Shape', ['input_ids'], {}, 'variant_ids_shape'), idx1], { axis: 0 }, 'variant_seq');
    const pastS = g.op('Squeeze', [past, zero], {}, 'variant_past_s');
    const end = g.op('Add', [pastS, g.op('Squeeze', [seq, zero], {}, 'variant_seq_s')], {}, 'variant_end');
    g.op('Unsqueeze', [g.op('Range', [pastS, end, one], {}, 'variant_range'), zero], {}, 'position_ids');
    for (const n of g.nodes) n.name = `variant_${n.name ?? ''}`;
    graph.node.unshift(...g.nodes.map((n) => onnx.NodeProto.create(n)));
    graph.initializer.push(...g.initializers.map((t) => onnx.TensorProto.create(t)));
  }
  writeFileSync(path, onnx.ModelProto.encode(model).finish());
  return dstDir;
}

/** A folder with config/tokenizer from `srcDir` and an ONNX graph that has no KV-cache inputs. */
export function writeNoPastModel(srcDir: string, dstDir: string): string {
  cpSync(srcDir, dstDir, { recursive: true });
  const cfg = JSON.parse(readFileSync(join(srcDir, 'config.json'), 'utf8')) as { vocab_size: number };
  const g = new GraphBuilder();
  g.input('input_ids', DT.INT64, ['batch_size', 'sequence_length']);
  g.input('attention_mask', DT.INT64, ['batch_size', 'total_sequence_length']);
  g.f32('emb', [cfg.vocab_size, 4], new Float32Array(cfg.vocab_size * 4));
  g.op('Gather', ['emb', 'input_ids'], { axis: 0 }, 'logits');
  g.output('logits', DT.FLOAT, ['batch_size', 'sequence_length', 4]);
  const bytes = onnx.ModelProto.encode(onnx.ModelProto.create({ irVersion: 8, opsetImport: [{ domain: '', version: 17 }], graph: g.graph('nopast') })).finish();
  writeFileSync(join(dstDir, 'onnx', 'model.onnx'), bytes);
  return dstDir;
}

/** Largest absolute difference between two equally long arrays. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}
