/**
 * Run events: how a store change to a run reads as an event of WatchRuns and of the local
 * event socket. The event id is the store revision, so both streams share its total order, its
 * resume point and its no-loss guarantee; the type comes from the run itself
 * (`status.lastChange`, set by the writer in the same write).
 */
import type { Run } from '../../shared/gen/rune/v1/run.js';
import type { RunEvent } from '../../shared/gen/rune/v1/run.js';
import type { RunFilter } from '../../shared/gen/rune/v1/run_service.js';
import { RuneError } from '../../shared/errors.js';
import type { Store, StoreEvent, Subscription } from '../store/store.js';
import { runMatches } from './runs.js';

export const RUN_EVENT_TYPES = ['run:added', 'run:updated', 'run:progress', 'run:finished', 'run:warning', 'run:deleted'] as const;
export type RunEventType = (typeof RUN_EVENT_TYPES)[number];

const CHANGES = new Set(['updated', 'progress', 'finished', 'warning']);

/** The event type of a store event on a run. */
export function runEventType(event: StoreEvent): RunEventType {
  if (event.type === 'DELETED') return 'run:deleted';
  if (event.type === 'ADDED') return 'run:added';
  const change = (event.object as Run).status?.lastChange ?? '';
  return CHANGES.has(change) ? (`run:${change}` as RunEventType) : 'run:updated';
}

export function toRunEvent(event: StoreEvent): RunEvent {
  return { revision: event.revision, type: runEventType(event), run: event.object as Run };
}

/** What a run-event subscriber selects: namespaces (empty or "*": all) and a run filter. */
export interface RunSelector {
  namespaces: string[];
  filter?: RunFilter;
}

export function selectsRunEvent(selector: RunSelector, event: StoreEvent): boolean {
  if (event.kind !== 'runs') return false;
  const all = selector.namespaces.length === 0 || selector.namespaces.includes('*');
  if (!all && !selector.namespaces.includes(event.namespace)) return false;
  return runMatches(event.object as Run, selector.filter);
}

/** Most history events a subscriber may ask for. */
export const MAX_RUN_HISTORY = 10_000;

/**
 * The last `count` matching run events still retained, oldest first, and the revision they were
 * read at: a subscription from that revision continues without gap or repeat.
 */
export async function runHistory(store: Store, selector: RunSelector, count: number): Promise<{ events: StoreEvent[]; revision: number }> {
  const single = selector.namespaces.length === 1 && selector.namespaces[0] !== '*' ? selector.namespaces[0] : undefined;
  return store.recent({ kind: 'runs', namespace: single, limit: Math.min(Math.max(count, 0), MAX_RUN_HISTORY), match: (e) => selectsRunEvent(selector, e) });
}

export interface RunFeedOptions {
  /** Send the last N matching events first (ignored when resuming with fromRevision). */
  includeHistory: number;
  /** Resume: every matching event after this revision; 0 means from now (after the history). */
  fromRevision: number;
}

export interface RunFeedSink {
  /**
   * Matching events in revision order, and the revision the feed has been brought up to. The
   * first call (possibly with no events) ends the history: `historyEnd` is true on it alone.
   */
  batch(events: readonly StoreEvent[], revision: number, historyEnd: boolean): void;
  /** The feed ended: OUT_OF_RANGE (resume point compacted away), RESOURCE_EXHAUSTED (fell behind). */
  error(err: Error): void;
}

/**
 * The run-event feed behind WatchRuns and the local event socket: history, then live events,
 * with the store watch's guarantees (revision order, no gap, no repeat). Resolves to the
 * subscription to close when the subscriber leaves.
 */
export async function openRunFeed(store: Store, selector: RunSelector, options: RunFeedOptions, sink: RunFeedSink): Promise<Subscription> {
  let start: number;
  if (options.fromRevision > 0) {
    start = options.fromRevision;
    if (start < store.compactedRevision) {
      throw new RuneError('OUT_OF_RANGE', `revision ${start} is older than the retained event log (oldest ${store.compactedRevision}); list runs again and watch from its revision`);
    }
    sink.batch([], Math.max(start, 0), true);
  } else {
    const history = options.includeHistory > 0 ? await runHistory(store, selector, options.includeHistory) : { events: [], revision: store.revision };
    start = history.revision;
    sink.batch(history.events, history.revision, true);
  }
  const single = selector.namespaces.length === 1 && selector.namespaces[0] !== '*' ? selector.namespaces[0] : undefined;
  return store.subscribe(
    { kind: 'runs', namespace: single, fromRevision: start },
    {
      events: (batch) => {
        const selected = batch.filter((e) => selectsRunEvent(selector, e));
        if (selected.length > 0) sink.batch(selected, batch[batch.length - 1]!.revision, false);
      },
      error: (err) => sink.error(err),
    },
  );
}
