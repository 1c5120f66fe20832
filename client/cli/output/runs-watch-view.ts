/**
 * The live table of `rune runs watch` on a terminal: one row per run seen, oldest at the top and
 * newest at the bottom (run ids sort by creation time), redrawn in place after every change and
 * every second (ages, durations). Above the table, one summary line: the namespace, the
 * revision the view is current to, counts by phase, and a notice while reconnecting.
 *
 * At most `maxRows` runs are kept: beyond it the oldest ended (or deleted) runs go first, then
 * the oldest active ones. Lines are cut to the terminal's width so the redraw's cursor moves
 * stay exact.
 */
import type { Run, RunEvent } from '../../../shared/gen/rune/v1/run.js';
import { paint } from '../style.js';
import { paintPhase, RUN_PHASES, runPhase, runPrinter, runStatusColumn, TERMINAL_PHASES } from './run-printers.js';
import { renderTable } from './table.js';

export interface RunsWatchViewOptions {
  /** What the summary line says is watched, e.g. `namespace default, job backup`. */
  scope: string;
  /** Add a NAMESPACE column (watching every namespace). */
  allNamespaces: boolean;
  /** SOURCE, TRIGGER and REASON columns too. */
  wide: boolean;
  color: boolean;
  /** Runs kept and shown. Default 50. */
  maxRows?: number;
}

interface Row {
  run: Run;
  deleted: boolean;
}

export class RunsWatchView {
  private readonly rows = new Map<string, Row>();
  private readonly maxRows: number;
  private revision = 0;
  private notice: string | undefined;
  private drawn = 0;

  constructor(private readonly options: RunsWatchViewOptions) {
    this.maxRows = Math.max(1, options.maxRows ?? 50);
  }

  /** Takes in one event: the run's row is added or replaced (run:deleted keeps it, marked deleted). */
  apply(event: RunEvent): void {
    if (event.revision > this.revision) this.revision = event.revision;
    this.notice = undefined;
    const run = event.run;
    if (!run?.metadata) return;
    this.rows.set(rowKey(run), { run, deleted: event.type === 'run:deleted' });
    this.prune();
  }

  /** After a relist (events were no longer retained): the listed runs replace every row. */
  relist(runs: readonly Run[], revision: number): void {
    this.rows.clear();
    for (const run of runs) if (run.metadata) this.rows.set(rowKey(run), { run, deleted: false });
    this.revision = Math.max(this.revision, revision);
    this.prune();
  }

  /** The stream is current to `revision` (a progress mark): shown in the summary; clears the notice. */
  caughtUp(revision: number): void {
    if (revision > this.revision) this.revision = revision;
    this.notice = undefined;
  }

  /** A line shown in the summary until the next message, e.g. `reconnecting in 2.0s (attempt 2)`. */
  setNotice(text: string | undefined): void {
    this.notice = text;
  }

  /** The runs shown, in display order (oldest first). */
  runs(): Run[] {
    return this.ordered().map((row) => row.run);
  }

  /** The frame's lines (summary, header, rows), without cursor moves, cut to `columns` characters when given. */
  lines(now: Date, columns?: number): string[] {
    const { allNamespaces, wide, color } = this.options;
    const rows = this.ordered();
    const tableOptions = { allNamespaces, wide, now };
    const statusColumn = runStatusColumn(tableOptions);
    const cells = rows.map((row) => {
      const line = runPrinter.row(row.run, tableOptions);
      if (row.deleted) line[statusColumn] = 'deleted';
      return line;
    });
    const table = renderTable(runPrinter.headers(tableOptions), cells, (text, r, column) => {
      const row = rows[r]!;
      if (row.deleted) return paint(color, 'dim', text);
      return column === statusColumn ? paintPhase(color, runPhase(row.run), text) : text;
    });
    const body = rows.length === 0 ? [this.header(tableOptions), paint(color, 'dim', '(no runs yet: waiting for events)')] : table.slice(0, -1).split('\n');
    return [this.summary(rows), ...body].map((line) => cutToWidth(line, columns));
  }

  /** What to write to redraw the view in place (the first call just draws it). */
  render(now: Date, columns?: number): string {
    const lines = this.lines(now, columns);
    const up = this.drawn > 0 ? `\x1b[${this.drawn}A` : '';
    this.drawn = lines.length;
    return `${up}\r${lines.map((line) => `\x1b[2K${line}\n`).join('')}\x1b[J`;
  }

  private header(tableOptions: { allNamespaces: boolean; wide: boolean; now: Date }): string {
    return renderTable(runPrinter.headers(tableOptions), []).trimEnd();
  }

  private summary(rows: readonly Row[]): string {
    const counts = RUN_PHASES.map((phase) => [phase, rows.filter((r) => !r.deleted && runPhase(r.run) === phase).length] as const)
      .filter(([, n]) => n > 0)
      .map(([phase, n]) => paintPhase(this.options.color, phase, `${n} ${phase}`));
    const parts = [`runs in ${this.options.scope}`, `revision ${this.revision}`, counts.length > 0 ? counts.join(', ') : 'no runs'];
    if (this.notice) parts.push(paint(this.options.color, 'yellow', this.notice));
    return parts.join(' · ');
  }

  private ordered(): Row[] {
    return [...this.rows.values()].sort((a, b) => compareRuns(a.run, b.run));
  }

  /** Drops the oldest ended or deleted runs, then the oldest active ones, down to maxRows. */
  private prune(): void {
    if (this.rows.size <= this.maxRows) return;
    const ordered = this.ordered();
    const ended = ordered.filter((row) => row.deleted || TERMINAL_PHASES.has(runPhase(row.run)));
    const active = ordered.filter((row) => !ended.includes(row));
    for (const row of [...ended, ...active]) {
      if (this.rows.size <= this.maxRows) break;
      this.rows.delete(rowKey(row.run));
    }
  }
}

function rowKey(run: Run): string {
  return `${run.metadata?.namespace ?? ''}/${run.metadata?.name ?? ''}`;
}

/** By id (time-ordered), then namespace. */
function compareRuns(a: Run, b: Run): number {
  const ida = a.metadata?.name ?? '';
  const idb = b.metadata?.name ?? '';
  if (ida !== idb) return ida < idb ? -1 : 1;
  const nsa = a.metadata?.namespace ?? '';
  const nsb = b.metadata?.namespace ?? '';
  return nsa < nsb ? -1 : nsa > nsb ? 1 : 0;
}

/** `line` cut to `width` visible characters (ANSI colour codes count as none); colour is reset after a cut. */
export function cutToWidth(line: string, width: number | undefined): string {
  if (width === undefined || width <= 0) return line;
  let visible = 0;
  let i = 0;
  while (i < line.length) {
    if (line[i] === '\x1b') {
      const end = line.indexOf('m', i);
      i = end === -1 ? line.length : end + 1;
      continue;
    }
    if (visible === width) return line.slice(0, i) + (line.includes('\x1b[') ? '\x1b[0m' : '');
    visible++;
    i++;
  }
  return line;
}
