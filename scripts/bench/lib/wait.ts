/** Bounded waiting: every loop of the benchmark ends by count and by time. */

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `check` every `everyMs` until it returns something other than undefined/false; throws
 * naming `what` after `timeoutMs` (or at `deadline`, whichever comes first).
 */
export async function waitFor<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, options: { timeoutMs: number; everyMs?: number; deadline?: number }): Promise<T> {
  const until = Math.min(Date.now() + options.timeoutMs, options.deadline ?? Infinity);
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value as T;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= until) throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await sleep(options.everyMs ?? 20);
  }
}

/** `promise`, or a rejection naming `what` after `timeoutMs`. */
export function withTimeout<T>(what: string, promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
