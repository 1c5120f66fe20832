/**
 * What a job's process reports through `$RUNE_STATUS_FILE`: one JSON object
 * `{"phase", "currentTask", "progress": {"finished", "total"}, "message"}`, every field optional.
 * Pure: parsing and the status patch a reading gives (the polling is status-file-poller.ts).
 *
 * - `phase` may be `running` or `blocked` (e.g. waiting for a human); any other value is
 *   ignored with a warning, the other fields still apply. A run stays in the phase it reported
 *   until it reports another or ends.
 * - Content that is not such an object (invalid JSON, wrong types) is ignored as a whole: the
 *   run gets a warning naming the problem and continues.
 * - The file's modification time is the run's lastHeartbeat, so reading the same file again
 *   (after a runed restart) changes nothing.
 */
import type { RunStatus } from '../../shared/gen/rune/v1/run.js';

export interface StatusReport {
  phase?: string;
  currentTask?: string;
  progress?: { finished: number; total: number };
  message?: string;
}

/** One look at a status file whose content changed: a report, or why its content was ignored. */
export interface StatusReading {
  report?: StatusReport;
  problem?: string;
  /** The file's modification time. */
  modifiedAt: Date;
}

/** Phases a workload may report. */
export const REPORTABLE_PHASES = ['running', 'blocked'] as const;

const EXAMPLE = '{"currentTask": "copy", "progress": {"finished": 3, "total": 10}}';

/** Parses the content of a status file; `problem` says what is wrong (never quoting the content). */
export function parseStatusReport(text: string): { report: StatusReport } | { problem: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { problem: `is not valid JSON (${Buffer.byteLength(text)} bytes); write one JSON object, e.g. ${EXAMPLE}` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { problem: `holds JSON ${value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value}, not an object; write one JSON object, e.g. ${EXAMPLE}` };
  }
  const o = value as Record<string, unknown>;
  const problems: string[] = [];
  for (const field of ['phase', 'currentTask', 'message'] as const) {
    if (o[field] !== undefined && typeof o[field] !== 'string') problems.push(`"${field}" must be a string`);
  }
  let progress: StatusReport['progress'];
  if (o.progress !== undefined) {
    const p = o.progress as Record<string, unknown> | null;
    const count = (v: unknown) => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
    if (typeof p !== 'object' || p === null || Array.isArray(p)) problems.push('"progress" must be an object {"finished", "total"}');
    else if (!count(p.finished ?? 0) || !count(p.total ?? 0)) problems.push('"progress.finished" and "progress.total" must be whole numbers ≥ 0');
    else progress = { finished: (p.finished as number | undefined) ?? 0, total: (p.total as number | undefined) ?? 0 };
  }
  if (problems.length > 0) return { problem: `is not a valid status report: ${problems.join('; ')}` };
  const report: StatusReport = {};
  if (o.phase !== undefined) report.phase = o.phase as string;
  if (o.currentTask !== undefined) report.currentTask = o.currentTask as string;
  if (o.message !== undefined) report.message = o.message as string;
  if (progress) report.progress = progress;
  return { report };
}

/** The status patch of a reading (lastChange 'progress', or 'warning' when something was ignored). */
export function applyStatusReport(reading: StatusReading): Partial<RunStatus> {
  if (reading.problem !== undefined || !reading.report) {
    return { warning: `$RUNE_STATUS_FILE ${reading.problem ?? 'could not be read'}; its content was ignored`, lastChange: 'warning' };
  }
  const report = reading.report;
  const patch: Partial<RunStatus> = { lastHeartbeat: reading.modifiedAt, lastChange: 'progress' };
  if (report.currentTask !== undefined) patch.currentTask = report.currentTask;
  if (report.message !== undefined) patch.message = report.message;
  if (report.progress) patch.progress = { ...report.progress };
  if (report.phase !== undefined) {
    if ((REPORTABLE_PHASES as readonly string[]).includes(report.phase)) patch.phase = report.phase;
    else {
      patch.warning = `$RUNE_STATUS_FILE: phase "${report.phase}" is not accepted from the workload (only ${REPORTABLE_PHASES.join(' or ')}; the run ends when its process exits); the other fields were applied`;
      patch.lastChange = 'warning';
    }
  }
  return patch;
}
