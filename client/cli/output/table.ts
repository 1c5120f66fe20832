/**
 * Plain padded columns, kubectl style: upper-case headers, three spaces between columns, the
 * last column unpadded. No borders, so output stays easy to grep and cut; colour only through
 * `decorate`, which callers pass on a terminal (widths are measured on the plain text).
 */

const GAP = '   ';

/** Wraps a padded body cell (row 0 is the first body row), e.g. in colour codes; headers are never decorated. */
export type CellDecorator = (padded: string, row: number, column: number) => string;

/** The header and rows as padded lines, each ending in a newline. */
export function renderTable(headers: readonly string[], rows: ReadonlyArray<readonly string[]>, decorate?: CellDecorator): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  return formatRow(headers, widths) + rows.map((cells, r) => formatRow(cells, widths, decorate && ((text, c) => decorate(text, r, c)))).join('');
}

function formatRow(cells: readonly string[], widths: readonly number[], decorate?: (padded: string, column: number) => string): string {
  const last = cells.length - 1;
  const padded = cells.map((cell, i) => (i === last ? cell : cell.padEnd(widths[i] ?? 0)));
  if (!decorate) return padded.join(GAP).trimEnd() + '\n';
  // What trimEnd does undecorated: drop trailing blank cells and the last one's padding first.
  let end = padded.length;
  while (end > 1 && padded[end - 1]!.trim() === '') end--;
  return padded.slice(0, end).map((cell, i) => decorate(i === end - 1 ? cell.trimEnd() : cell, i)).join(GAP) + '\n';
}

/**
 * A table printed a row at a time (for watches): column widths start at the header's or the
 * first rows' and only grow, so earlier lines keep their layout.
 */
export class StreamingTable {
  private readonly widths: number[];

  constructor(private readonly headers: readonly string[], initialRows: ReadonlyArray<readonly string[]> = []) {
    this.widths = headers.map((h, i) => Math.max(h.length, ...initialRows.map((r) => (r[i] ?? '').length)));
  }

  header(): string {
    return formatRow(this.headers, this.widths);
  }

  row(cells: readonly string[]): string {
    cells.forEach((cell, i) => {
      if (i < cells.length - 1) this.widths[i] = Math.max(this.widths[i] ?? 0, cell.length);
    });
    return formatRow(cells, this.widths);
  }
}
