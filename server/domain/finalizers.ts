/**
 * Finalizers and well-known labels. An object with finalizers is not removed by a delete: the
 * delete sets metadata.deletionTimestamp, and the controller owning each finalizer does its
 * cleanup, then removes the record.
 */

/** On services: their instances are stopped and removed before the service record goes. */
export const SERVICE_FINALIZER = 'rune.dev/instances';
/** On instances: the process is stopped before the instance record goes. */
export const INSTANCE_FINALIZER = 'rune.dev/process';
/** Label on instances naming their service. */
export const SERVICE_LABEL = 'rune.dev/service';

/** On jobs: the job controller cancels and deletes the job's runs before the job goes. */
export const JOB_FINALIZER = 'rune.dev/runs';
