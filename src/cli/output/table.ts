import { printable } from './printable.js';

/**
 * Plain-text tables for the operator commands: a header row, columns padded to the widest cell,
 * two spaces between columns. On a terminal the table is fitted to its width by shortening the
 * columns marked `shrink` (cells end in "…"); elsewhere cells are printed whole so that nothing
 * is lost when the output is piped or saved (use --json for scripts).
 */
export interface Column {
  readonly header: string;
  /** May be shortened to fit the terminal; never below `minWidth`. */
  readonly shrink?: boolean;
  /** @defaultValue 8 */
  readonly minWidth?: number;
  /** @defaultValue 'left' */
  readonly align?: 'left' | 'right';
}

export interface TableOptions {
  /** Terminal width to fit into; undefined = no limit (cells printed whole). */
  readonly maxWidth?: number;
}

const GAP = '  ';
const ELLIPSIS = '…';

function width(text: string): number {
  return [...text].length;
}

export function truncateCell(text: string, max: number): string {
  const chars = [...text];
  if (chars.length <= max) return text;
  if (max <= 0) return '';
  return `${chars.slice(0, max - 1).join('')}${ELLIPSIS}`;
}

export function renderTable(
  columns: readonly Column[],
  rows: readonly (readonly string[])[],
  options: TableOptions = {},
): string {
  const cells = rows.map((row) => columns.map((_, i) => printable(row[i] ?? '')));
  const widths = columns.map((c, i) =>
    Math.max(width(c.header), ...cells.map((row) => width(row[i] ?? ''))),
  );
  if (options.maxWidth !== undefined) fit(columns, widths, options.maxWidth);
  const line = (values: readonly string[]): string =>
    values
      .map((value, i) => {
        const w = widths[i] ?? 0;
        const text = truncateCell(value, w);
        const pad = ' '.repeat(Math.max(0, w - width(text)));
        const last = i === values.length - 1;
        if (columns[i]?.align === 'right') return `${pad}${text}`;
        return last ? text : `${text}${pad}`;
      })
      .join(GAP)
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...cells.map(line)].join('\n') + '\n';
}

/** Shrinks the widest shrinkable column, one character at a time, until the row fits. */
function fit(columns: readonly Column[], widths: number[], maxWidth: number): void {
  const total = (): number => widths.reduce((a, b) => a + b, 0) + GAP.length * (widths.length - 1);
  while (total() > maxWidth) {
    let widest = -1;
    for (const [i, c] of columns.entries()) {
      if (!c.shrink) continue;
      const floor = Math.max(c.minWidth ?? 8, width(c.header));
      if ((widths[i] ?? 0) <= floor) continue;
      if (widest < 0 || (widths[i] ?? 0) > (widths[widest] ?? 0)) widest = i;
    }
    if (widest < 0) return;
    widths[widest] = (widths[widest] ?? 0) - 1;
  }
}
