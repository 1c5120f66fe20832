/**
 * runed's housekeeping tasks, as registered in server/runed.ts:
 *
 * | task | default period | does |
 * |---|---|---|
 * | event-log-compaction | 30 s | `store.compact()`: drops log entries beyond the retention limits |
 * | log-file-cleanup | 10 min (first run 1 min after start) | removes logs of instances, and folders of runs, that no longer exist (log-cleanup.ts) |
 * | run-cleanup | 30 s | deletes ended runs past their job's ttlSecondsAfterFinished or beyond its history limits, and orphans (job-controller.ts cleanUpRuns; with the orchestrator on) |
 */
import { join } from 'node:path';
import type { Store } from '../store/store.js';
import { cleanUpLogFiles, cleanUpRunDirs } from './log-cleanup.js';
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

/** Removes the logs of deleted instances and the folders of deleted runs (see log-cleanup.ts). */
export function logCleanupTask(options: LogCleanupTaskOptions): HousekeepingTask {
  return {
    name: 'log-file-cleanup',
    everyMs: options.everyMs ?? DEFAULT_LOG_CLEANUP_EVERY_MS,
    firstRunMs: options.firstRunMs ?? 60_000,
    jitterMs: options.firstRunMs === undefined ? 30_000 : 0,
    run: async (signal) => {
      const { removed, scanned } = await cleanUpLogFiles({ store: options.store, roots: [join(options.dataDir, 'logs')], graceMs: options.graceMs, signal });
      const runDirs = await cleanUpRunDirs({ store: options.store, root: join(options.dataDir, 'runs'), graceMs: options.graceMs, signal });
      return `removed ${plural(removed.length, 'instance log')} (${scanned} files scanned) and ${plural(runDirs.length, 'run folder')}`;
    },
  };
}

/**
 * Deletes runs past their TTL and beyond their job's history limits: `cleanUp(now)` (ms since
 * the epoch) resolves to the number of runs deleted.
 */
export function runCleanupTask(cleanUp: (now: number) => Promise<number>, everyMs = DEFAULT_RUN_CLEANUP_EVERY_MS): HousekeepingTask {
  return {
    name: 'run-cleanup',
    everyMs,
    run: async () => `deleted ${plural(await cleanUp(Date.now()), 'run')}`,
  };
}

const plural = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;
