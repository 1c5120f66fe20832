/**
 * Pure decisions of the instance controller: what a restart policy says after an exit, and how
 * long the restart backoff is. instance-plan.test.ts drives them with tables.
 *
 * Backoff: the first restart after a healthy run is immediate (a one-off crash should cost no
 * downtime); a crash loop then waits 10 s, 20 s, 40 s … capped at 5 min (the numbers of
 * Kubernetes' CrashLoopBackOff, which users know); an instance that ran for 10 min counts as
 * healthy again and its count resets.
 */
import type { InstanceStatus } from '../../shared/gen/rune/v1/instance.js';
import type { ExitInfo } from '../runner/runner.js';

export interface BackoffOptions {
  /** Delay before the second consecutive restart (default 10 s); doubles after. */
  baseMs: number;
  /** Cap (default 5 min). */
  maxMs: number;
  /** A run at least this long resets the count (default 10 min). */
  resetAfterMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 10_000, maxMs: 300_000, resetAfterMs: 600_000 };

export type RestartPolicy = 'Always' | 'OnFailure' | 'Never';

/** Delay before restart number `consecutive` (1 = the first restart after a healthy run). */
export function restartDelay(consecutive: number, backoff: BackoffOptions = DEFAULT_BACKOFF): number {
  if (consecutive <= 1) return 0;
  return Math.min(backoff.baseMs * 2 ** (consecutive - 2), backoff.maxMs);
}

export interface ExitDecision {
  /** The status fields to write (merged over the current status). */
  status: Partial<InstanceStatus>;
  /** Whether the instance will be started again (at status.nextRestartAt). */
  restart: boolean;
}

/**
 * What happens after the instance's process exited (or vanished, code -1): record the exit and
 * either schedule a restart (with backoff) or settle in `exited` / `failed`.
 * `cause` is set when runed itself stopped the process (liveness failure).
 */
export function decideAfterExit(options: {
  policy: RestartPolicy;
  exit: ExitInfo;
  status: InstanceStatus;
  now: Date;
  cause?: string;
  backoff?: BackoffOptions;
}): ExitDecision {
  const { policy, exit, status, now, cause } = options;
  const backoff = options.backoff ?? DEFAULT_BACKOFF;
  const ranMs = status.startedAt ? now.getTime() - status.startedAt.getTime() : 0;
  const succeeded = exit.code === 0 && !exit.signal && !cause;
  const restart = policy === 'Always' || (policy === 'OnFailure' && !succeeded);
  const consecutive = ranMs >= backoff.resetAfterMs ? 1 : status.consecutiveRestarts + 1;
  const base: Partial<InstanceStatus> = {
    pid: 0,
    processStartTime: 0,
    ready: false,
    lastExitCode: exit.code,
    lastExitSignal: exit.signal,
    finishedAt: exit.at,
  };
  const how = exit.signal ? `killed by ${exit.signal}` : exit.code >= 0 ? `exited with code ${exit.code}` : 'vanished (exit code unknown)';
  const detail = [cause, how, exit.daemonized ? 'it daemonized: its process group is still running, which runed does not track' : ''].filter(Boolean).join('; ');
  if (!restart) {
    return {
      restart: false,
      status: { ...base, phase: succeeded ? 'exited' : 'failed', reason: exit.daemonized ? 'Daemonized' : succeeded ? 'Completed' : cause ? 'LivenessFailed' : 'Error', message: detail, nextRestartAt: undefined },
    };
  }
  const delay = restartDelay(consecutive, backoff);
  return {
    restart: true,
    status: {
      ...base,
      phase: succeeded ? 'exited' : 'failed',
      reason: exit.daemonized ? 'Daemonized' : cause ? 'LivenessFailed' : consecutive > 1 ? 'CrashLoopBackOff' : succeeded ? 'Completed' : 'Error',
      message: delay > 0 ? `${detail}; restarting in ${Math.round(delay / 1000)}s (restart ${consecutive} in a row)` : `${detail}; restarting`,
      restartCount: status.restartCount + 1,
      consecutiveRestarts: consecutive,
      nextRestartAt: new Date(now.getTime() + delay),
    },
  };
}
