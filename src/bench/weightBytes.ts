// Bytes of weights one decode step reads: every initializer in full, except tables that are only indexed by
// Gather or GatherBlockQuantized (token and position embeddings; for the latter also scales and zero points), of which a
// step at batch 1 touches one row each.
import { readFileSync } from 'node:fs';
import { decodeModel } from '../onnx/builder.js';

/** Weight traffic of one batch-1 decode step. */
export interface WeightTraffic {
  /** All initializer bytes in the file. */
  totalBytes: number;
  /** Bytes read per decode step at batch 1. */
  perTokenBytes: number;
  /** Tables counted by rows: name, full bytes, bytes of one row. */
  gathered: Array<{ name: string; bytes: number; rowBytes: number }>;
}

const ELEM_BYTES: Record<number, number> = { 1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8, 16: 2, 21: 0.5, 22: 0.5 };

/** Reads the ONNX file and sums the bytes a decode step touches. */
export function weightTrafficPerToken(onnxPath: string): WeightTraffic {
  const model = decodeModel(readFileSync(onnxPath));
  const graph = model.graph;
  if (!graph) throw new Error(`${onnxPath}: no graph`);
  const consumers = new Map<string, Array<{ op: string; slot: number }>>();
  for (const n of graph.node ?? []) {
    (n.input ?? []).forEach((name, slot) => {
      const list = consumers.get(name) ?? [];
      list.push({ op: n.opType ?? '', slot });
      consumers.set(name, list);
    });
  }
  let totalBytes = 0;
  let perTokenBytes = 0;
  const gathered: WeightTraffic['gathered'] = [];
  for (const t of graph.initializer ?? []) {
    const dims = (t.dims ?? []).map(Number);
    const count = dims.reduce((a, d) => a * d, 1);
    const bytes = t.rawData && t.rawData.length > 0 ? t.rawData.length : count * (ELEM_BYTES[t.dataType ?? 1] ?? 4);
    totalBytes += bytes;
    const name = t.name ?? '';
    const uses = consumers.get(name) ?? [];
    const rowIndexed = (u: { op: string; slot: number }): boolean => (u.op === 'Gather' && u.slot === 0) || (u.op === 'GatherBlockQuantized' && u.slot !== 1);
    const onlyGathered = uses.length > 0 && uses.every(rowIndexed) && dims.length >= 2;
    if (onlyGathered) {
      const rowBytes = bytes / (dims[0] as number);
      gathered.push({ name, bytes, rowBytes });
      perTokenBytes += rowBytes;
    } else {
      perTokenBytes += bytes;
    }
  }
  return { totalBytes, perTokenBytes, gathered };
}
