// Verdict rendering: a terminal table and a markdown block (for $GITHUB_STEP_SUMMARY).
import Table from 'cli-table3';
import { mdTable } from '../report/mdTable.js';
import type { GateVerdict } from './evaluate.js';

/** "PASS: 7 checks" / "FAIL: 2 of 7 checks failed". */
export function verdictHeadline(v: GateVerdict): string {
  const failed = v.checks.filter((c) => !c.pass).length;
  return v.pass ? `PASS: ${v.checks.length} checks passed` : `FAIL: ${failed} of ${v.checks.length} checks failed`;
}

function quietLine(v: GateVerdict, hint = ''): string | null {
  const quiet = v.checks.filter((c) => c.quiet).length;
  return quiet > 0 ? `${quiet} regression checks within the limit or not judged${hint}` : null;
}

/** The verdict as a terminal table; quiet regression checks are counted, not listed. */
export function renderVerdictTable(v: GateVerdict): string {
  const t = new Table({ head: ['', 'check', 'actual', 'reason'], style: { head: [], border: [], compact: true }, wordWrap: true, colWidths: [6, 44, 12, 70] });
  for (const c of v.checks) if (!c.quiet) t.push([c.pass ? 'pass' : 'FAIL', c.expression, c.actualText, c.reason]);
  const lines = [t.length > 0 ? t.toString() : null, quietLine(v, ' (--format json lists each)'), verdictHeadline(v)].filter((l): l is string => l !== null);
  return `${lines.join('\n')}\n`;
}

/** The verdict in markdown; quiet regression checks go in a folded block. */
export function renderVerdictMarkdown(v: GateVerdict): string {
  const row = (c: GateVerdict['checks'][number]): string[] => [c.pass ? '✅ pass' : '❌ FAIL', `\`${c.expression}\``, c.actualText, c.reason];
  const loud = v.checks.filter((c) => !c.quiet);
  const quiet = v.checks.filter((c) => c.quiet);
  const parts = [`### llmbench gate: ${verdictHeadline(v)}`, ''];
  if (loud.length > 0) parts.push(mdTable(['', 'Check', 'Actual', 'Reason'], loud.map(row)), '');
  if (quiet.length > 0) {
    parts.push(`<details><summary>${quietLine(v)}</summary>`, '', mdTable(['', 'Check', 'Actual', 'Reason'], quiet.map(row)), '', '</details>', '');
  }
  return parts.join('\n');
}
