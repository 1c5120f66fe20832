/**
 * The job controller's decisions, as pure functions of (job, its runs, now): which run to start
 * (once when cast, or at a scheduled time), which active runs to cancel (Replace), what the job
 * status becomes, when the schedule next needs a look, and which ended runs go (history limits,
 * TTL). No I/O here; job-controller.ts applies the plans.
 *
 * Scheduled times (the catch-up rule, `startingDeadlineSeconds`):
 * - The times a job may still fire for are those after its *floor*: the latest of
 *   status.lastScheduleTime, the job's creation, and — while a spec change is not yet observed
 *   (generation > status.observedGeneration) — the time of that change less CHANGE_GRACE_MS.
 *   So a new job never fires for times before it existed, and a changed schedule (or a job
 *   taken out of `suspend`) does not catch up the times that passed before the change.
 * - Of the times in (floor, now], only the latest one counts: at most one run, however many
 *   times were missed (runed down, event loop stalled).
 * - If it is late by more than `startingDeadlineSeconds` (whole seconds, so a timer a few
 *   milliseconds late always counts as on time), it is skipped and status.message says so;
 *   with no `startingDeadlineSeconds`, it starts its run however late.
 * - Skipped or started, it becomes status.lastScheduleTime, so it is never handled twice. And a
 *   run that already exists for that time (its spec.scheduledAt) is never started again, even
 *   when the status write recording it was lost.
 * - While `suspend` is true nothing fires; the times that pass meanwhile are not caught up
 *   afterwards (un-suspending is a spec change, which moves the floor).
 */
import { Cron } from 'croner';
import type { Job, JobStatus } from '../../shared/gen/rune/v1/job.js';
import type { Run } from '../../shared/gen/rune/v1/run.js';
import { JOB_DEFAULTS, nextScheduleTime } from '../../shared/spec/job-spec.js';
import { LOCAL_SOURCE, isTerminal, type RunTrigger } from '../domain/runs.js';

/** A spec change observed late still lets a scheduled time this close before it fire. */
export const CHANGE_GRACE_MS = 1000;

/** The reason written on runs cancelled to make room for a newer scheduled run. */
export const REPLACED_REASON = 'replaced by a newer scheduled run';

export interface JobPlan {
  /** A run to start, at most one. */
  start?: { trigger: Extract<RunTrigger, 'create' | 'schedule'>; scheduledAt?: Date };
  /** Active runs to cancel before the new one starts (Replace). */
  cancel: string[];
  /** The job status after the plan (the started run not yet in activeRuns/lastRun). */
  status: JobStatus;
  /** When (ms since the epoch) the schedule next needs a look; undefined: never by itself. */
  wakeAt?: number;
}

/** Runs of one job that are still active (pending, running or blocked), oldest first. */
export function activeRuns(runs: readonly Run[]): Run[] {
  return byId(runs.filter((r) => !isTerminal(r)));
}

/**
 * What to do for `job` (not being deleted) at `now`, given all of its runs. Idempotent: planning
 * again after the plan was applied (and the informers saw it) starts nothing more.
 */
export function computeJobPlan(job: Job, runs: readonly Run[], now: number): JobPlan {
  const spec = job.spec!;
  const meta = job.metadata!;
  const previous = job.status;
  const status = observedStatus(job, runs);
  const active = activeRuns(runs);
  const plan: JobPlan = { cancel: [], status };

  if (!spec.schedule) {
    status.lastScheduleTime = undefined;
    status.nextScheduleTime = undefined;
    status.message = '';
    // Once per generation: a new job, or a spec change. A suspended job starts its run when a
    // cast takes it out of suspend (that is a spec change too).
    const unseen = meta.generation > (previous?.observedGeneration ?? 0);
    const started = runs.some((r) => r.spec?.trigger === 'create' && r.spec.jobGeneration === meta.generation);
    if (unseen && !spec.suspend && !started) plan.start = { trigger: 'create' };
    return plan;
  }

  const due = dueScheduleTime(job, now);
  if (due && !spec.suspend) {
    const iso = due.time.toISOString();
    status.lastScheduleTime = due.time;
    const lateSeconds = Math.floor((now - due.time.getTime()) / 1000);
    const deadline = spec.startingDeadlineSeconds;
    if (runs.some((r) => r.spec?.scheduledAt?.getTime() === due.time.getTime())) {
      // Already started (the status write recording it was lost): nothing more.
    } else if (deadline !== undefined && lateSeconds > deadline) {
      status.message = `missed the scheduled time ${iso} by ${lateSeconds}s (more than startingDeadlineSeconds ${deadline}); no run started for it`;
    } else if (spec.concurrencyPolicy === 'Forbid' && active.length > 0) {
      status.message = `Forbid: run ${active.map((r) => r.metadata!.name).join(', ')} still active; skipped the scheduled time ${iso}`;
    } else {
      if (spec.concurrencyPolicy === 'Replace') plan.cancel = active.filter((r) => !r.spec?.cancelRequested).map((r) => r.metadata!.name);
      plan.start = { trigger: 'schedule', scheduledAt: due.time };
      status.message = due.missedEarlier ? `started one run for ${iso}; earlier scheduled times since ${floorOf(job).toISOString()} were missed and are not caught up` : '';
    }
  } else if (due === undefined && status.observedGeneration > (previous?.observedGeneration ?? 0)) {
    // A spec change moved the floor past times not yet recorded: record the latest of them as
    // passed, so it stays behind the floor once the change is observed.
    const passed = latestScheduleTime(spec.schedule, spec.timezone, now);
    if (passed && passed.getTime() > (status.lastScheduleTime?.getTime() ?? 0)) status.lastScheduleTime = passed;
  }
  if (spec.suspend) {
    status.nextScheduleTime = undefined;
  } else {
    status.nextScheduleTime = nextScheduleTime(spec.schedule, spec.timezone, new Date(now));
    plan.wakeAt = status.nextScheduleTime?.getTime();
  }
  return plan;
}

/**
 * The status fields that follow from the runs alone: observedGeneration, lastRun, activeRuns and
 * lastSuccessfulTime (kept when the run that set it is gone); the schedule fields as they were.
 */
export function observedStatus(job: Job, runs: readonly Run[]): JobStatus {
  const previous = job.status;
  let lastRun = previous?.lastRun ?? '';
  let lastSuccess = previous?.lastSuccessfulTime;
  for (const run of runs) {
    const id = run.metadata!.name;
    if (id > lastRun) lastRun = id;
    const finishedAt = run.status?.finishedAt;
    if (run.status?.phase === 'finished' && finishedAt && (!lastSuccess || finishedAt > lastSuccess)) lastSuccess = finishedAt;
  }
  return {
    observedGeneration: job.metadata!.generation,
    lastScheduleTime: previous?.lastScheduleTime,
    nextScheduleTime: previous?.nextScheduleTime,
    lastRun,
    activeRuns: activeRuns(runs).map((r) => r.metadata!.name),
    lastSuccessfulTime: lastSuccess,
    message: previous?.message ?? '',
  };
}

/**
 * The earliest instant after which a scheduled time may still fire (exclusive); see the header.
 */
export function floorOf(job: Job): Date {
  const meta = job.metadata!;
  let floor = meta.createdAt?.getTime() ?? 0;
  const last = job.status?.lastScheduleTime?.getTime();
  if (last !== undefined && last > floor) floor = last;
  if (meta.generation > (job.status?.observedGeneration ?? 0) && meta.updatedAt) {
    floor = Math.max(floor, meta.updatedAt.getTime() - CHANGE_GRACE_MS);
  }
  return new Date(floor);
}

/**
 * The scheduled time `job` should act on at `now`: the latest one in (floor, now], and whether
 * earlier ones were passed over; undefined when none is due.
 */
export function dueScheduleTime(job: Job, now: number): { time: Date; missedEarlier: boolean } | undefined {
  const { schedule, timezone } = job.spec!;
  if (!schedule) return undefined;
  const floor = floorOf(job).getTime();
  const [latest, before] = previousScheduleTimes(schedule, timezone, now, 2);
  if (!latest || latest.getTime() <= floor) return undefined;
  return { time: latest, missedEarlier: before !== undefined && before.getTime() > floor };
}

/** The latest time `schedule` fired at or before `now`, or undefined. */
export function latestScheduleTime(schedule: string, timezone: string, now: number): Date | undefined {
  return previousScheduleTimes(schedule, timezone, now, 1)[0];
}

/** Up to `n` times at or before `now` the schedule fired, newest first. */
function previousScheduleTimes(schedule: string, timezone: string, now: number, n: number): Date[] {
  const cron = new Cron(schedule, { paused: true, timezone: timezone || undefined });
  // previousRuns is strictly before its reference at second granularity: a time exactly at
  // `now` counts as fired, so look from just after it.
  return cron.previousRuns(n, new Date(now + 1));
}

/** What to do with the runs of a job being deleted (or whose namespace is gone). */
export interface JobDeletionPlan {
  /** Active runs still to be asked to stop. */
  cancel: string[];
  /** True while runs are active: wait for them to end before deleting anything. */
  waiting: boolean;
  /** Ended runs to delete now (all of them, once none is active), then the job itself. */
  deleteRuns: Run[];
}

export function computeJobDeletion(runs: readonly Run[]): JobDeletionPlan {
  const active = activeRuns(runs);
  if (active.length > 0) {
    return { cancel: active.filter((r) => !r.spec?.cancelRequested).map((r) => r.metadata!.name), waiting: true, deleteRuns: [] };
  }
  return { cancel: [], waiting: false, deleteRuns: byId(runs) };
}

/**
 * The ended runs of `job` that go now: beyond the history limits (finished runs beyond
 * successfulRunsHistoryLimit; failed and cancelled ones beyond failedRunsHistoryLimit; the
 * oldest first, by id, which is time-ordered), and those whose ttlSecondsAfterFinished has
 * passed since status.finishedAt. Active runs are never chosen. Oldest first.
 */
export function runsToDelete(job: Job, runs: readonly Run[], now: number): Run[] {
  const spec = job.spec!;
  const chosen = new Set<Run>();
  const overLimit = (phases: readonly string[], limit: number) => {
    const ended = byId(runs.filter((r) => phases.includes(r.status?.phase ?? '')));
    for (const run of ended.slice(0, Math.max(0, ended.length - limit))) chosen.add(run);
  };
  overLimit(['finished'], spec.successfulRunsHistoryLimit ?? JOB_DEFAULTS.successfulRunsHistoryLimit);
  overLimit(['failed', 'cancelled'], spec.failedRunsHistoryLimit ?? JOB_DEFAULTS.failedRunsHistoryLimit);
  const ttl = spec.ttlSecondsAfterFinished;
  if (ttl !== undefined) {
    for (const run of runs) {
      const finishedAt = run.status?.finishedAt;
      if (isTerminal(run) && finishedAt && now - finishedAt.getTime() >= ttl * 1000) chosen.add(run);
    }
  }
  return byId([...chosen]);
}

/** When (ms since the epoch) the next ended run of `job` reaches its TTL; undefined for none. */
export function nextRunExpiry(job: Job, runs: readonly Run[], now: number): number | undefined {
  const ttl = job.spec?.ttlSecondsAfterFinished;
  if (ttl === undefined) return undefined;
  let soonest: number | undefined;
  for (const run of runs) {
    const finishedAt = run.status?.finishedAt;
    if (!isTerminal(run) || !finishedAt) continue;
    const at = finishedAt.getTime() + ttl * 1000;
    if (at > now && (soonest === undefined || at < soonest)) soonest = at;
  }
  return soonest;
}

/**
 * Runs whose job does not exist (`jobExists` false) and that this runed owns (source local:
 * mirrored runs belong to their cluster): ended ones to delete, active ones to cancel first.
 */
export function orphanRuns(runs: readonly Run[], jobExists: (namespace: string, job: string) => boolean): { cancel: Run[]; delete: Run[] } {
  const orphans = runs.filter((r) => (r.spec?.source || LOCAL_SOURCE) === LOCAL_SOURCE && !jobExists(r.metadata!.namespace, r.spec?.job ?? ''));
  return {
    cancel: orphans.filter((r) => !isTerminal(r) && !r.spec?.cancelRequested),
    delete: byId(orphans.filter(isTerminal)),
  };
}

function byId(runs: readonly Run[]): Run[] {
  return [...runs].sort((a, b) => (a.metadata!.name < b.metadata!.name ? -1 : a.metadata!.name > b.metadata!.name ? 1 : 0));
}
