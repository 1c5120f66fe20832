/**
 * The run controller's decisions as pure functions of a run and the time (table-tested in
 * test/orchestrator/run-plan.test.ts, no processes): what to do with a run that has no process,
 * and its status after an attempt ended. The controller (run-controller.ts) does the I/O.
 *
 * Conventions:
 * - Phases: pending → running (⇄ blocked, reported by the workload) → finished | failed | cancelled.
 *   Between a failed attempt and its retry the run stays `running` with reason `Retrying` and
 *   `nextAttemptAt` set.
 * - Retries: a failed attempt (non-zero exit, killed by a signal, or could not start) is retried
 *   while the retries used are fewer than the template's backoffLimit (default 6); the delay
 *   starts at `retryBackoffMs` and doubles per failed attempt, capped at `maxRetryBackoffMs`.
 * - Deadline: activeDeadlineSeconds counts from the run's startedAt (its first attempt), across
 *   retries; when it passes the run fails with DeadlineExceeded, no retry.
 * - Cancellation: see `cancelReasonCode`.
 */
import type { Run, RunAttempt, RunStatus } from '../../shared/gen/rune/v1/run.js';
import { JOB_DEFAULTS } from '../../shared/spec/job-spec.js';
import { TERMINAL_PHASES } from '../domain/runs.js';

export interface RetryOptions {
  /** Delay before the first retry, in milliseconds (default 10 s); doubles per failed attempt... */
  retryBackoffMs: number;
  /** ...up to this (default 5 min). */
  maxRetryBackoffMs: number;
}

export const DEFAULT_RETRY: RetryOptions = { retryBackoffMs: 10_000, maxRetryBackoffMs: 5 * 60_000 };

/** The delay before the next attempt after `failedAttempts` (≥ 1) failed ones. */
export function retryDelayMs(failedAttempts: number, retry: RetryOptions): number {
  return Math.min(retry.retryBackoffMs * 2 ** Math.max(0, failedAttempts - 1), retry.maxRetryBackoffMs);
}

/** When the run's activeDeadlineSeconds runs out; undefined without a deadline or before it started. */
export function deadlineAt(run: Run): Date | undefined {
  const seconds = run.spec?.template?.activeDeadlineSeconds;
  const startedAt = run.status?.startedAt;
  if (!seconds || seconds <= 0 || !startedAt) return undefined;
  return new Date(startedAt.getTime() + seconds * 1000);
}

/**
 * The reason of a cancelled run. Convention: a `spec.cancelReason` that starts with "replaced"
 * (the job controller writes "replaced by run <id>" for concurrencyPolicy Replace) gives
 * `Replaced`; any other gives `Cancelled`. The run's message is the cancel reason itself.
 */
export function cancelReasonCode(cancelReason: string): 'Cancelled' | 'Replaced' {
  return /^replaced\b/i.test(cancelReason.trim()) ? 'Replaced' : 'Cancelled';
}

/** What the controller does with a run that has no live process of its own. */
export type NextStep =
  /** Start attempt `attempt` now. */
  | { action: 'start'; attempt: number }
  /** Waiting (for the retry time): look again after `ms`. */
  | { action: 'wait'; ms: number }
  /** It ends without (another) process: write `status` (a terminal patch). */
  | { action: 'end'; status: Partial<RunStatus> }
  /** Nothing to do: ended, or not this state's business (an open attempt is the adoption's). */
  | { action: 'none' };

/** The next step for a run with no process: not started yet, or between attempts. */
export function nextStep(run: Run, now: Date): NextStep {
  const status = run.status;
  if (!status || TERMINAL_PHASES.includes(status.phase)) return { action: 'none' };
  if (run.spec?.cancelRequested) {
    const reason = run.spec.cancelReason;
    return { action: 'end', status: ended('cancelled', cancelReasonCode(reason), reason, now) };
  }
  const deadline = deadlineAt(run);
  if (deadline && now >= deadline) return { action: 'end', status: ended('failed', 'DeadlineExceeded', deadlineMessage(run), now) };
  const last = status.attempts.at(-1);
  if (!last) return { action: 'start', attempt: 1 };
  if (!last.finishedAt) return { action: 'none' };
  const next = status.nextAttemptAt;
  if (next && next > now) {
    const until = deadline && deadline < next ? deadline : next;
    return { action: 'wait', ms: until.getTime() - now.getTime() };
  }
  return { action: 'start', attempt: last.number + 1 };
}

/** How an attempt ended. */
export interface AttemptEnd {
  /** -1 when unknown (e.g. it could not start, or vanished). */
  exitCode: number;
  /** Signal name when a signal killed it (the wrapper reports such deaths as 128+N instead). */
  exitSignal: string;
  at: Date;
  /** Why it ended when not on its own: runed stopped it, it vanished, or it could not start. */
  cause?: 'Cancelled' | 'DeadlineExceeded' | 'ProcessVanished' | 'StartFailed';
  /** What happened, for StartFailed and ProcessVanished. */
  message?: string;
}

/**
 * The status patch after the run's open (last) attempt ended: the attempt closed, then the run
 * finished, failed, cancelled, or waiting for its retry.
 */
export function decideAfterAttempt(run: Run, end: AttemptEnd, retry: RetryOptions): Partial<RunStatus> {
  const status = run.status!;
  const previous = status.attempts.at(-1);
  const number = previous?.number ?? 1;
  const succeeded = end.exitCode === 0 && !end.exitSignal && !end.cause;
  const attempt: RunAttempt = {
    number,
    pid: previous?.pid ?? 0,
    processStartTime: previous?.processStartTime ?? 0,
    startedAt: previous?.startedAt ?? end.at,
    finishedAt: end.at,
    exitCode: end.exitCode,
    exitSignal: end.exitSignal,
    reason: end.cause ?? (succeeded ? 'Completed' : 'Failed'),
  };
  const attempts = [...status.attempts.slice(0, -1), attempt];
  const what = `attempt ${number} ${describeEnd(end)}`;
  switch (end.cause) {
    case 'Cancelled': {
      const reason = run.spec?.cancelReason ?? '';
      return { attempts, ...ended('cancelled', cancelReasonCode(reason), reason, end.at) };
    }
    case 'DeadlineExceeded':
      return { attempts, ...ended('failed', 'DeadlineExceeded', deadlineMessage(run), end.at) };
    case 'ProcessVanished':
      return { attempts, ...ended('failed', 'ProcessVanished', end.message || what, end.at) };
  }
  if (succeeded) return { attempts, ...ended('finished', 'Completed', number > 1 ? `completed on attempt ${number}` : '', end.at) };
  // A failed attempt (or one that could not start): retry within backoffLimit.
  const limit = run.spec?.template?.backoffLimit ?? JOB_DEFAULTS.backoffLimit;
  const retriesUsed = attempts.length - 1;
  if (retriesUsed < limit) {
    const delay = retryDelayMs(attempts.length, retry);
    return {
      attempts,
      phase: 'running',
      reason: 'Retrying',
      message: `${what}; attempt ${number + 1} in ${formatDelay(delay)} (retry ${retriesUsed + 1} of ${limit})`,
      nextAttemptAt: new Date(end.at.getTime() + delay),
      lastChange: 'updated',
    };
  }
  const reason = end.cause === 'StartFailed' ? 'StartFailed' : 'BackoffLimitExceeded';
  return { attempts, ...ended('failed', reason, `${what}; ${limit === 0 ? 'no retries (backoffLimit 0)' : `backoffLimit (${limit}) reached`}`, end.at) };
}

/** The patch of a run reaching a terminal phase. */
function ended(phase: 'finished' | 'failed' | 'cancelled', reason: string, message: string, at: Date): Partial<RunStatus> {
  return { phase, reason, message, finishedAt: at, nextAttemptAt: undefined, lastChange: 'finished' };
}

function deadlineMessage(run: Run): string {
  return `still active after activeDeadlineSeconds (${run.spec?.template?.activeDeadlineSeconds ?? 0} s); stopped`;
}

function describeEnd(end: AttemptEnd): string {
  if (end.cause === 'StartFailed') return `could not start: ${end.message ?? 'unknown error'}`;
  if (end.exitSignal) return `was killed by ${end.exitSignal}`;
  if (end.exitCode < 0) return 'ended with an unknown status';
  return `exited with code ${end.exitCode}`;
}

function formatDelay(ms: number): string {
  return ms < 1000 ? `${ms} ms` : ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}
