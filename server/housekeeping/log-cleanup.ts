/**
 * Log-file cleanup: removes the logs (with their rotated copies and indexes) of instances and
 * runs that no longer exist, and the folders of deleted runs (`<dataDir>/runs/<namespace>/<id>/`:
 * log, status file, exit files, default work dir; see server/orchestrator/run-files.ts). runed
 * removes these when it sees an instance or a run deleted; this sweep catches what was missed
 * while runed was down or when that removal failed.
 *
 * A log is garbage when no instance or run in the store names it as `status.logPath` AND none
 * of its files changed for `graceMs`: the files are scanned before the store is read, so a log
 * whose owner exists at the scan is always seen as referenced, and the grace period covers a
 * workload that opened its log before its status was written. Symbolic links are never
 * followed; only regular files are removed; directories are left in place (a runner may be
 * about to create a log in one).
 */
import { lstat, readdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Instance } from '../../shared/gen/rune/v1/instance.js';
import type { Run } from '../../shared/gen/rune/v1/run.js';
import { listAll } from '../domain/objects.js';
import { isNotFound } from '../logs/log-files.js';
import type { Store } from '../store/store.js';

/** Default grace period: a log untouched for less than this is never removed. */
export const DEFAULT_LOG_GRACE_MS = 10 * 60_000;
/** Directory levels below a root that are scanned (`logs/<namespace>/<file>` needs 2). */
const MAX_DEPTH = 4;

export interface LogCleanupOptions {
  store: Store;
  /** Directories holding logs; default `[<dataDir>/logs]`. Missing ones are skipped. */
  roots: string[];
  /** Default DEFAULT_LOG_GRACE_MS. */
  graceMs?: number;
  now?: number;
  /** Stop early (housekeeping is stopping). */
  signal?: AbortSignal;
}

export interface LogCleanupResult {
  /** Logs removed (the log's own path; its copies and indexes went with it). */
  removed: string[];
  /** Files examined. */
  scanned: number;
}

/**
 * The log a file belongs to: `<log>`, `<log>.N` (rotated copy) and `<file>.idx` (index) all
 * belong to `<log>`.
 */
export function logOf(file: string): string {
  let path = file.endsWith('.idx') ? file.slice(0, -'.idx'.length) : file;
  const rotated = /^(.+)\.\d{1,3}$/.exec(path);
  if (rotated) path = rotated[1]!;
  return path;
}

export async function cleanUpLogFiles(options: LogCleanupOptions): Promise<LogCleanupResult> {
  const graceMs = options.graceMs ?? DEFAULT_LOG_GRACE_MS;
  const now = options.now ?? Date.now();
  // 1. The files, grouped by log, with the newest change of each group.
  const groups = new Map<string, { files: string[]; newest: number }>();
  let scanned = 0;
  for (const root of options.roots) {
    for await (const { path, mtimeMs } of regularFiles(resolve(root), MAX_DEPTH, options.signal)) {
      scanned++;
      const log = logOf(path);
      const group = groups.get(log) ?? { files: [], newest: 0 };
      group.files.push(path);
      group.newest = Math.max(group.newest, mtimeMs);
      groups.set(log, group);
    }
  }
  if (groups.size === 0) return { removed: [], scanned };
  // 2. Then what the store references (read after the scan: see the file comment).
  const referenced = new Set<string>();
  for (const i of await listAll<Instance>(options.store, 'instances')) if (i.status?.logPath) referenced.add(resolve(i.status.logPath));
  for (const r of await listAll<Run>(options.store, 'runs')) if (r.status?.logPath) referenced.add(resolve(r.status.logPath));
  // 3. Remove the unreferenced groups that have been quiet for the grace period.
  const removed: string[] = [];
  for (const [log, group] of groups) {
    if (options.signal?.aborted) break;
    if (referenced.has(log) || now - group.newest < graceMs) continue;
    for (const file of group.files) await rm(file, { force: true });
    removed.push(log);
  }
  return { removed, scanned };
}

export interface RunDirCleanupOptions {
  store: Store;
  /** `<dataDir>/runs`: one folder per namespace, one per run id in it. */
  root: string;
  /** Default DEFAULT_LOG_GRACE_MS. */
  graceMs?: number;
  now?: number;
  signal?: AbortSignal;
}

/**
 * Removes `<root>/<namespace>/<id>/` when no run `<namespace>/<id>` exists and neither the folder
 * nor anything directly in it changed for `graceMs` (read before the store, as for logs).
 * Resolves to the folders removed. A symbolic link in place of a folder is left alone.
 */
export async function cleanUpRunDirs(options: RunDirCleanupOptions): Promise<string[]> {
  const graceMs = options.graceMs ?? DEFAULT_LOG_GRACE_MS;
  const now = options.now ?? Date.now();
  const candidates: { namespace: string; id: string; path: string; newest: number }[] = [];
  for (const namespace of await directories(options.root)) {
    for (const id of await directories(join(options.root, namespace))) {
      if (options.signal?.aborted) return [];
      const path = join(options.root, namespace, id);
      let newest = 0;
      try {
        newest = (await lstat(path)).mtimeMs;
        for (const entry of await readdir(path)) newest = Math.max(newest, (await lstat(join(path, entry)).catch(() => ({ mtimeMs: 0 }))).mtimeMs);
      } catch (err) {
        if (isNotFound(err)) continue;
        throw err;
      }
      candidates.push({ namespace, id, path, newest });
    }
  }
  const removed: string[] = [];
  for (const c of candidates) {
    if (options.signal?.aborted) break;
    if (now - c.newest < graceMs) continue;
    if (await options.store.get('runs', c.namespace, c.id)) continue;
    await rm(c.path, { recursive: true, force: true }); // never follows symbolic links inside
    removed.push(c.path);
  }
  return removed;
}

/** Names of the real directories (not links) in `dir`; none when it does not exist. */
async function directories(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch (err) {
    if (isNotFound(err) || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return [];
    throw err;
  }
}

async function* regularFiles(dir: string, depth: number, signal: AbortSignal | undefined): AsyncGenerator<{ path: string; mtimeMs: number }> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (isNotFound(err) || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return;
    throw err;
  }
  for (const entry of entries) {
    if (signal?.aborted) return;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (depth > 1) yield* regularFiles(path, depth - 1, signal);
    } else if (entry.isFile()) {
      try {
        yield { path, mtimeMs: (await lstat(path)).mtimeMs };
      } catch (err) {
        if (!isNotFound(err)) throw err; // removed meanwhile
      }
    }
  }
}
