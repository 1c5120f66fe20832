/**
 * A watch on services that survives runed restarts: it resumes from the last revision seen when
 * the stream drops (UNAVAILABLE, or the server ending it) or the server cuts a slow consumer off
 * (RESOURCE_EXHAUSTED), and relists when the revision is too old to resume from (OUT_OF_RANGE).
 * Events are delivered in revision order, each at most once.
 *
 * Retry semantics: a dropped stream is transient — retry with capped exponential backoff, at
 * most `retries` times in a row (the count resets whenever a message arrives); "too old" is
 * recoverable — relist, then watch from the list's revision; anything else is permanent — throw.
 */
import { RuneError, type CodeName } from '../../shared/errors.js';
import type { Service } from '../../shared/gen/rune/v1/service.js';
import type { WatchEvent } from '../../shared/gen/rune/v1/watch_service.js';
import type { RuneClient } from './rune-client.js';

export interface RetryPolicy {
  /** Consecutive failed attempts before giving up. Default 6. */
  retries: number;
  /** First backoff delay; doubles per attempt. Default 500 ms. */
  initialDelayMs: number;
  /** Cap of the backoff delay. Default 8 s. */
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { retries: 6, initialDelayMs: 500, maxDelayMs: 8000 };

export interface FollowServicesOptions {
  client: Pick<RuneClient, 'listServices' | 'watchServices'>;
  /** A namespace, or '*' for all. */
  namespace: string;
  labelSelector?: string;
  /** Deliver events after this revision (the initial list's). */
  fromRevision: number;
  onEvent(event: WatchEvent): void;
  /** After a relist (the watch was too old): the current services and the list's revision. */
  onRelist?(services: Service[], revision: number): void;
  /** Told before each reconnect, e.g. to print a notice. */
  onRetry?(error: RuneError, attempt: number, delayMs: number, fromRevision: number): void;
  /** Ends the watch quietly. */
  signal?: AbortSignal;
  retry?: Partial<RetryPolicy>;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

const RESUMABLE: ReadonlySet<CodeName> = new Set(['UNAVAILABLE', 'RESOURCE_EXHAUSTED', 'INTERNAL']);

/** Follows service changes until `signal` aborts (resolves) or a permanent error (rejects). */
export async function followServices(options: FollowServicesOptions): Promise<void> {
  const { client, namespace, signal } = options;
  const policy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
  const sleep = options.sleep ?? abortableSleep;
  let revision = options.fromRevision;
  let failures = 0;
  let relist = false;

  while (!signal?.aborted) {
    try {
      if (relist) {
        const listed = await listAllServices(client, namespace, options.labelSelector);
        revision = listed.revision;
        relist = false;
        options.onRelist?.(listed.services, listed.revision);
      }
      for await (const message of client.watchServices({ namespace, fromRevision: revision }, { signal })) {
        failures = 0;
        for (const canceled of message.canceled) {
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
      const delay = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** (failures - 1));
      options.onRetry?.(error, failures, delay, revision);
      await sleep(delay, signal); // transient: back off, then resume from `revision`
    }
  }
}

/** Every service in `namespace` (following continue tokens) and the revision of the first page. */
export async function listAllServices(client: Pick<RuneClient, 'listServices'>, namespace: string, labelSelector = ''): Promise<{ services: Service[]; revision: number }> {
  const services: Service[] = [];
  let continueToken = '';
  let revision: number | undefined;
  do {
    const page = await client.listServices({ namespace, options: { limit: 500, continueToken, labelSelector } });
    services.push(...page.services);
    revision ??= page.listMeta?.revision ?? 0;
    continueToken = page.listMeta?.continueToken ?? '';
  } while (continueToken !== '');
  return { services, revision };
}

function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
