/**
 * runed's housekeeping tasks, as registered in server/runed.ts:
 *
 * | task | default period | does |
 * |---|---|---|
 * | event-log-compaction | 30 s | `store.compact()`: drops log entries beyond the retention limits |
 * | log-file-cleanup | 10 min (first run 1 min after start) | removes logs of instances and runs that no longer exist (log-cleanup.ts) |
 * | run-cleanup | 30 s | deletes ended runs past their job's ttlSecondsAfterFinished and beyond its history limits (when wired) |
 */
import { join } from 'node:path';
import type { Store } from '../store/store.js';
import { cleanUpLogFiles } from './log-cleanup.js';
import type { HousekeepingTask } from './scheduler.js';

export const DEFAULT_COMPACT_EVERY_MS = 30_000;
export const DEFAULT_LOG_CLEANUP_EVERY_MS = 10 * 60_000;
export const DEFAULT_RUN_CLEANUP_EVERY_MS = 30_000;

/** Compacts the store's event log (the store's own timer is off when runed runs this). */
export function compactionTask(store: Pick<Store, 'compact' | 'compactedRevision'>, everyMs = DEFAULT_COMPACT_EVERY_MS): HousekeepingTask {
  return {
    name: 'event-log-compaction',
    everyMs,
    run: async () => {
      const before = store.compactedRevision;
      await store.compact();
      const after = store.compactedRevision;
      return after > before ? `log now starts after revision ${after} (was ${before})` : `nothing to drop (log starts after revision ${after})`;
    },
  };
}

export interface LogCleanupTaskOptions {
  store: Store;
  dataDir: string;
  everyMs?: number;
  /** Default 1 min after start, plus up to 30 s of jitter. */
  firstRunMs?: number;
  graceMs?: number;
}

/** Removes the logs of deleted instances and runs (see log-cleanup.ts). */
export function logCleanupTask(options: LogCleanupTaskOptions): HousekeepingTask {
  return {
    name: 'log-file-cleanup',
    everyMs: options.everyMs ?? DEFAULT_LOG_CLEANUP_EVERY_MS,
    firstRunMs: options.firstRunMs ?? 60_000,
    jitterMs: options.firstRunMs === undefined ? 30_000 : 0,
    run: async (signal) => {
      const { removed, scanned } = await cleanUpLogFiles({ store: options.store, roots: [join(options.dataDir, 'logs')], graceMs: options.graceMs, signal });
      return `removed ${removed.length} log${removed.length === 1 ? '' : 's'} (${scanned} files scanned)`;
    },
  };
}

/**
 * Deletes runs past their TTL and beyond their job's history limits: `cleanUp(now)` resolves to
 * the number of runs deleted.
 */
export function runCleanupTask(cleanUp: (now: Date) => Promise<number>, everyMs = DEFAULT_RUN_CLEANUP_EVERY_MS): HousekeepingTask {
  return {
    name: 'run-cleanup',
    everyMs,
    run: async () => {
      const deleted = await cleanUp(new Date());
      return `deleted ${deleted} run${deleted === 1 ? '' : 's'}`;
    },
  };
}
