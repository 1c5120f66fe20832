/**
 * The `job:` cast-file document: a run-to-completion workload, run once when cast, on a cron
 * schedule, or on demand. It shares the workload fields (command, env, secret and configmap
 * references, mounts, resources, stop signal) and their rules with `service:`.
 *
 *     job:
 *       name: backup
 *       command: /usr/local/bin/backup
 *       schedule: "0 3 * * *"
 *       timezone: Europe/Paris
 *       concurrencyPolicy: Forbid
 *
 * As with services, the CLI (lint, cast) and the server (CastJob) apply exactly the same rules:
 * the server maps the message back to the cast-file shape and checks it again.
 */
import { Cron } from 'croner';
import { z } from 'zod';
import type { FieldViolation } from '../errors.js';
import { Job } from '../gen/rune/v1/job.js';
import { checkSchema, intBetween, type SchemaCheck } from './schema-check.js';
import { DEFAULT_NAMESPACE, SERVICE_DEFAULTS, documentToService, serviceToDocument, workloadRules, workloadShape } from './service-spec.js';

export const CONCURRENCY_POLICIES = ['Allow', 'Forbid', 'Replace'] as const;
export type ConcurrencyPolicy = (typeof CONCURRENCY_POLICIES)[number];

/** Upper bound of a job's `...Seconds` fields: 30 days. */
export const MAX_JOB_SECONDS = 30 * 24 * 3600;
export const MAX_BACKOFF_LIMIT = 100;
export const MAX_HISTORY_LIMIT = 1000;

/** Defaults applied to a job spec (see `applyJobDefaults`), as in Kubernetes Jobs and CronJobs. */
export const JOB_DEFAULTS = {
  runtime: SERVICE_DEFAULTS.runtime,
  concurrencyPolicy: 'Allow',
  backoffLimit: 6,
  successfulRunsHistoryLimit: 3,
  failedRunsHistoryLimit: 1,
  stopSignal: SERVICE_DEFAULTS.stopSignal,
  stopTimeoutSeconds: SERVICE_DEFAULTS.stopTimeoutSeconds,
} as const;

/**
 * Why a cron expression cannot be used, or undefined when it can: 5 fields (minute hour
 * day-of-month month day-of-week) or 6 with seconds first. Parsed by croner; a 7th field
 * (year), which croner would take, is refused here.
 */
export function cronProblem(expression: string): string | undefined {
  const fields = expression.trim().split(/\s+/).filter((f) => f !== '');
  if (fields.length !== 5 && fields.length !== 6) {
    return `"${expression}" has ${fields.length} field${fields.length === 1 ? '' : 's'}; write 5 (minute hour day-of-month month day-of-week, e.g. "*/5 * * * *") or 6 with seconds first (e.g. "*/10 * * * * *")`;
  }
  try {
    new Cron(expression, { paused: true });
  } catch (err) {
    const reason = (err as Error).message.replace(/^CronPattern:\s*/, '');
    return `"${expression}" is not a valid cron expression: ${reason}`;
  }
  return undefined;
}

/** Why `zone` is not an IANA time zone runed knows, or undefined. */
export function timezoneProblem(zone: string): string | undefined {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return undefined;
  } catch {
    return `"${zone}" is not a known IANA time zone; write one like "UTC", "Europe/Paris" or "America/New_York"`;
  }
}

/**
 * The next time `schedule` fires strictly after `after`, read in `timezone` ('' for runed's
 * own); undefined when it never fires again.
 */
export function nextScheduleTime(schedule: string, timezone: string, after: Date): Date | undefined {
  const cron = new Cron(schedule, { paused: true, timezone: timezone || undefined });
  return cron.nextRun(after) ?? undefined;
}

const seconds = (min: number, description: string) => intBetween(min, MAX_JOB_SECONDS).optional().meta({ description });

export const JobDocumentSchema = z
  .strictObject({
    ...workloadShape('job', 'run'),
    schedule: z
      .string()
      .superRefine((value, ctx) => {
        const problem = cronProblem(value);
        if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
      })
      .optional()
      .meta({
        description:
          'Cron expression: 5 fields (`minute hour day-of-month month day-of-week`), or 6 with seconds first (`*/10 * * * * *`). Without it the job runs once when cast (and again when its spec changes), and on demand with `rune runs start`.',
        typeText: 'cron expression',
        defaultText: 'none: run once',
      }),
    timezone: z
      .string()
      .superRefine((value, ctx) => {
        const problem = timezoneProblem(value);
        if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
      })
      .optional()
      .meta({ description: 'IANA time zone the schedule is read in, e.g. `Europe/Paris`.', typeText: 'time zone', defaultText: "runed's time zone" }),
    concurrencyPolicy: z
      .enum(CONCURRENCY_POLICIES)
      .optional()
      .meta({
        description: 'What a scheduled time does while a run of the job is still active: `Allow` (start another), `Forbid` (skip this time) or `Replace` (cancel the active runs, then start).',
        default: JOB_DEFAULTS.concurrencyPolicy,
      }),
    backoffLimit: intBetween(0, MAX_BACKOFF_LIMIT)
      .optional()
      .meta({ description: 'Retries of a failed attempt (non-zero exit) before the run fails; the retry delay doubles from 10 s.', default: JOB_DEFAULTS.backoffLimit }),
    activeDeadlineSeconds: seconds(1, 'A run still active this long after it started is stopped and fails with reason DeadlineExceeded (no retry).'),
    ttlSecondsAfterFinished: seconds(0, 'A finished, failed or cancelled run is deleted this long after it ended; left out, runs are kept within the history limits.'),
    successfulRunsHistoryLimit: intBetween(0, MAX_HISTORY_LIMIT)
      .optional()
      .meta({ description: 'Finished runs kept per job; older ones are deleted with their logs.', default: JOB_DEFAULTS.successfulRunsHistoryLimit }),
    failedRunsHistoryLimit: intBetween(0, MAX_HISTORY_LIMIT)
      .optional()
      .meta({ description: 'Failed or cancelled runs kept per job.', default: JOB_DEFAULTS.failedRunsHistoryLimit }),
    suspend: z.boolean().optional().meta({ description: 'No scheduled runs while true; `rune runs start` still starts one.', default: false }),
    startingDeadlineSeconds: seconds(
      0,
      'When runed was down at a scheduled time, it starts one run for the latest missed time only if it is back within this many seconds of it; left out, the latest missed time always gets one run.',
    ),
  })
  .meta({ description: 'A run-to-completion workload: once, on a cron schedule, or on demand.' });

export type JobDocument = z.output<typeof JobDocumentSchema>;

type Plain = Record<string, unknown>;
const isPlain = (value: unknown): value is Plain => typeof value === 'object' && value !== null && !Array.isArray(value);

function jobRules(doc: unknown): FieldViolation[] {
  const violations = workloadRules(doc);
  if (!isPlain(doc)) return violations;
  if (doc.timezone !== undefined && doc.schedule === undefined) {
    violations.push({ field: 'timezone', description: 'is only used with a schedule; add schedule or remove timezone' });
  }
  if (doc.startingDeadlineSeconds !== undefined && doc.schedule === undefined) {
    violations.push({ field: 'startingDeadlineSeconds', description: 'is only used with a schedule; add schedule or remove startingDeadlineSeconds' });
  }
  return violations;
}

/** Checks a job document against the schema and the cross-field rules (no defaults applied). */
export function validateJobDocument(doc: unknown): SchemaCheck<JobDocument> {
  const checked = checkSchema(JobDocumentSchema, doc);
  const violations = [...checked.violations, ...jobRules(doc)];
  return violations.length === 0 ? { value: checked.value, violations } : { violations };
}

/** Builds the `rune.v1.Job` for a job document, defaults applied; `job` only when there are no violations. */
export function jobFromDocument(doc: unknown, options: { defaultNamespace?: string } = {}): { job?: Job; violations: FieldViolation[] } {
  const checked = validateJobDocument(doc);
  if (checked.value === undefined) return { violations: checked.violations };
  return { job: applyJobDefaults(documentToJob(checked.value, options.defaultNamespace ?? DEFAULT_NAMESPACE)), violations: [] };
}

/** The violations of a Job message as the server receives it: the same rules as a cast file. */
export function validateJob(job: Job): FieldViolation[] {
  return validateJobDocument(jobToDocument(job)).violations;
}

/** A copy of `job` with every spec default filled in; never mutates its argument. */
export function applyJobDefaults(job: Job): Job {
  const copy = Job.fromPartial(structuredClone(job));
  const metadata = copy.metadata ?? Job.fromPartial({ metadata: {} }).metadata!;
  if (metadata.namespace === '') metadata.namespace = DEFAULT_NAMESPACE;
  const spec = copy.spec ?? Job.fromPartial({ spec: {} }).spec!;
  spec.runtime ||= JOB_DEFAULTS.runtime;
  spec.concurrencyPolicy ||= JOB_DEFAULTS.concurrencyPolicy;
  spec.backoffLimit ??= JOB_DEFAULTS.backoffLimit;
  spec.successfulRunsHistoryLimit ??= JOB_DEFAULTS.successfulRunsHistoryLimit;
  spec.failedRunsHistoryLimit ??= JOB_DEFAULTS.failedRunsHistoryLimit;
  spec.stopSignal ||= JOB_DEFAULTS.stopSignal;
  spec.stopTimeoutSeconds ||= JOB_DEFAULTS.stopTimeoutSeconds;
  if (spec.resources && (!spec.resources.memory || spec.resources.memory.limit === '')) spec.resources = undefined;
  return { ...copy, metadata, spec };
}

/** The Job for a document that passed `validateJobDocument`, without defaults. */
export function documentToJob(doc: JobDocument, defaultNamespace: string): Job {
  // The workload fields map exactly as a service's do.
  const workload = documentToService({ ...doc, scale: 0 }, defaultNamespace);
  const w = workload.spec!;
  return Job.fromPartial({
    metadata: workload.metadata,
    spec: {
      runtime: w.runtime,
      command: w.command,
      args: w.args,
      workingDir: w.workingDir,
      env: w.env,
      envFrom: w.envFrom,
      secretMounts: w.secretMounts,
      configmapMounts: w.configmapMounts,
      resources: w.resources,
      stopSignal: w.stopSignal,
      stopTimeoutSeconds: w.stopTimeoutSeconds,
      schedule: doc.schedule ?? '',
      timezone: doc.timezone ?? '',
      concurrencyPolicy: doc.concurrencyPolicy ?? '',
      backoffLimit: doc.backoffLimit,
      activeDeadlineSeconds: doc.activeDeadlineSeconds,
      ttlSecondsAfterFinished: doc.ttlSecondsAfterFinished,
      successfulRunsHistoryLimit: doc.successfulRunsHistoryLimit,
      failedRunsHistoryLimit: doc.failedRunsHistoryLimit,
      suspend: doc.suspend ?? false,
      startingDeadlineSeconds: doc.startingDeadlineSeconds,
    },
  });
}

/** The cast-file form of a Job message: unset fields left out. It may be invalid. */
export function jobToDocument(job: Job): Record<string, unknown> {
  const spec = job.spec;
  const workload = serviceToDocument({
    metadata: job.metadata,
    spec: spec && {
      runtime: spec.runtime,
      command: spec.command,
      args: spec.args,
      workingDir: spec.workingDir,
      env: spec.env,
      envFrom: spec.envFrom,
      secretMounts: spec.secretMounts,
      configmapMounts: spec.configmapMounts,
      resources: spec.resources,
      stopSignal: spec.stopSignal,
      stopTimeoutSeconds: spec.stopTimeoutSeconds,
      scale: 0,
      ports: [],
      health: undefined,
      restartPolicy: '',
      dependencies: [],
      image: '',
    },
    status: undefined,
    restartEpoch: 0,
  });
  delete workload.scale;
  if (!spec) return workload;
  const doc: Plain = { ...workload };
  if (spec.schedule !== '') doc.schedule = spec.schedule;
  if (spec.timezone !== '') doc.timezone = spec.timezone;
  if (spec.concurrencyPolicy !== '') doc.concurrencyPolicy = spec.concurrencyPolicy;
  for (const key of ['backoffLimit', 'activeDeadlineSeconds', 'ttlSecondsAfterFinished', 'successfulRunsHistoryLimit', 'failedRunsHistoryLimit', 'startingDeadlineSeconds'] as const) {
    if (spec[key] !== undefined) doc[key] = spec[key];
  }
  if (spec.suspend) doc.suspend = true;
  return doc;
}
