/**
 * Gives log lines their times. Workloads write raw output straight to their log files (so they
 * survive runed restarts); runed's LogIndexer watches the tracked files and, each poll that
 * finds a file grown, appends a checkpoint (offset reached, time now) to `<log>.idx`.
 *
 * What the times mean: a line's time is when runed saw it, at most about `pollMs` after it was
 * written. Lines written while runed was down get the time of runed's first poll after it
 * started again (and a file tracked for the first time gets that time for all it holds).
 *
 * Rotation: the runner copies `<log>` to `<log>.1` (shifting older copies up) and truncates
 * `<log>`. The indexer notices (the file shrank, or `<log>.1` changed and the bytes before the
 * last checkpoint differ from the copy's), closes `<log>.idx` with a checkpoint for the copy's
 * size, shifts the indexes the same way (`<log>.idx` → `<log>.1.idx`, `<log>.1.idx` →
 * `<log>.2.idx`, ...), drops indexes whose copy is gone, and starts a new `<log>.idx` at 0.
 *
 * Not detected: two rotations within one poll (the older copy then has no final checkpoint),
 * and a rotation after which the file regrew past the last checkpoint with the same bytes in
 * the last 64 before it (e.g. a workload printing the same line forever); the times of such
 * lines are then later than they should be by up to the time between the two checkpoints.
 */
import { appendFile, open, rename, rm, stat } from 'node:fs/promises';
import { countRotatedIndexes, exists, fileIdentity, indexPath, isNotFound, rotatedPath } from './log-files.js';
import { encodeCheckpoint, readLastCheckpoint } from './log-index.js';

export interface LogIndexerOptions {
  /** How often tracked files are checked, in ms; line times are at most this late. Default 1000. */
  pollMs?: number;
  /** The clock, ms since the epoch. Default Date.now. */
  now?: () => number;
  /** Told about a file that could not be indexed this poll (it is tried again next poll). Default: ignored. */
  onError?: (err: unknown, logPath: string) => void;
}

/** Bytes compared before the last checkpoint to tell a rotated-and-regrown file from the same file. */
const WINDOW_BYTES = 64;

interface Tracked {
  loaded: boolean;
  /** Offset of the last checkpoint written (0: none in the current index). */
  lastOffset: number;
  /** Time of the last checkpoint (times never go back, even if the clock does). */
  lastTimeMs: number;
  /** Identity of `<log>.1` when the current `<log>.idx` was started (or the indexer started). */
  rotatedIdentity: string | undefined;
}

export class LogIndexer {
  private readonly pollMs: number;
  private readonly now: () => number;
  private readonly onError: (err: unknown, logPath: string) => void;
  private readonly files = new Map<string, Tracked>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private closed = false;

  /** Starts polling at once. */
  constructor(options: LogIndexerOptions = {}) {
    this.pollMs = options.pollMs ?? 1000;
    this.now = options.now ?? Date.now;
    this.onError = options.onError ?? (() => {});
    this.schedule();
  }

  /** Indexes `logPath` from the next poll on; tracking a file twice is harmless. */
  track(logPath: string): void {
    if (!this.files.has(logPath)) this.files.set(logPath, { loaded: false, lastOffset: 0, lastTimeMs: 0, rotatedIdentity: undefined });
  }

  /** Stops indexing `logPath` (its index files stay). */
  untrack(logPath: string): void {
    this.files.delete(logPath);
  }

  /** The files being indexed. */
  tracked(): string[] {
    return [...this.files.keys()];
  }

  /** Checks every tracked file once now (waits for a poll already running first). */
  async poll(): Promise<void> {
    while (this.running) await this.running;
    this.running = this.pollAll();
    try {
      await this.running;
    } finally {
      this.running = undefined;
    }
  }

  /** Stops polling; resolves when a poll in progress has finished. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    while (this.running) await this.running;
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      this.poll().finally(() => this.schedule());
    }, this.pollMs);
    this.timer.unref();
  }

  private async pollAll(): Promise<void> {
    for (const [logPath, state] of [...this.files]) {
      try {
        await this.check(logPath, state);
      } catch (err) {
        this.onError(err, logPath);
      }
    }
  }

  private async check(logPath: string, state: Tracked): Promise<void> {
    if (!state.loaded) {
      const last = await readLastCheckpoint(indexPath(logPath));
      state.lastOffset = last?.offset ?? 0;
      state.lastTimeMs = last?.timeMs ?? 0;
      state.rotatedIdentity = await fileIdentity(rotatedPath(logPath, 1));
      state.loaded = true;
    }
    let size: number;
    try {
      size = (await stat(logPath)).size;
    } catch (err) {
      if (isNotFound(err)) return; // not created yet, or removed: nothing to index
      throw err;
    }
    if (await this.rotated(logPath, state, size)) {
      await this.rotateIndex(logPath, state);
      // The rotation may have happened during this check: the size seen before it is stale.
      try {
        size = (await stat(logPath)).size;
      } catch (err) {
        if (isNotFound(err)) return;
        throw err;
      }
    }
    if (size > state.lastOffset) await this.append(logPath, state, size);
  }

  /** True when `<log>` was truncated since the last checkpoint. */
  private async rotated(logPath: string, state: Tracked, size: number): Promise<boolean> {
    if (size < state.lastOffset) return true;
    const copy = rotatedPath(logPath, 1);
    const identity = await fileIdentity(copy);
    if (identity === state.rotatedIdentity || state.lastOffset === 0) return false;
    // `<log>.1` is new: either a rotation whose file already regrew past the last checkpoint,
    // or a copy not yet followed by the truncate. The copy holds the old bytes: compare.
    const from = Math.max(0, state.lastOffset - WINDOW_BYTES);
    const [current, copied] = await Promise.all([readRange(logPath, from, state.lastOffset), readRange(copy, from, state.lastOffset)]);
    if (copied.length < state.lastOffset - from) return false; // the copy is still being written
    return !current.equals(copied);
  }

  private async rotateIndex(logPath: string, state: Tracked): Promise<void> {
    const ownIndex = indexPath(logPath);
    // The copy may hold bytes the old index never saw: close it with a checkpoint for them.
    const copy = rotatedPath(logPath, 1);
    let copySize = -1;
    try {
      copySize = (await stat(copy)).size;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    if (copySize > state.lastOffset) {
      state.lastTimeMs = Math.max(state.lastTimeMs, this.now());
      await appendFile(ownIndex, encodeCheckpoint({ offset: copySize, timeMs: state.lastTimeMs }));
    }
    // Shift the indexes as the runner shifted the copies, newest last.
    const top = await countRotatedIndexes(logPath);
    for (let n = top; n >= 1; n--) await renameIfExists(indexPath(rotatedPath(logPath, n)), indexPath(rotatedPath(logPath, n + 1)));
    await renameIfExists(ownIndex, indexPath(copy));
    // Indexes of copies the runner dropped go too.
    for (let n = 1; n <= top + 1; n++) {
      if (!(await exists(rotatedPath(logPath, n)))) await rm(indexPath(rotatedPath(logPath, n)), { force: true });
    }
    state.lastOffset = 0;
    state.rotatedIdentity = await fileIdentity(copy);
  }

  private async append(logPath: string, state: Tracked, size: number): Promise<void> {
    state.lastTimeMs = Math.max(state.lastTimeMs, this.now());
    await appendFile(indexPath(logPath), encodeCheckpoint({ offset: size, timeMs: state.lastTimeMs }));
    state.lastOffset = size;
  }
}

async function renameIfExists(from: string, to: string): Promise<void> {
  try {
    await rename(from, to);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

async function readRange(path: string, from: number, to: number): Promise<Buffer> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    if (isNotFound(err)) return Buffer.alloc(0);
    throw err;
  }
  try {
    const buffer = Buffer.alloc(to - from);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, from);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}
