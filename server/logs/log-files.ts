/**
 * Names of an instance's log files. The runner appends the workload's output to `<log>` and
 * rotates it by copy-and-truncate into `<log>.1` (newest copy) ... `<log>.N` (oldest). Each file
 * has a time index beside it, `<file>.idx` (see log-index.ts): `<log>.idx`, `<log>.1.idx`, ...
 */
import { rm, stat } from 'node:fs/promises';

/** More rotated copies than this are never looked at (bounds every scan). */
export const MAX_ROTATED = 64;

/** `<log>.n`, the n-th rotated copy (1 = newest); `logPath` itself for n = 0. */
export function rotatedPath(logPath: string, n: number): string {
  return n === 0 ? logPath : `${logPath}.${n}`;
}

/** The time index of a log file or rotated copy: `<file>.idx`. */
export function indexPath(filePath: string): string {
  return `${filePath}.idx`;
}

/**
 * Identity of a file's current content, to notice that a rotated copy was (re)written: inode,
 * size and modification time. undefined when the file does not exist.
 */
export async function fileIdentity(path: string): Promise<string | undefined> {
  try {
    return identityOf(await stat(path));
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** The identity (see fileIdentity) of a file's stats. */
export function identityOf(st: { ino: number; size: number; mtimeMs: number }): string {
  return `${st.ino}:${st.size}:${st.mtimeMs}`;
}

/**
 * The number of the oldest rotated copy: the highest n with `<log>.n` there. A rotation in
 * progress may leave one gap for a moment (it renames `.1` to `.2` before it writes the new
 * `.1`), so the scan stops at two missing numbers in a row.
 */
export async function countRotated(logPath: string): Promise<number> {
  return highest((n) => exists(rotatedPath(logPath, n)));
}

/**
 * Removes a log with its rotated copies and their indexes (for garbage collection of a deleted
 * instance). Missing files are fine.
 */
export async function removeLogFiles(logPath: string): Promise<void> {
  const rotated = Math.max(await countRotated(logPath), await countRotatedIndexes(logPath));
  for (let n = 0; n <= rotated; n++) {
    await rm(rotatedPath(logPath, n), { force: true });
    await rm(indexPath(rotatedPath(logPath, n)), { force: true });
  }
}

/** The highest index of a copy: like countRotated, for `<log>.n.idx`. */
export async function countRotatedIndexes(logPath: string): Promise<number> {
  return highest((n) => exists(indexPath(rotatedPath(logPath, n))));
}

async function highest(present: (n: number) => Promise<boolean>): Promise<number> {
  let top = 0;
  for (let n = 1, missing = 0; n <= MAX_ROTATED && missing < 2; n++) {
    if (await present(n)) {
      top = n;
      missing = 0;
    } else {
      missing++;
    }
  }
  return top;
}

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

export function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}
