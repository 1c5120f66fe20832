/**
 * How the client's long-lived streams (watches, followed logs) retry a dropped connection:
 * capped exponential backoff, a bounded number of consecutive attempts.
 */

export interface RetryPolicy {
  /** Consecutive failed attempts before giving up. Default 6. */
  retries: number;
  /** First backoff delay; doubles per attempt. Default 500 ms. */
  initialDelayMs: number;
  /** Cap of the backoff delay. Default 8 s. */
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { retries: 6, initialDelayMs: 500, maxDelayMs: 8000 };

/** The delay before attempt `attempt` (1-based): initialDelayMs · 2^(attempt-1), at most maxDelayMs. */
export function backoffDelay(policy: RetryPolicy, attempt: number): number {
  return Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** (attempt - 1));
}

/** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
