/**
 * Plain padded columns, kubectl style: upper-case headers, three spaces between columns, the
 * last column unpadded. No borders, no colour, so output stays easy to grep and cut.
 */

const GAP = '   ';

/** The header and rows as padded lines, each ending in a newline. */
export function renderTable(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  return [headers, ...rows].map((cells) => formatRow(cells, widths)).join('');
}

function formatRow(cells: readonly string[], widths: readonly number[]): string {
  const last = cells.length - 1;
  return cells.map((cell, i) => (i === last ? cell : cell.padEnd(widths[i] ?? 0))).join(GAP).trimEnd() + '\n';
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
