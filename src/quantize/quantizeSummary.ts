// Renders a quantization summary as the lines `llmbench quantize` prints (pure: returns a string).
import type { QuantizeSummary } from './quantize.js';

/** Megabytes with one decimal. */
export function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/** Human-readable summary: what was rewritten, what was skipped and why, sizes before and after. */
export function formatQuantizeSummary(s: QuantizeSummary): string {
  const opts =
    s.blockSize === null
      ? ''
      : ` (block size ${s.blockSize}, ${s.symmetric ? 'symmetric' : 'asymmetric with zero points'}, accuracy_level ${s.accuracyLevel}${s.embeddings ? ', embeddings quantized' : ', float embeddings'})`;
  const lines = [
    `quantized ${s.srcDir}${s.variant !== null ? ` (${s.srcOnnxFile})` : ''} -> ${s.outDir}: ${s.method}${opts}, ${(s.elapsedMs / 1000).toFixed(2)} s`,
    `  MatMuls rewritten: ${s.rewritten}`,
  ];
  if (s.weightRange) lines.push(`  int8 weight range: ${s.weightRange.used} (${s.weightRange.reason})`);
  if (s.embeddings) lines.push(`  embedding Gathers rewritten (GatherBlockQuantized): ${s.gathersRewritten}`);
  const reasons = new Map<string, string[]>();
  for (const k of s.skipped) reasons.set(k.reason, [...(reasons.get(k.reason) ?? []), k.node]);
  lines.push(`  skipped:           ${s.skipped.length}${s.skipped.length ? '' : ' (none)'}`);
  for (const [reason, nodes] of reasons) {
    const shown = nodes.slice(0, 3).join(', ') + (nodes.length > 3 ? `, ... (${nodes.length - 3} more)` : '');
    lines.push(`    ${nodes.length} x ${reason}: ${shown}`);
  }
  if (s.keptShared.length) lines.push(`  float weights kept because other nodes still read them: ${s.keptShared.join(', ')}`);
  const pct = (a: number, b: number): string => (b > 0 ? `${((a / b) * 100).toFixed(1)}%` : 'n/a');
  lines.push(`  weight bytes: ${mb(s.weightBytesBefore)} -> ${mb(s.weightBytesAfter)} (${pct(s.weightBytesAfter, s.weightBytesBefore)})`);
  lines.push(`  file bytes:   ${mb(s.fileBytesBefore)} -> ${mb(s.fileBytesAfter)} (${pct(s.fileBytesAfter, s.fileBytesBefore)})${s.externalData ? ', with external data' : ''}`);
  if (s.method === 'fp16') lines.push('  note: fp16 weights are widened by a Cast; on CPU onnxruntime folds it at load, so the file halves but memory does not.');
  return `${lines.join('\n')}\n`;
}
