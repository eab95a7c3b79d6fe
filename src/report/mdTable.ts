// GitHub-flavoured markdown tables.

/**
 * Escapes text for a table cell: pipes and newlines would break the row, angle brackets outside `code spans`
 * would become HTML (inside a code span they already print literally, so only pipes are escaped there).
 */
export function mdCell(text: string): string {
  return text
    .replace(/\r?\n/g, ' ')
    .split('`')
    .map((seg, i) => (i % 2 === 1 ? seg.replace(/\|/g, '\\|') : seg.replace(/\|/g, '\\|').replace(/</g, '&lt;').replace(/>/g, '&gt;')))
    .join('`');
}

/** A markdown table; `align` uses 'l' or 'r' per column (default left). */
export function mdTable(head: readonly string[], rows: ReadonlyArray<readonly string[]>, align: readonly ('l' | 'r')[] = []): string {
  const sep = head.map((_, i) => (align[i] === 'r' ? '---:' : '---'));
  const line = (cells: readonly string[]): string => `| ${cells.map(mdCell).join(' | ')} |`;
  return [line(head), `|${sep.join('|')}|`, ...rows.map(line)].join('\n');
}
