/**
 * The time index of one log file (`<file>.idx`): checkpoints "by time T, the file had reached
 * byte offset O", appended by the LogIndexer each time it sees the file grow. A line's time is
 * that of the first checkpoint at or beyond the line's end offset: runed had seen the line by
 * then (and at most about one poll interval earlier).
 *
 * Format: 16-byte records, no header: offset (float64 LE, exact below 2^53) then time in ms
 * since the epoch (float64 LE). Offsets and times never decrease within a file. A trailing
 * partial record (a crash mid-append) is ignored.
 */
import { open, stat } from 'node:fs/promises';
import { isNotFound } from './log-files.js';

export const CHECKPOINT_BYTES = 16;

export interface Checkpoint {
  /** Byte offset the file had reached. */
  offset: number;
  /** When it was seen there, ms since the epoch. */
  timeMs: number;
}

export function encodeCheckpoint(checkpoint: Checkpoint): Buffer {
  const record = Buffer.alloc(CHECKPOINT_BYTES);
  record.writeDoubleLE(checkpoint.offset, 0);
  record.writeDoubleLE(checkpoint.timeMs, 8);
  return record;
}

/** The last whole checkpoint of an index file, or undefined (no file, or empty). */
export async function readLastCheckpoint(path: string): Promise<Checkpoint | undefined> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
  try {
    const { size } = await handle.stat();
    const whole = Math.floor(size / CHECKPOINT_BYTES) * CHECKPOINT_BYTES;
    if (whole === 0) return undefined;
    const record = Buffer.alloc(CHECKPOINT_BYTES);
    await handle.read(record, 0, CHECKPOINT_BYTES, whole - CHECKPOINT_BYTES);
    return { offset: record.readDoubleLE(0), timeMs: record.readDoubleLE(8) };
  } finally {
    await handle.close();
  }
}

/**
 * An in-memory copy of one index file, for looking up line times. `refresh()` reads what was
 * appended since (or everything again when the file was replaced); a frozen index never
 * re-reads (used for a copy whose index may be renamed under it).
 */
export class LogIndex {
  private records = Buffer.alloc(0);
  private ino = -1;
  private frozen = false;
  /** A file (inode) whose checkpoints describe content that is gone: read as empty until replaced. */
  private staleIno = -1;

  constructor(readonly path: string) {}

  /** Reads the index file now (missing: empty). */
  static async load(path: string, options: { frozen?: boolean } = {}): Promise<LogIndex> {
    const index = new LogIndex(path);
    await index.refresh();
    index.frozen = options.frozen ?? false;
    return index;
  }

  get length(): number {
    return this.records.length / CHECKPOINT_BYTES;
  }

  at(i: number): Checkpoint {
    const base = i * CHECKPOINT_BYTES;
    return { offset: this.records.readDoubleLE(base), timeMs: this.records.readDoubleLE(base + 8) };
  }

  /**
   * Forgets the checkpoints when the last one lies beyond `size` (the file was truncated by a
   * rotation the indexer has not handled yet); this index file then reads as empty until it is
   * replaced by a new one.
   */
  discardIfBeyond(size: number): void {
    if (this.lastOffset <= size) return;
    this.staleIno = this.ino;
    this.records = Buffer.alloc(0);
  }

  /** Stops re-reading the file. */
  freeze(): void {
    this.frozen = true;
  }

  /** Picks up checkpoints appended since the last read. */
  async refresh(): Promise<void> {
    if (this.frozen) return;
    let st;
    try {
      st = await stat(this.path);
    } catch (err) {
      if (!isNotFound(err)) throw err;
      this.records = Buffer.alloc(0);
      this.ino = -1;
      return;
    }
    if (st.ino === this.staleIno) return;
    const whole = Math.floor(st.size / CHECKPOINT_BYTES) * CHECKPOINT_BYTES;
    const replaced = st.ino !== this.ino || whole < this.records.length;
    const from = replaced ? 0 : this.records.length;
    if (!replaced && whole === from) return;
    const handle = await open(this.path, 'r');
    try {
      const added = Buffer.alloc(whole - from);
      const { bytesRead } = await handle.read(added, 0, added.length, from);
      const kept = added.subarray(0, Math.floor(bytesRead / CHECKPOINT_BYTES) * CHECKPOINT_BYTES);
      this.records = replaced ? Buffer.from(kept) : Buffer.concat([this.records, kept]);
      this.ino = st.ino;
    } finally {
      await handle.close();
    }
  }

  /** Offset of the last checkpoint, or -1 when there is none. */
  get lastOffset(): number {
    return this.length === 0 ? -1 : this.at(this.length - 1).offset;
  }

  /** Time (ms) of the first checkpoint at or beyond `endOffset`; undefined when none is yet. */
  timeAt(endOffset: number): number | undefined {
    const i = this.firstIndex((cp) => cp.offset >= endOffset);
    return i < this.length ? this.at(i).timeMs : undefined;
  }

  /**
   * Offset from which the lines seen at or after `sinceMs` start: lines ending at or before it
   * were all seen earlier. 0 when every line may qualify; undefined when no indexed line does
   * (only lines beyond `lastOffset`, not indexed yet, may).
   */
  offsetSince(sinceMs: number): number | undefined {
    const i = this.firstIndex((cp) => cp.timeMs >= sinceMs);
    if (i === this.length) return undefined;
    return i === 0 ? 0 : this.at(i - 1).offset;
  }

  /** The first i with pred(at(i)) true (pred is monotonic), or length. */
  private firstIndex(pred: (cp: Checkpoint) => boolean): number {
    let lo = 0;
    let hi = this.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (pred(this.at(mid))) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}
