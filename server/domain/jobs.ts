/**
 * Jobs: cast (create-or-update, kubectl-apply style), get, list, delete. The spec is validated
 * and defaulted by the shared cast-file rules (shared/spec/job-spec.ts), the same ones the CLI
 * lints with. Runs are started by the job controller (once, or on the schedule) and by
 * `rune runs start` (server/domain/runs.ts).
 */
import { RuneError } from '../../shared/errors.js';
import { Job } from '../../shared/gen/rune/v1/job.js';
import type { ListMeta } from '../../shared/gen/rune/v1/meta.js';
import { applyJobDefaults, validateJob } from '../../shared/spec/job-spec.js';
import type { Store } from '../store/store.js';
import { JOB_FINALIZER } from './finalizers.js';
import { applyObject, deleteObject, parseLabelSelector, throwIfInvalid, type ApplyKind, type ApplyResult } from './objects.js';

const jobApply: ApplyKind<Job> = {
  kind: 'jobs',
  noun: 'job',
  spec: (job) => job.spec,
  withSpec: (current, desired) => ({ ...current, spec: desired.spec }),
  fresh: (desired, meta) => Job.fromPartial({ metadata: { ...meta, finalizers: [JOB_FINALIZER] }, spec: desired.spec }),
};

/**
 * Creates the job or updates its spec and labels. INVALID_ARGUMENT naming the field (a cron
 * expression or time zone that cannot be read, ...); NOT_FOUND when the namespace is missing.
 */
export async function castJob(store: Store, input: Job, options: { dryRun: boolean }): Promise<{ job: Job; result: ApplyResult }> {
  throwIfInvalid(`job "${input.metadata?.name ?? ''}"`, validateJob(input));
  const { object, result } = await applyObject(store, jobApply, applyJobDefaults(input), options);
  return { job: object, result };
}

export async function getJob(store: Store, namespace: string, name: string): Promise<Job> {
  const job = await store.get<Job>('jobs', namespace, name);
  if (!job) throw RuneError.notFound(`job "${name}" not found in namespace "${namespace}"`);
  return job;
}

export async function listJobs(store: Store, namespace: string, options: { limit?: number; continueToken?: string; labelSelector?: string }): Promise<{ jobs: Job[]; listMeta: ListMeta }> {
  const page = await store.list<Job>('jobs', {
    namespace: namespace === '*' ? undefined : namespace,
    limit: options.limit,
    continueToken: options.continueToken,
    labels: parseLabelSelector(options.labelSelector ?? ''),
  });
  return { jobs: page.items, listMeta: { revision: page.revision, continueToken: page.continueToken } };
}

/** Marks the job for deletion: the job controller cancels its active runs and deletes its runs, then the job. */
export function deleteJob(store: Store, namespace: string, name: string, resourceVersion: number): Promise<Job> {
  return deleteObject<Job>(store, 'jobs', 'job', namespace, name, resourceVersion);
}
