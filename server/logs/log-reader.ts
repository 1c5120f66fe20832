/**
 * Reads one instance's log as lines with times: the rotated copies `<log>.N` ... `<log>.1` and
 * then `<log>`, as one stream (a line cut in two by a rotation is joined again).
 *
 * - `tail`/`since` pick where reading starts (last N lines; lines seen at or after a time).
 * - `read()` returns the complete lines written so far, a batch at a time; called again later,
 *   it returns what was written since (follow), across rotations: when `<log>` was truncated,
 *   the rest of what the reader had not read yet is read from the copy (`<log>.1`, or an older
 *   one when several rotations happened in between), then `<log>` from its start.
 * - An incomplete last line waits for its newline; `flush()` hands it out (on stop).
 * - Times come from the log index (log-index.ts): when runed saw the line, within about the
 *   indexer's poll interval. Lines not indexed yet get the time they are read. Times never go
 *   back within one reader.
 *
 * Every file is read through a descriptor opened once, so copies renamed by a later rotation
 * are still read to their end. Not reliable: a rotation while the initial history is read when
 * the runner keeps a single copy (it rewrites `<log>.1` in place), and a rotation after which
 * `<log>` regrew past the reader's offset with the same last 64 bytes before it (lines are then
 * skipped, never repeated).
 */
import { open, stat, type FileHandle } from 'node:fs/promises';
import { fileIdentity, identityOf, indexPath, isNotFound, MAX_ROTATED, rotatedPath } from './log-files.js';
import { LogIndex } from './log-index.js';

export interface LogReaderOptions {
  /**
   * How many of the last lines to start with, counted over the copies and the log together:
   * 0 (default) all, -1 none (only lines completed after open).
   */
  tail?: number;
  /** Only lines whose time is at or after this. */
  since?: Date;
  /**
   * Stop at the size `<log>` had when opened (a snapshot: `read()` then returns [] once there and
   * `flush()` gives the incomplete last line). Default false: keep following.
   */
  snapshot?: boolean;
  /** Longer lines are split into pieces of this many bytes. Default 64 KiB. */
  maxLineBytes?: number;
  /** The clock, ms since the epoch, for lines not indexed yet. Default Date.now. */
  now?: () => number;
}

export interface TimedLine {
  /** Without its newline. */
  text: string;
  time: Date;
}

/** Bytes read per read call. */
const CHUNK_BYTES = 64 * 1024;
/** Bytes remembered before the reader's offset in `<log>`, to tell the file was truncated and refilled. */
const WINDOW_BYTES = 64;
const NEWLINE = 0x0a;

/** A file read from a start offset to a fixed end: a rotated copy. */
interface Segment {
  handle: FileHandle;
  offset: number;
  end: number;
  index: LogIndex;
  /**
   * The copy's modification time when opened. A runner keeping one copy rewrites `<log>.1` in
   * place at the next rotation: what the reader wanted from it is gone, and what is there now
   * is read from the rotation's side (never twice).
   */
  mtimeMs?: number;
}

/** `<log>` itself, growing, truncated by rotations. */
interface Live {
  handle: FileHandle | undefined;
  ino: number;
  offset: number;
  /** Largest size seen since the last rotation: a smaller one means it was truncated. */
  knownSize: number;
  /** The bytes just before `offset`. */
  window: Buffer;
  /** Identity of `<log>.1` when the current content of `<log>` started (or at open). */
  rotatedIdentity: string | undefined;
  /** Identities of all copies then: copies of earlier content, never read for this one. */
  earlierCopies: Set<string>;
  index: LogIndex;
  /** With `snapshot`, where to stop. */
  stopAt: number;
}

export class LogReader {
  private readonly segments: Segment[] = [];
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private lastTimeMs = 0;
  private readonly sinceMs: number;
  private readonly maxLineBytes: number;
  private readonly now: () => number;
  private closed = false;

  private constructor(
    readonly logPath: string,
    private readonly live: Live,
    options: LogReaderOptions,
  ) {
    this.sinceMs = options.since ? options.since.getTime() : -Infinity;
    this.maxLineBytes = options.maxLineBytes ?? 64 * 1024;
    this.now = options.now ?? Date.now;
  }

  /**
   * Opens the log and its copies and positions the reader by `tail` and `since`. A log that
   * does not exist yet reads as empty (and is picked up when it appears).
   */
  static async open(logPath: string, options: LogReaderOptions = {}): Promise<LogReader> {
    const tail = options.tail ?? 0;
    const copies: { handle: FileHandle; size: number; ino: number; mtimeMs: number; n: number }[] = [];
    let live: Live | undefined;
    try {
      for (let n = 1; n <= MAX_ROTATED; n++) {
        const copy = await openIfExists(rotatedPath(logPath, n));
        if (!copy) break;
        copies.push({ ...copy, n });
      }
      const rotatedIdentity = copies[0]?.n === 1 ? identityOf(copies[0]) : undefined;
      const own = await openIfExists(logPath);
      live = {
        handle: own?.handle,
        ino: own?.ino ?? -1,
        offset: 0,
        knownSize: own?.size ?? 0,
        window: Buffer.alloc(0),
        rotatedIdentity,
        earlierCopies: new Set(copies.map(identityOf)),
        index: await LogIndex.load(indexPath(logPath)),
        stopAt: options.snapshot ? (own?.size ?? 0) : Infinity,
      };
      // Right after a rotation, `<log>.idx` may still describe the old content.
      live.index.discardIfBeyond(live.knownSize);
      const reader = new LogReader(logPath, live, options);
      // Oldest first.
      for (const copy of copies.reverse()) {
        const index = await LogIndex.load(indexPath(rotatedPath(logPath, copy.n)), { frozen: true });
        reader.segments.push({ handle: copy.handle, offset: 0, end: copy.size, index, mtimeMs: copy.mtimeMs });
      }
      await reader.seek(tail, options.since);
      return reader;
    } catch (err) {
      for (const copy of copies) await copy.handle.close().catch(() => {});
      await live?.handle?.close().catch(() => {});
      throw err;
    }
  }

  /**
   * The complete lines available now, about `maxBytes` (default 64 KiB) of text at most (at
   * least one line when any is available); [] when everything written so far has been read.
   */
  async read(options: { maxBytes?: number } = {}): Promise<TimedLine[]> {
    if (this.closed) return [];
    const maxBytes = options.maxBytes ?? CHUNK_BYTES;
    const out: TimedLine[] = [];
    const budget = { bytes: 0 };
    let liveChecked = false;
    let liveSize = 0;
    // Bounded: every pass reads at least one byte, or drops a segment, or returns.
    while (budget.bytes < maxBytes) {
      const segment = this.segments[0];
      if (segment) {
        if (segment.offset >= segment.end) {
          await segment.handle.close().catch(() => {});
          this.segments.shift();
          continue;
        }
        if (segment.mtimeMs !== undefined) {
          const st = await segment.handle.stat();
          if (st.mtimeMs !== segment.mtimeMs || st.size !== segment.end) {
            segment.end = segment.offset; // rewritten in place: skip the rest
            continue;
          }
        }
        const chunk = await readAt(segment.handle, segment.offset, Math.min(chunkBytes(maxBytes - budget.bytes), segment.end - segment.offset));
        if (chunk.length === 0) {
          segment.end = segment.offset; // shorter than it was: a copy rewritten in place
          continue;
        }
        await this.split(chunk, segment.offset, segment.index, out, budget);
        segment.offset += chunk.length;
        continue;
      }
      if (!liveChecked) {
        liveChecked = true;
        liveSize = await this.checkLive();
        continue; // a rotation may have queued segments
      }
      const live = this.live;
      const end = Math.min(liveSize, live.stopAt);
      if (!live.handle || live.offset >= end) break;
      // Read our last bytes again with the new ones: if they changed, `<log>` was truncated
      // (and refilled) since, and what follows them is not the continuation.
      const w = live.window.length;
      const buffer = await readAt(live.handle, live.offset - w, w + Math.min(chunkBytes(maxBytes - budget.bytes), end - live.offset));
      if (w > 0 && (buffer.length < w || !buffer.subarray(0, w).equals(live.window))) {
        liveSize = await this.rotated();
        continue;
      }
      const chunk = buffer.subarray(w);
      if (chunk.length === 0) break;
      await this.split(chunk, live.offset, live.index, out, budget);
      live.offset += chunk.length;
      live.window = Buffer.from(buffer.subarray(Math.max(0, buffer.length - WINDOW_BYTES)));
    }
    return out;
  }

  /** The incomplete last line, if any, as a line; it is not returned again. */
  flush(): TimedLine | undefined {
    if (this.pendingBytes === 0) return undefined;
    const text = Buffer.concat(this.pending).toString('utf8');
    this.pending = [];
    this.pendingBytes = 0;
    const time = this.stamp(undefined);
    return time >= this.sinceMs ? { text, time: new Date(time) } : undefined;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const segment of this.segments.splice(0)) await segment.handle.close().catch(() => {});
    await this.live.handle?.close().catch(() => {});
    this.live.handle = undefined;
  }

  /**
   * Looks at `<log>` before reading it: opens it once it exists, notices a rotation (then queues
   * the unread rest of the copy and the newer copies, and restarts at offset 0). Returns its size.
   */
  private async checkLive(): Promise<number> {
    const live = this.live;
    let st;
    try {
      st = await stat(this.logPath);
    } catch (err) {
      if (isNotFound(err)) return live.offset; // removed (or not created yet): nothing new
      throw err;
    }
    if (!live.handle || st.ino !== live.ino) {
      // First appearance, or replaced by a new file: read what is left of the old one first.
      const opened = await openIfExists(this.logPath);
      if (!opened) return live.offset;
      if (live.handle) {
        const oldSize = (await live.handle.stat()).size;
        live.index.freeze();
        this.segments.push({ handle: live.handle, offset: live.offset, end: oldSize, index: live.index });
        live.offset = 0;
        live.window = Buffer.alloc(0);
        live.knownSize = 0;
        if (live.stopAt !== Infinity) live.stopAt = 0;
      }
      live.handle = opened.handle;
      live.ino = opened.ino;
      live.knownSize = Math.max(live.knownSize, opened.size);
      live.index = await LogIndex.load(indexPath(this.logPath));
      live.index.discardIfBeyond(opened.size);
      return opened.size;
    }
    let truncated = st.size < live.knownSize;
    if (!truncated && st.size === live.offset && live.window.length > 0 && (await fileIdentity(rotatedPath(this.logPath, 1))) !== live.rotatedIdentity) {
      // A new `<log>.1` and no new bytes: a rotation after which `<log>` regrew to exactly our
      // offset? Our last bytes tell. (With new bytes, read() checks them anyway.)
      const now = await readAt(live.handle, live.offset - live.window.length, live.window.length);
      truncated = !now.equals(live.window);
    }
    if (truncated) return this.rotated();
    live.knownSize = Math.max(live.knownSize, st.size);
    return st.size;
  }

  /**
   * `<log>` was truncated: queues the unread rest from the copies, restarts at offset 0, and
   * returns the new size of `<log>`.
   */
  private async rotated(): Promise<number> {
    const live = this.live;
    await this.queueRotatedRest();
    live.offset = 0;
    live.window = Buffer.alloc(0);
    live.index.freeze();
    if (live.stopAt !== Infinity) live.stopAt = 0;
    // Sizes seen before (even during this read) are stale: look again.
    live.rotatedIdentity = await fileIdentity(rotatedPath(this.logPath, 1));
    const size = await sizeOf(this.logPath);
    live.knownSize = size;
    live.index = await LogIndex.load(indexPath(this.logPath));
    // Until the indexer notices the rotation, `<log>.idx` still describes the old content.
    live.index.discardIfBeyond(size);
    return size;
  }

  /**
   * After `<log>` was truncated: finds the copy holding the bytes at our offset and queues its
   * rest, then the newer copies whole. That copy is the newest one at least as large as our
   * offset with our last bytes just before it; when we had read nothing of this content yet,
   * the oldest copy made since it started. Finds none when the runner kept no copy (or
   * overwrote it since): those lines are lost.
   */
  private async queueRotatedRest(): Promise<void> {
    const live = this.live;
    const copies = await this.openCopies();
    const earlier = new Set(copies.map(identityOf));
    let pick = -1;
    try {
      if (live.window.length > 0) {
        for (let i = 0; i < copies.length && pick < 0; i++) {
          const copy = copies[i]!;
          if (copy.size < live.offset) continue;
          const window = await readAt(copy.handle, live.offset - live.window.length, live.window.length);
          if (window.equals(live.window)) pick = i;
        }
      } else {
        for (let i = copies.length - 1; i >= 0 && pick < 0; i--) if (!live.earlierCopies.has(identityOf(copies[i]!))) pick = i;
      }
      // copies[pick] holds our rest; copies[pick - 1] ... copies[0] came after it.
      for (let i = pick; i >= 0; i--) {
        const copy = copies[i]!;
        const index = i === pick ? live.index : await LogIndex.load(indexPath(rotatedPath(this.logPath, copy.n)), { frozen: true });
        this.segments.push({ handle: copy.handle, offset: i === pick ? live.offset : 0, end: copy.size, index, mtimeMs: copy.mtimeMs });
      }
    } finally {
      for (let i = pick + 1; i < copies.length; i++) await copies[i]!.handle.close().catch(() => {});
    }
    // Every copy seen now holds content up to the truncation: none is read for what follows it.
    live.earlierCopies = earlier;
  }

  /**
   * The copies there are now, newest first. A rotation in progress may leave a gap for a moment
   * (it renames `.1` to `.2` before it writes the new `.1`): the scan stops at two missing in a row.
   */
  private async openCopies(): Promise<{ n: number; handle: FileHandle; size: number; ino: number; mtimeMs: number }[]> {
    const copies: { n: number; handle: FileHandle; size: number; ino: number; mtimeMs: number }[] = [];
    try {
      const seen = new Set<string>();
      for (let n = 1, missing = 0; n <= MAX_ROTATED && missing < 2; n++) {
        const copy = await openIfExists(rotatedPath(this.logPath, n));
        missing = copy ? 0 : missing + 1;
        if (!copy) continue;
        // A rename during the scan may show one file under two names: keep it once.
        if (seen.has(identityOf(copy))) {
          await copy.handle.close().catch(() => {});
          continue;
        }
        seen.add(identityOf(copy));
        copies.push({ n, ...copy });
      }
    } catch (err) {
      for (const copy of copies) await copy.handle.close().catch(() => {});
      throw err;
    }
    return copies;
  }

  /** Positions the reader: the later of where the last `tail` lines start and where `since` starts. */
  private async seek(tail: number, since: Date | undefined): Promise<void> {
    const files = this.files();
    let start = { file: 0, offset: 0 };
    if (tail !== 0) start = await this.tailStart(files, tail);
    if (since) {
      const fromSince = await this.sinceStart(files, since.getTime());
      if (fromSince.file > start.file || (fromSince.file === start.file && fromSince.offset > start.offset)) start = fromSince;
    }
    // Drop the files before the start.
    for (let i = 0; i < start.file; i++) {
      const segment = this.segments.shift();
      if (segment) await segment.handle.close().catch(() => {});
    }
    const last = files.length - 1;
    if (start.file === last) {
      this.live.offset = start.offset;
      if (this.live.handle && start.offset > 0) {
        this.live.window = await readAt(this.live.handle, Math.max(0, start.offset - WINDOW_BYTES), Math.min(WINDOW_BYTES, start.offset));
      }
    } else {
      this.segments[0]!.offset = start.offset;
    }
  }

  /** The copies then `<log>`, each with its size (at open). */
  private files(): { handle: FileHandle | undefined; size: number; index: LogIndex }[] {
    return [
      ...this.segments.map((s) => ({ handle: s.handle as FileHandle | undefined, size: s.end, index: s.index })),
      { handle: this.live.handle, size: this.live.knownSize, index: this.live.index },
    ];
  }

  /**
   * Where the last `tail` lines start (tail -1: after the last newline). An incomplete last line
   * counts as a line.
   */
  private async tailStart(files: { handle: FileHandle | undefined; size: number }[], tail: number): Promise<{ file: number; offset: number }> {
    let first = true;
    let count = 0;
    for (let f = files.length - 1; f >= 0; f--) {
      const { handle, size } = files[f]!;
      if (!handle) continue;
      let end = size;
      while (end > 0) {
        const from = Math.max(0, end - CHUNK_BYTES);
        const chunk = await readAt(handle, from, end - from);
        if (chunk.length < end - from) break; // shrank under us (a rotation): the follow-up read sorts it out
        for (let i = chunk.length - 1; i >= 0; i--) {
          const isLastByte = first;
          first = false;
          if (chunk[i] !== NEWLINE) continue;
          if (tail < 0) return { file: f, offset: from + i + 1 };
          if (isLastByte) continue; // ends the last line; starts none
          if (++count === tail) return { file: f, offset: from + i + 1 };
        }
        end = from;
      }
    }
    return { file: 0, offset: 0 };
  }

  /** The start of the first line that may have been seen at or after `sinceMs`. */
  private async sinceStart(files: { handle: FileHandle | undefined; size: number; index: LogIndex }[], sinceMs: number): Promise<{ file: number; offset: number }> {
    for (let f = 0; f < files.length; f++) {
      const { handle, size, index } = files[f]!;
      if (!handle) continue;
      const offset = index.offsetSince(sinceMs);
      if (offset === undefined) {
        // No indexed line qualifies; lines beyond the index (not indexed yet) may.
        if (index.lastOffset >= size) continue;
        return { file: f, offset: await lineStart(handle, Math.max(0, index.lastOffset)) };
      }
      return { file: f, offset: await lineStart(handle, offset) };
    }
    return { file: files.length - 1, offset: files[files.length - 1]!.size };
  }

  /** Cuts `chunk` (read at `offset` of a file indexed by `index`) into lines appended to `out`. */
  private async split(chunk: Buffer, offset: number, index: LogIndex, out: TimedLine[], budget: { bytes: number }): Promise<void> {
    let refreshed = false;
    const emit = async (bytes: Buffer, endOffset: number) => {
      let timeMs = index.timeAt(endOffset);
      if (timeMs === undefined && !refreshed) {
        refreshed = true;
        await index.refresh();
        timeMs = index.timeAt(endOffset);
      }
      const time = this.stamp(timeMs);
      budget.bytes += bytes.length;
      if (time >= this.sinceMs) out.push({ text: bytes.toString('utf8'), time: new Date(time) });
    };
    let start = 0;
    for (let nl = chunk.indexOf(NEWLINE, start); nl !== -1; nl = chunk.indexOf(NEWLINE, start)) {
      const piece = chunk.subarray(start, nl);
      let line = this.pendingBytes > 0 ? Buffer.concat([...this.pending, piece]) : Buffer.from(piece);
      this.pending = [];
      this.pendingBytes = 0;
      for (; line.length > this.maxLineBytes; line = line.subarray(this.maxLineBytes)) await emit(line.subarray(0, this.maxLineBytes), offset + nl + 1);
      await emit(line, offset + nl + 1);
      start = nl + 1;
    }
    if (start < chunk.length) {
      this.pending.push(Buffer.from(chunk.subarray(start)));
      this.pendingBytes += chunk.length - start;
      // Bounded memory: an endless line leaves in pieces.
      while (this.pendingBytes >= this.maxLineBytes) {
        const all = Buffer.concat(this.pending);
        const rest = all.subarray(this.maxLineBytes);
        this.pending = rest.length > 0 ? [Buffer.from(rest)] : [];
        this.pendingBytes = rest.length;
        await emit(all.subarray(0, this.maxLineBytes), offset + chunk.length - rest.length);
      }
    }
  }

  /** A line's time: its checkpoint's, or now; never before the previous line's. */
  private stamp(timeMs: number | undefined): number {
    this.lastTimeMs = Math.max(this.lastTimeMs, timeMs ?? this.now());
    return this.lastTimeMs;
  }
}

/** The size of `path`, 0 when it does not exist. */
async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch (err) {
    if (isNotFound(err)) return 0;
    throw err;
  }
}

/** Bytes to read for a batch that may still take `wanted` bytes of text. */
function chunkBytes(wanted: number): number {
  return Math.min(CHUNK_BYTES, Math.max(1024, wanted));
}

async function openIfExists(path: string): Promise<{ handle: FileHandle; size: number; ino: number; mtimeMs: number } | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
  try {
    const st = await handle.stat();
    return { handle, size: st.size, ino: st.ino, mtimeMs: st.mtimeMs };
  } catch (err) {
    await handle.close().catch(() => {});
    throw err;
  }
}

async function readAt(handle: FileHandle, position: number, length: number): Promise<Buffer> {
  if (length <= 0) return Buffer.alloc(0);
  const buffer = Buffer.alloc(length);
  let filled = 0;
  // Bounded by length: each pass reads at least one byte or stops.
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return buffer.subarray(0, filled);
}

/** The start of the line holding byte `offset`: just after the last newline before it, or 0. */
async function lineStart(handle: FileHandle, offset: number): Promise<number> {
  let end = offset;
  while (end > 0) {
    const from = Math.max(0, end - CHUNK_BYTES);
    const chunk = await readAt(handle, from, end - from);
    const nl = chunk.lastIndexOf(NEWLINE);
    if (nl !== -1) return from + nl + 1;
    end = from;
  }
  return 0;
}
