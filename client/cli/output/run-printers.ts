/**
 * How jobs and runs print: table and wide rows (`rune get jobs`, `rune runs list`), proto3 JSON
 * and YAML through printers.ts, progress bars, status colours, and the NDJSON line of a run event
 * (`rune runs watch -o json`).
 */
import { Job } from '../../../shared/gen/rune/v1/job.js';
import { Run, type RunEvent, type RunProgress } from '../../../shared/gen/rune/v1/run.js';
import type { OutputFormat } from '../global-options.js';
import { RUN_PHASES, type RunPhase } from '../run-args.js';
import { paint, type Colour } from '../style.js';
import { age, humanDuration } from './human-duration.js';
import { formatList, type ObjectPrinter, type TableOptions } from './printers.js';
import { renderTable } from './table.js';

export { RUN_PHASES, type RunPhase } from '../run-args.js';

/** Phases a run never leaves. */
export const TERMINAL_PHASES: ReadonlySet<string> = new Set<RunPhase>(['finished', 'failed', 'cancelled']);

/** The colour of each phase on a terminal. */
export const PHASE_COLOURS: Readonly<Record<RunPhase, Colour>> = {
  pending: 'dim',
  running: 'cyan',
  blocked: 'yellow',
  finished: 'green',
  failed: 'red',
  cancelled: 'magenta',
};

const NONE = '<none>';
const NO_VALUE = '-';

/** `text` in the colour of `phase` (unknown phases stay plain). */
export function paintPhase(on: boolean, phase: string, text: string = phase): string {
  const colour = PHASE_COLOURS[phase as RunPhase];
  return colour ? paint(on, colour, text) : text;
}

/**
 * `3/10 ███░░░░░░░` (cells filled in proportion, rounded down, full only when finished ≥ total);
 * `3` when the workload reports a count without a total; `-` without progress.
 */
export function progressText(progress: RunProgress | undefined, width = 10): string {
  const finished = progress?.finished ?? 0;
  const total = progress?.total ?? 0;
  if (total <= 0) return finished > 0 ? String(finished) : NO_VALUE;
  const ratio = Math.min(1, Math.max(0, finished / total));
  const filled = finished >= total ? width : Math.min(width - 1, Math.floor(ratio * width));
  return `${finished}/${total} ${'█'.repeat(filled)}${'░'.repeat(width - filled)}`;
}

/** How long the run has been active (ended runs: started → finished); `-` before it starts. */
export function runDuration(run: Run, now: Date): string {
  const started = run.status?.startedAt;
  if (!started) return NO_VALUE;
  const end = run.status?.finishedAt ?? now;
  return humanDuration(end.getTime() - started.getTime());
}

/** The phase, `pending` before the controller wrote any. */
export function runPhase(run: Run): string {
  return run.status?.phase || 'pending';
}

/**
 * Runs: `ID JOB STATUS PROGRESS TASK ATTEMPTS STARTED DURATION`; wide adds `SOURCE TRIGGER REASON`.
 * STARTED is an age (`5m`), DURATION runs until now for active runs.
 */
export const runPrinter: ObjectPrinter<Run> = {
  singular: 'run',
  headers: ({ wide, allNamespaces }) => [
    ...(allNamespaces ? ['NAMESPACE'] : []),
    'ID', 'JOB', 'STATUS', 'PROGRESS', 'TASK', 'ATTEMPTS', 'STARTED', 'DURATION',
    ...(wide ? ['SOURCE', 'TRIGGER', 'REASON'] : []),
  ],
  row(run, { wide, allNamespaces, now }) {
    const status = run.status;
    const cells = [
      ...(allNamespaces ? [run.metadata?.namespace ?? ''] : []),
      run.metadata?.name ?? '',
      run.spec?.job || NONE,
      runPhase(run),
      progressText(status?.progress),
      status?.currentTask || NO_VALUE,
      String(status?.attempts.length ?? 0),
      status?.startedAt ? age(status.startedAt, now) : NO_VALUE,
      runDuration(run, now),
    ];
    if (wide) cells.push(run.spec?.source || NONE, run.spec?.trigger || NONE, status?.reason || NONE);
    return cells;
  },
  toJSON: (run) => Run.toJSON(run),
  name: (run) => `run/${run.metadata?.name ?? ''}`,
};

/** The STATUS column's index in runPrinter's rows. */
export function runStatusColumn(options: Pick<TableOptions, 'allNamespaces'>): number {
  return options.allNamespaces ? 3 : 2;
}

/** A list of runs in `format`; on a colour terminal the STATUS cells are coloured by phase. */
export function formatRuns(runs: readonly Run[], format: OutputFormat, options: TableOptions, color: boolean): string {
  if (!color || (format !== 'table' && format !== 'wide')) return formatList(runPrinter, runs, format, options);
  const opts = { ...options, wide: options.wide || format === 'wide' };
  const statusColumn = runStatusColumn(opts);
  return renderTable(runPrinter.headers(opts), runs.map((run) => runPrinter.row(run, opts)), (text, row, column) =>
    column === statusColumn ? paintPhase(true, runPhase(runs[row]!), text) : text,
  );
}

/**
 * One run on one line, for `rune runs start --wait`: `run/ID running  3/10 ███░░░░░░░  step 3`;
 * an ended run with its reason: `run/ID failed (BackoffLimitExceeded)  2m10s`.
 */
export function runStateLine(run: Run, now: Date, color: boolean): string {
  const phase = runPhase(run);
  const ended = TERMINAL_PHASES.has(phase);
  const status = ended && run.status?.reason ? `${phase} (${run.status.reason})` : phase;
  const progress = progressText(run.status?.progress);
  const parts = [`run/${run.metadata?.name ?? ''} ${paintPhase(color, phase, status)}`];
  if (progress !== NO_VALUE) parts.push(progress);
  if (!ended && run.status?.currentTask) parts.push(run.status.currentTask);
  if (ended) parts.push(runDuration(run, now));
  return parts.join('  ');
}

/**
 * Jobs, like kubectl's cronjobs: `NAME SCHEDULE SUSPEND ACTIVE LAST RUN LAST SCHEDULE NEXT AGE`;
 * wide adds `TIMEZONE CONCURRENCY COMMAND`. LAST SCHEDULE is an age, NEXT a countdown (`in 42s`).
 */
export const jobPrinter: ObjectPrinter<Job> = {
  singular: 'job',
  headers: ({ wide, allNamespaces }) => [
    ...(allNamespaces ? ['NAMESPACE'] : []),
    'NAME', 'SCHEDULE', 'SUSPEND', 'ACTIVE', 'LAST RUN', 'LAST SCHEDULE', 'NEXT', 'AGE',
    ...(wide ? ['TIMEZONE', 'CONCURRENCY', 'COMMAND'] : []),
  ],
  row(job, { wide, allNamespaces, now }) {
    const spec = job.spec;
    const status = job.status;
    const next = status?.nextScheduleTime;
    const cells = [
      ...(allNamespaces ? [job.metadata?.namespace ?? ''] : []),
      job.metadata?.name ?? '',
      spec?.schedule || NONE,
      spec?.suspend ? 'True' : 'False',
      String(status?.activeRuns.length ?? 0),
      status?.lastRun || NONE,
      status?.lastScheduleTime ? age(status.lastScheduleTime, now) : NONE,
      next && !spec?.suspend ? `in ${humanDuration(next.getTime() - now.getTime())}` : NONE,
      age(job.metadata?.createdAt, now),
    ];
    if (wide) cells.push(spec?.timezone || NONE, spec?.concurrencyPolicy || 'Allow', [spec?.command ?? '', ...(spec?.args ?? [])].join(' ').trim() || NONE);
    return cells;
  },
  toJSON: (job) => Job.toJSON(job),
  name: (job) => `job/${job.metadata?.name ?? ''}`,
};

/**
 * One line of `rune runs watch -o json`: a flat, stable object per event (every key always
 * present; `progress` null when the run reports none, `time` the run's last update).
 */
export interface RunEventRecord {
  revision: number;
  type: string;
  id: string;
  job: string;
  namespace: string;
  source: string;
  status: string;
  reason: string;
  message: string;
  warning: string;
  progress: { finished: number; total: number } | null;
  currentTask: string;
  attempts: number;
  startedAt: string | null;
  finishedAt: string | null;
  time: string | null;
}

/** The NDJSON record of `event`. */
export function runEventRecord(event: RunEvent): RunEventRecord {
  const run = event.run;
  const status = run?.status;
  const progress = status?.progress;
  return {
    revision: event.revision,
    type: event.type,
    id: run?.metadata?.name ?? '',
    job: run?.spec?.job ?? '',
    namespace: run?.metadata?.namespace ?? '',
    source: run?.spec?.source ?? '',
    status: run ? runPhase(run) : '',
    reason: status?.reason ?? '',
    message: status?.message ?? '',
    warning: status?.warning ?? '',
    progress: progress && (progress.total > 0 || progress.finished > 0) ? { finished: progress.finished, total: progress.total } : null,
    currentTask: status?.currentTask ?? '',
    attempts: status?.attempts.length ?? 0,
    startedAt: status?.startedAt?.toISOString() ?? null,
    finishedAt: status?.finishedAt?.toISOString() ?? null,
    time: (run?.metadata?.updatedAt ?? run?.metadata?.createdAt)?.toISOString() ?? null,
  };
}

/** `runEventRecord(event)` as one JSON line. */
export function runEventLine(event: RunEvent): string {
  return JSON.stringify(runEventRecord(event)) + '\n';
}

/**
 * A `run:sync` line: a run's state as a relist found it (after the watch's revision was no longer
 * retained), at the list's revision. Consumers replace what they know of the run with it.
 */
export function runSyncLine(run: Run, revision: number): string {
  return runEventLine({ revision, type: 'run:sync', run });
}
