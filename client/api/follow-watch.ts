/**
 * A watch that survives runed restarts, for any watchable kind: it resumes from the last
 * revision seen when the stream drops (UNAVAILABLE, or the server ending it) or the server cuts
 * a slow consumer off (RESOURCE_EXHAUSTED), and relists when the revision is too old to resume
 * from (OUT_OF_RANGE). Events are delivered in revision order, each at most once.
 *
 * Retry semantics: a dropped stream is transient — retry with capped exponential backoff, at
 * most `retries` times in a row (the count resets whenever a message arrives); "too old" is
 * recoverable — relist, then watch from the list's revision; anything else is permanent — throw.
 *
 * follow-services.ts and follow-instances.ts bind this to one kind's list and watch RPCs;
 * follow-runs.ts binds it to ListRuns and WatchRuns (whose messages have the same shape: events
 * with a revision each, and a progress revision).
 */
import { RuneError, type CodeName } from '../../shared/errors.js';
import type { WatchCanceled, WatchEvent } from '../../shared/gen/rune/v1/watch_service.js';
import { abortableSleep, backoffDelay, DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry-policy.js';

/**
 * One message of a watch stream: events in revision order (each revision is one change), the
 * revision the stream has been brought up to, and watches the server ended (WatchResponse).
 */
export interface WatchMessage<E extends { revision: number }> {
  events: E[];
  revision: number;
  canceled?: WatchCanceled[];
}

/** What every follow takes besides the kind's own list and watch calls. */
export interface FollowCallbacks<T, E extends { revision: number } = WatchEvent> {
  /** Deliver events after this revision (the initial list's). */
  fromRevision: number;
  onEvent(event: E): void;
  /** After a relist (the watch was too old): the current objects and the list's revision. */
  onRelist?(items: T[], revision: number): void;
  /** Told before each reconnect, e.g. to print a notice. */
  onRetry?(error: RuneError, attempt: number, delayMs: number, fromRevision: number): void;
  /** Ends the watch quietly. */
  signal?: AbortSignal;
  retry?: Partial<RetryPolicy>;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export interface FollowWatchOptions<T, E extends { revision: number } = WatchEvent> extends FollowCallbacks<T, E> {
  /** Every current object and the revision of the list (called after OUT_OF_RANGE). */
  list(): Promise<{ items: T[]; revision: number }>;
  /** Opens the kind's watch stream after `fromRevision`; must end quietly when `signal` aborts. */
  watch(fromRevision: number, signal: AbortSignal | undefined): AsyncIterable<WatchMessage<E>>;
}

const RESUMABLE: ReadonlySet<CodeName> = new Set(['UNAVAILABLE', 'RESOURCE_EXHAUSTED', 'INTERNAL']);

/** Follows changes until `signal` aborts (resolves) or a permanent error (rejects with a RuneError). */
export async function followWatch<T, E extends { revision: number } = WatchEvent>(options: FollowWatchOptions<T, E>): Promise<void> {
  const { signal } = options;
  const policy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
  const sleep = options.sleep ?? abortableSleep;
  let revision = options.fromRevision;
  let failures = 0;
  let relist = false;

  while (!signal?.aborted) {
    try {
      if (relist) {
        const listed = await options.list();
        revision = listed.revision;
        relist = false;
        options.onRelist?.(listed.items, listed.revision);
      }
      for await (const message of options.watch(revision, signal)) {
        failures = 0;
        for (const canceled of message.canceled ?? []) {
          throw new RuneError((canceled.code || 'UNKNOWN') as CodeName, canceled.message || 'the server ended the watch');
        }
        for (const event of message.events) {
          if (event.revision <= revision) continue; // already delivered before a reconnect
          revision = event.revision;
          options.onEvent(event);
        }
        if (message.revision > revision) revision = message.revision;
      }
      if (signal?.aborted) return;
      throw new RuneError('UNAVAILABLE', 'the server ended the watch stream');
    } catch (err) {
      if (signal?.aborted) return;
      const error = RuneError.from(err);
      if (error.code === 'OUT_OF_RANGE') {
        relist = true; // recoverable: the revision is no longer retained
        continue;
      }
      if (!RESUMABLE.has(error.code)) throw error; // permanent
      failures++;
      if (failures > policy.retries) {
        throw new RuneError(error.code, `${error.message} (gave up after ${policy.retries} reconnect attempts)`, { cause: error });
      }
      const delay = backoffDelay(policy, failures);
      options.onRetry?.(error, failures, delay, revision);
      await sleep(delay, signal); // transient: back off, then resume from `revision`
    }
  }
}

/**
 * Every item of a paged list (following continue tokens) and the revision of the first page.
 * `page` fetches one page for a continue token.
 */
export async function listAll<T>(page: (continueToken: string) => Promise<{ items: T[]; revision?: number; continueToken?: string }>): Promise<{ items: T[]; revision: number }> {
  const items: T[] = [];
  let continueToken = '';
  let revision: number | undefined;
  do {
    const result = await page(continueToken);
    items.push(...result.items);
    revision ??= result.revision ?? 0;
    continueToken = result.continueToken ?? '';
  } while (continueToken !== '');
  return { items, revision };
}
