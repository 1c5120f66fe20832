/**
 * Follows one run until it ends, for `rune runs start --wait`: its job's run events from the
 * revision the run was created at (so no change is missed), reconnecting across runed restarts
 * like every watch (follow-runs.ts).
 */
import type { Run } from '../../shared/gen/rune/v1/run.js';
import type { RuneError } from '../../shared/errors.js';
import { followRuns } from '../api/follow-runs.js';
import type { RuneClient } from '../api/rune-client.js';
import { runPhase, TERMINAL_PHASES } from './output/run-printers.js';

export interface WaitForRunOptions {
  client: Pick<RuneClient, 'listRuns' | 'watchRuns'>;
  /** The run as StartRun returned it (its resourceVersion is where the watch starts). */
  run: Run;
  /** Told of every change to the run. */
  onUpdate?(run: Run): void;
  onRetry?(error: RuneError, attempt: number, delayMs: number): void;
  /** Stops waiting: the promise then resolves undefined. */
  signal?: AbortSignal;
  /** How reconnects wait (tests pass one that does not). */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** How the wait ended: the run's last state, and whether it was deleted before it ended. */
export interface RunOutcome {
  run: Run;
  deleted: boolean;
}

/** The run's end (a terminal phase, or its deletion); undefined when `signal` stopped the wait. Rejects on a permanent watch error. */
export async function waitForRun(options: WaitForRunOptions): Promise<RunOutcome | undefined> {
  const { run } = options;
  if (TERMINAL_PHASES.has(runPhase(run))) return { run, deleted: false };
  const id = run.metadata?.name ?? '';
  const namespace = run.metadata?.namespace ?? '';
  const stop = new AbortController();
  const onAbort = () => stop.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  let outcome: RunOutcome | undefined;
  const see = (current: Run | undefined, deleted: boolean) => {
    if (outcome) return;
    if (current === undefined) {
      outcome = { run, deleted: true }; // gone from a relist: deleted while we were away
    } else {
      options.onUpdate?.(current);
      if (deleted || TERMINAL_PHASES.has(runPhase(current))) outcome = { run: current, deleted };
    }
    if (outcome) stop.abort();
  };
  try {
    await followRuns({
      client: options.client,
      namespace,
      filter: { job: run.spec?.job ?? '' },
      fromRevision: run.metadata?.resourceVersion ?? 0,
      signal: stop.signal,
      onEvent: (event) => {
        if (event.run?.metadata?.name === id) see(event.run, event.type === 'run:deleted');
      },
      onRelist: (runs) => see(runs.find((r) => r.metadata?.name === id), false),
      onRetry: (error, attempt, delayMs) => options.onRetry?.(error, attempt, delayMs),
      sleep: options.sleep,
    });
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
  return outcome;
}
