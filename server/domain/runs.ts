/**
 * Runs: one execution of a job. The API and the job controller create them (`createRun`); the
 * run controller (server/orchestrator/run-controller.ts) is the only writer of their status.
 * A run's id is a lower-case ULID: unique, and sorting by id sorts by creation time, so a
 * namespace's runs list newest first by reading its keys backwards.
 */
import { monotonicFactory } from 'ulidx';
import { RuneError } from '../../shared/errors.js';
import type { Job } from '../../shared/gen/rune/v1/job.js';
import type { ListMeta } from '../../shared/gen/rune/v1/meta.js';
import { Run, type RunStatus } from '../../shared/gen/rune/v1/run.js';
import type { RunFilter } from '../../shared/gen/rune/v1/run_service.js';
import { envNameProblem, joinField } from '../../shared/spec/names.js';
import type { Store, StoredObject } from '../store/store.js';
import { newMeta, throwIfInvalid } from './objects.js';

/** Where runs started by this runed execute. Mirrored runs name their cluster instead. */
export const LOCAL_SOURCE = 'local';

export const RUN_PHASES = ['pending', 'running', 'blocked', 'finished', 'failed', 'cancelled'] as const;
export type RunPhase = (typeof RUN_PHASES)[number];
/** Phases of a run that has ended. */
export const TERMINAL_PHASES: readonly string[] = ['finished', 'failed', 'cancelled'];

export type RunTrigger = 'create' | 'schedule' | 'manual';

export function isTerminal(run: Run): boolean {
  return TERMINAL_PHASES.includes(run.status?.phase ?? '');
}

const nextUlid = monotonicFactory();

/** A new run id: a lower-case ULID (time-ordered, monotonic within one millisecond). */
export function newRunId(now = Date.now()): string {
  return nextUlid(now).toLowerCase();
}

/** The first status of a run, before the controller picks it up. */
export function pendingStatus(): RunStatus {
  return Run.fromPartial({ status: { phase: 'pending', reason: 'Created', lastChange: 'added' } }).status!;
}

/**
 * Creates a pending run of `job` (atomically with a check that the job still exists). The run
 * carries a copy of the job's spec, so a later cast of the job does not change it.
 */
export async function createRun(store: Store, job: Job, options: { trigger: RunTrigger; scheduledAt?: Date; env?: Record<string, string>; now?: number }): Promise<Run> {
  const { namespace, name } = job.metadata!;
  const run: Run = {
    metadata: newMeta(newRunId(options.now), namespace, { ...job.metadata!.labels }),
    spec: {
      job: name,
      source: LOCAL_SOURCE,
      trigger: options.trigger,
      scheduledAt: options.scheduledAt,
      jobGeneration: job.metadata!.generation,
      template: job.spec,
      env: options.env ?? {},
      cancelRequested: false,
      cancelReason: '',
    },
    status: pendingStatus(),
  };
  const { objects } = await store.commit([
    { op: 'check', kind: 'jobs', namespace, name, exists: true, error: () => RuneError.notFound(`job "${name}" not found in namespace "${namespace}"`) },
    { op: 'create', kind: 'runs', object: run },
  ]);
  return objects[1] as Run;
}

/** Starts a run of a job on demand (`rune runs start`), whatever its schedule or suspend flag. */
export async function startRun(store: Store, namespace: string, jobName: string, env: Record<string, string>): Promise<Run> {
  throwIfInvalid(
    'run',
    Object.keys(env).flatMap((key) => {
      const problem = envNameProblem(key);
      return problem === undefined ? [] : [{ field: joinField('env', key), description: problem }];
    }),
  );
  const job = await store.get<Job>('jobs', namespace, jobName);
  if (!job) throw RuneError.notFound(`job "${jobName}" not found in namespace "${namespace}"; list jobs with \`rune get jobs -n ${namespace}\``);
  if (job.metadata?.deletionTimestamp) throw new RuneError('FAILED_PRECONDITION', `job "${jobName}" is being deleted`);
  return createRun(store, job, { trigger: 'manual', env });
}

export async function getRun(store: Store, namespace: string, id: string): Promise<Run> {
  const run = await store.get<Run>('runs', namespace, id);
  if (!run) throw RuneError.notFound(`run "${id}" not found in namespace "${namespace}"; list runs with \`rune runs list -n ${namespace}\``);
  return run;
}

/** Checks a run filter's fields; INVALID_ARGUMENT naming the field. */
export function checkRunFilter(filter: RunFilter | undefined, field = 'filter'): void {
  for (const [i, status] of (filter?.status ?? []).entries()) {
    if (!(RUN_PHASES as readonly string[]).includes(status)) {
      throw RuneError.invalid(`${field}.status[${i}]`, `"${status}" is not a run status; use one of: ${RUN_PHASES.join(', ')}`);
    }
  }
}

/** True when `run` is selected by `filter` (empty fields select everything). */
export function runMatches(run: Run, filter: RunFilter | undefined): boolean {
  if (!filter) return true;
  if (filter.job && run.spec?.job !== filter.job) return false;
  if (filter.status.length > 0 && !filter.status.includes(run.status?.phase ?? '')) return false;
  if (filter.source && filter.source !== '*' && (run.spec?.source || LOCAL_SOURCE) !== filter.source) return false;
  return true;
}

/** Runs newest first, optionally filtered; pages of `limit` with a continue token. */
export async function listRuns(
  store: Store,
  namespace: string,
  filter: RunFilter | undefined,
  options: { limit?: number; continueToken?: string },
): Promise<{ runs: Run[]; listMeta: ListMeta }> {
  checkRunFilter(filter);
  const selective = filter && (filter.job || filter.status.length > 0 || (filter.source && filter.source !== '*'));
  const page = await store.list<Run>('runs', {
    namespace: namespace === '*' ? undefined : namespace,
    limit: options.limit,
    continueToken: options.continueToken,
    reverse: true,
    match: selective ? (object: StoredObject) => runMatches(object as Run, filter) : undefined,
  });
  return { runs: page.items, listMeta: { revision: page.revision, continueToken: page.continueToken } };
}

/**
 * Asks the controller to stop an active run (it ends "cancelled"). FAILED_PRECONDITION when the
 * run has already ended. Idempotent while the cancellation is under way.
 */
export async function cancelRun(store: Store, namespace: string, id: string, reason: string): Promise<Run> {
  for (let attempt = 0; ; attempt++) {
    const run = await getRun(store, namespace, id);
    if (isTerminal(run)) throw new RuneError('FAILED_PRECONDITION', `run "${id}" has already ended (${run.status!.phase}); nothing to cancel`);
    if (run.spec!.cancelRequested) return run;
    try {
      return await store.update<Run>('runs', { ...run, spec: { ...run.spec!, cancelRequested: true, cancelReason: reason || 'cancelled by request' } });
    } catch (err) {
      // The controller wrote the status between our read and write: read again.
      if (err instanceof RuneError && err.code === 'ABORTED' && attempt < 5) continue;
      throw err;
    }
  }
}

/** Deletes an ended run (its log goes with it, see the housekeeping tasks). FAILED_PRECONDITION while active. */
export async function deleteRun(store: Store, namespace: string, id: string): Promise<Run> {
  const run = await getRun(store, namespace, id);
  if (!isTerminal(run)) throw new RuneError('FAILED_PRECONDITION', `run "${id}" is still ${run.status?.phase ?? 'pending'}; cancel it first with \`rune runs cancel ${id}\``);
  return store.delete<Run>('runs', namespace, id, { resourceVersion: run.metadata!.resourceVersion });
}
