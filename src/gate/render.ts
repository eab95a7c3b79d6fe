// Verdict rendering: a terminal table and a markdown block (for $GITHUB_STEP_SUMMARY).
import Table from 'cli-table3';
import { mdTable } from '../report/mdTable.js';
import type { GateVerdict } from './evaluate.js';

/** "PASS: 7 checks" / "FAIL: 2 of 7 checks failed". */
export function verdictHeadline(v: GateVerdict): string {
  const failed = v.checks.filter((c) => !c.pass).length;
  return v.pass ? `PASS: ${v.checks.length} checks passed` : `FAIL: ${failed} of ${v.checks.length} checks failed`;
}

/** The verdict as a terminal table. */
export function renderVerdictTable(v: GateVerdict): string {
  const t = new Table({ head: ['', 'check', 'actual', 'reason'], style: { head: [], border: [], compact: true }, wordWrap: true, colWidths: [6, 44, 12, 70] });
  for (const c of v.checks) t.push([c.pass ? 'pass' : 'FAIL', c.expression, c.actualText, c.reason]);
  return `${t.toString()}\n${verdictHeadline(v)}\n`;
}

/** The verdict in markdown. */
export function renderVerdictMarkdown(v: GateVerdict): string {
  const rows = v.checks.map((c) => [c.pass ? '✅ pass' : '❌ FAIL', `\`${c.expression}\``, c.actualText, c.reason]);
  return [`### llmbench gate: ${verdictHeadline(v)}`, '', mdTable(['', 'Check', 'Actual', 'Reason'], rows), ''].join('\n');
}
