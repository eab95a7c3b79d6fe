// report.md's device placement section (pure): where onnxruntime put each server's nodes, from its own
// verbose log, for pipelines where the check ran (GPU devices by default, or serve --placement-check on).
import { describePlacement } from '../engine/placementLog.js';
import type { ResultFile } from '../types.js';

/** The section, or '' when no pipeline was checked. */
export function placementSection(result: ResultFile): string {
  const rows: string[] = [];
  for (const p of result.pipelines) {
    for (const { process, placement } of p.placement ?? []) {
      rows.push(`| ${p.name} | ${process} | ${placement.requested} | ${placement.cpuFallbackNodes} | ${describePlacement(placement)} |`);
    }
  }
  if (rows.length === 0) return '';
  return [
    '## Device placement',
    '',
    "Where onnxruntime placed each server's nodes, read from its verbose log in a separate process that opened the same model",
    "file with the same providers (llmbench's own few patch nodes are not in it).",
    '',
    '| Pipeline | Server process | Requested | Nodes on CPU instead | Placement |',
    '|---|---|---|---:|---|',
    ...rows,
  ].join('\n');
}
