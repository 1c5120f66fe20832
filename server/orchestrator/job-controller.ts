/**
 * The job controller: starts a job's runs (once per spec generation for a job without schedule;
 * at its scheduled times otherwise, per concurrencyPolicy), writes the job status, keeps each
 * job's ended runs within its history limits and TTL, and removes a deleted job once its runs
 * are cancelled, ended and deleted (finalizer JOB_FINALIZER). It never executes a run: the run
 * controller does, and ends the runs whose spec.cancelRequested this controller sets.
 *
 * The decisions are job-plan.ts's (the catch-up rule for missed times is documented there);
 * this file reads, plans and applies. Keys are `namespace/job`; job events, run events of the
 * job and the ScheduleTimer enqueue them.
 */
import type { Logger } from 'pino';
import { isRuneError } from '../../shared/errors.js';
import type { Job } from '../../shared/gen/rune/v1/job.js';
import type { Namespace } from '../../shared/gen/rune/v1/namespace.js';
import type { Run } from '../../shared/gen/rune/v1/run.js';
import { cancelRun, createRun } from '../domain/runs.js';
import { removeLogFiles } from '../logs/log-files.js';
import type { Informer } from '../store/informer.js';
import { canonicalJson } from '../store/kinds.js';
import type { Store } from '../store/store.js';
import { REPLACED_REASON, computeJobDeletion, computeJobPlan, nextRunExpiry, orphanRuns, runsToDelete } from './job-plan.js';
import type { ScheduleTimer } from './schedule-timer.js';
import type { ReconcileResult } from './work-queue.js';

export interface JobControllerDeps {
  store: Store;
  jobs: Informer<Job>;
  runs: Informer<Run>;
  /** A job whose namespace is gone is deleted like a deleted job. */
  namespaces: Informer<Namespace>;
  /** Holds each scheduled job's next fire time; enqueues the key then. */
  timer: ScheduleTimer;
  log: Logger;
  /** The wall clock (default Date.now). */
  now?: () => number;
}

export const jobKey = (namespace: string, name: string) => `${namespace}/${name}`;

/** The longest a reconcile waits before looking at a job again for a TTL. */
const MAX_WAIT_MS = 3600_000;

export class JobController {
  /** Per job: the informer revisions our last writes reached; act only on views that include them. */
  private readonly expectations = new Map<string, { jobs: number; runs: number }>();
  private readonly now: () => number;

  constructor(private readonly deps: JobControllerDeps) {
    this.now = deps.now ?? Date.now;
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const { store, jobs, runs, namespaces, timer } = this.deps;
    const slash = key.indexOf('/');
    const namespace = key.slice(0, slash);
    const name = key.slice(slash + 1);
    const job = jobs.get(namespace, name);
    const own = runs.filter((r) => r.metadata?.namespace === namespace && r.spec?.job === name);
    if (!job) {
      // Gone (deleted without its finalizer, e.g. by hand): its runs are orphans.
      this.expectations.delete(key);
      timer.delete(key);
      await cleanUpOrphans(store, own, () => false, this.deps.log);
      return; // done: a run event of an orphan still active brings us back
    }
    // Waiting: our own last writes must be in view, or a scheduled time could start twice.
    const expected = this.expectations.get(key);
    if (expected && (jobs.revision < expected.jobs || runs.revision < expected.runs)) return { requeueAfterMs: 10 };
    this.expectations.delete(key);

    if (job.metadata!.deletionTimestamp || !namespaces.get('', namespace)) {
      timer.delete(key);
      return this.finalize(job, own);
    }

    const now = this.now();
    const plan = computeJobPlan(job, own, now);
    const status = plan.status;
    const wrote = { jobs: 0, runs: 0 };
    for (const id of plan.cancel) await cancelQuietly(store, namespace, id, REPLACED_REASON);
    if (plan.start) {
      try {
        const run = await createRun(store, job, { trigger: plan.start.trigger, scheduledAt: plan.start.scheduledAt, now });
        wrote.runs = run.metadata!.resourceVersion;
        status.lastRun = run.metadata!.name;
        status.activeRuns = [...status.activeRuns, run.metadata!.name];
        this.deps.log.info({ namespace, job: name, run: run.metadata!.name, trigger: plan.start.trigger, scheduledAt: plan.start.scheduledAt }, 'started a run');
      } catch (err) {
        if (isRuneError(err, 'NOT_FOUND')) return; // the job went meanwhile: its deletion event brings us back
        throw err; // transient: retry with backoff (nothing was written)
      }
    }
    if (canonicalJson(status) !== canonicalJson(job.status)) {
      try {
        const updated = await store.update<Job>('jobs', { ...job, status });
        wrote.jobs = updated.metadata!.resourceVersion;
      } catch (err) {
        if (isRuneError(err, 'NOT_FOUND')) return; // gone: done
        if (!isRuneError(err, 'ABORTED')) throw err; // transient: retry with backoff
        // ABORTED: cast or deleted meanwhile. Plan again on the fresh copy; a run started above
        // is found by its scheduledAt / generation and not started twice.
        if (wrote.runs) this.expectations.set(key, wrote);
        return { requeueAfterMs: 20 };
      }
    }
    if (wrote.jobs || wrote.runs) this.expectations.set(key, wrote);
    timer.set(key, plan.wakeAt);

    // History limits and TTL, promptly after a run ended.
    await deleteRuns(store, runsToDelete(job, own, now), this.deps.log);
    const expiry = nextRunExpiry(job, own, now);
    // Waiting: come back when the next ended run reaches its TTL (at least hourly: a TTL may be
    // longer than a timer can wait).
    return expiry === undefined ? undefined : { requeueAfterMs: Math.min(expiry - now, MAX_WAIT_MS) };
  }

  /**
   * The finalizer: cancel the job's active runs, wait for them to end, then delete its runs and
   * the job in one commit (log files after). A job whose namespace is gone is marked first.
   */
  private async finalize(job: Job, own: Run[]): Promise<ReconcileResult> {
    const { store, log } = this.deps;
    const { namespace, name } = job.metadata!;
    if (!job.metadata!.deletionTimestamp) {
      await store.update<Job>('jobs', { ...job, metadata: { ...job.metadata!, deletionTimestamp: new Date() } }).catch((err) => {
        if (!isRuneError(err, 'ABORTED') && !isRuneError(err, 'NOT_FOUND')) throw err;
      });
      return; // its event brings us back (ABORTED: changed meanwhile; the change's event does too)
    }
    const plan = computeJobDeletion(own);
    for (const id of plan.cancel) await cancelQuietly(store, namespace, id, `job "${name}" is being deleted`);
    if (plan.waiting) return; // waiting: each run's end is an event that brings us back
    try {
      await store.commit([
        ...plan.deleteRuns.map((r) => ({ op: 'delete' as const, kind: 'runs', namespace, name: r.metadata!.name, resourceVersion: r.metadata!.resourceVersion })),
        { op: 'delete', kind: 'jobs', namespace, name, resourceVersion: job.metadata!.resourceVersion },
      ]);
    } catch (err) {
      // ABORTED / NOT_FOUND: a run or the job changed or went meanwhile; plan again on fresh data.
      if (isRuneError(err, 'ABORTED') || isRuneError(err, 'NOT_FOUND')) return { requeueAfterMs: 50 };
      throw err; // transient: retry with backoff
    }
    this.expectations.delete(jobKey(namespace, name));
    await removeLogs(plan.deleteRuns, log);
    log.info({ namespace, job: name, runs: plan.deleteRuns.length }, 'deleted a job and its runs');
    return; // done
  }
}

/**
 * Deletes the ended runs beyond each job's history limits or past its ttlSecondsAfterFinished,
 * and the ended runs of jobs that no longer exist (orphans; active orphans are asked to cancel
 * and go on a later call), with their log files. Runs mirrored from other sources are left
 * alone. For the housekeeping scheduler; the job controller applies the same limits to a job
 * whenever one of its runs changes, so this mostly catches TTLs and orphans.
 *
 * Idempotent and safe beside the controllers: every delete is conditional on the version read
 * (a run that changed meanwhile is kept until next time). Throws only when the store fails.
 *
 * @returns the number of runs deleted.
 */
export async function cleanUpRuns(store: Store, jobsInformer: Informer<Job>, runsInformer: Informer<Run>, now: number): Promise<number> {
  const byJob = new Map<string, Run[]>();
  for (const run of runsInformer.values()) {
    const key = jobKey(run.metadata!.namespace, run.spec?.job ?? '');
    const list = byJob.get(key);
    if (list) list.push(run);
    else byJob.set(key, [run]);
  }
  let deleted = 0;
  const orphans: Run[] = [];
  for (const [key, runs] of byJob) {
    const slash = key.indexOf('/');
    const job = jobsInformer.get(key.slice(0, slash), key.slice(slash + 1));
    if (!job) orphans.push(...runs);
    else if (!job.metadata?.deletionTimestamp) deleted += await deleteRuns(store, runsToDelete(job, runs, now)); // deleting: the controller's
  }
  deleted += await cleanUpOrphans(store, orphans, (namespace, job) => jobsInformer.get(namespace, job) !== undefined);
  return deleted;
}

/** Cancels the active orphans among `runs` and deletes the ended ones; returns how many went. */
async function cleanUpOrphans(store: Store, runs: readonly Run[], jobExists: (namespace: string, job: string) => boolean, log?: Logger): Promise<number> {
  const orphans = orphanRuns(runs, jobExists);
  for (const run of orphans.cancel) await cancelQuietly(store, run.metadata!.namespace, run.metadata!.name, `job "${run.spec?.job ?? ''}" no longer exists`);
  return deleteRuns(store, orphans.delete, log);
}

/**
 * Deletes each run at the version read, then its log files. A run that changed or went meanwhile
 * is skipped (the next pass sees it again). Returns how many were deleted.
 */
async function deleteRuns(store: Store, runs: readonly Run[], log?: Logger): Promise<number> {
  const gone: Run[] = [];
  for (const run of runs) {
    const { namespace, name, resourceVersion } = run.metadata!;
    try {
      await store.delete('runs', namespace, name, { resourceVersion });
      gone.push(run);
    } catch (err) {
      if (!isRuneError(err, 'ABORTED') && !isRuneError(err, 'NOT_FOUND')) throw err;
    }
  }
  await removeLogs(gone, log);
  return gone.length;
}

async function removeLogs(runs: readonly Run[], log?: Logger): Promise<void> {
  for (const run of runs) {
    const path = run.status?.logPath;
    if (!path) continue;
    await removeLogFiles(path).catch((err) => log?.warn({ err, path, run: run.metadata!.name }, 'could not remove the log of a deleted run'));
  }
}

/** Asks a run to stop; a run that has ended or gone meanwhile needs nothing more. */
async function cancelQuietly(store: Store, namespace: string, id: string, reason: string): Promise<void> {
  await cancelRun(store, namespace, id, reason).catch((err) => {
    if (!isRuneError(err, 'FAILED_PRECONDITION') && !isRuneError(err, 'NOT_FOUND')) throw err;
  });
}
