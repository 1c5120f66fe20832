/**
 * followWatch (follow-watch.ts) bound to runs: WatchRuns to follow, ListRuns to relist. The first
 * stream asks for the last `history` matching events; every reconnect asks for the events after
 * the last revision seen (an event's, or the stream's progress mark) with no history, so each
 * event is delivered once, in revision order, across runed restarts.
 *
 * Retry semantics are followWatch's: a dropped stream (UNAVAILABLE, the server ending it,
 * RESOURCE_EXHAUSTED) is transient — reconnect with capped exponential backoff; OUT_OF_RANGE (the
 * revision is no longer retained) is recoverable — relist, report the runs through onRelist,
 * watch on from the list's revision; anything else (UNIMPLEMENTED, PERMISSION_DENIED, ...) is
 * permanent — the promise rejects.
 */
import type { Run, RunEvent } from '../../shared/gen/rune/v1/run.js';
import type { RunFilter, WatchRunsResponse } from '../../shared/gen/rune/v1/run_service.js';
import { followWatch, listAll, type FollowCallbacks } from './follow-watch.js';
import type { RuneClient } from './rune-client.js';

export interface FollowRunsOptions extends Omit<FollowCallbacks<Run, RunEvent>, 'fromRevision'> {
  client: Pick<RuneClient, 'listRuns' | 'watchRuns'>;
  /** A namespace, or '*' for all. */
  namespace: string;
  /** The server filters the watch and the relist: job, phases, source ('' or '*': every source). */
  filter?: Partial<RunFilter>;
  /** How many past matching events the first stream sends before live ones. Default 0. */
  history?: number;
  /** Resume after this revision (no history); 0 (default): from now, after the history. */
  fromRevision?: number;
  /** Told of every message before its events are delivered (its progress revision, the end of the history). */
  onMessage?(message: WatchRunsResponse): void;
}

/** Follows run events until `signal` aborts (resolves) or a permanent error (rejects with a RuneError). */
export function followRuns(options: FollowRunsOptions): Promise<void> {
  const { client, namespace } = options;
  const filter = runFilter(options.filter);
  return followWatch<Run, RunEvent>({
    ...options,
    fromRevision: options.fromRevision ?? 0,
    list: async () => {
      const { runs, revision } = await listAllRuns(client, namespace, filter);
      return { items: runs, revision };
    },
    watch: (fromRevision, signal) => {
      const request = fromRevision === 0 ? { namespace, filter, includeHistory: options.history ?? 0 } : { namespace, filter, fromRevision, includeHistory: 0 };
      return tap(client.watchRuns(request, { signal }), options.onMessage);
    },
  });
}

async function* tap<M>(stream: AsyncIterable<M>, see: ((message: M) => void) | undefined): AsyncGenerator<M, void, undefined> {
  for await (const message of stream) {
    see?.(message);
    yield message;
  }
}

export interface ListRunsOptions {
  /** Stop after this many runs (newest first). Default: every run. */
  limit?: number;
}

/** The runs in `namespace` ('*': all) matching `filter`, newest first, and the revision of the first page. */
export async function listAllRuns(client: Pick<RuneClient, 'listRuns'>, namespace: string, filter?: Partial<RunFilter>, options: ListRunsOptions = {}): Promise<{ runs: Run[]; revision: number }> {
  const limit = options.limit ?? Infinity;
  let count = 0;
  const { items, revision } = await listAll(async (continueToken) => {
    const page = await client.listRuns({ namespace, filter: runFilter(filter), options: { limit: Math.min(500, limit - count), continueToken } });
    count += page.runs.length;
    return { items: page.runs, revision: page.listMeta?.revision, continueToken: count >= limit ? '' : page.listMeta?.continueToken };
  });
  return { runs: items.slice(0, limit), revision };
}

function runFilter(filter: Partial<RunFilter> = {}): RunFilter {
  return { job: filter.job ?? '', status: [...(filter.status ?? [])], source: filter.source ?? '' };
}
