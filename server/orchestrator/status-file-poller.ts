/**
 * Watches the `$RUNE_STATUS_FILE` of every supervised run with ONE timer (default every 200 ms,
 * so a change shows up well within 1 s). A tick costs one stat per file; a file is read only
 * when its inode, size or modification time changed, and a reading is passed on only when the
 * content differs from the last one passed on (or, for the same content rewritten, at most once
 * per HEARTBEAT_MS as a heartbeat).
 *
 * A writer that truncates and then writes may be caught half-way: content that does not parse
 * is read once more on the next tick and reported as a problem only if it is still the same
 * (writers should still write a temporary file and rename it over the status file).
 */
import { readFile, stat } from 'node:fs/promises';
import { parseStatusReport, type StatusReading } from './status-report.js';

/** Larger files are not read (a status report is a few hundred bytes). */
const MAX_STATUS_BYTES = 64 * 1024;
/** The same content rewritten is passed on as a heartbeat at most this often. */
const HEARTBEAT_MS = 10_000;

export interface StatusFilePollerOptions {
  /** Milliseconds between two looks at every file (default 200). */
  periodMs?: number;
  /** Called with each new reading of the file watched under `key`. */
  onReading: (key: string, reading: StatusReading) => void;
}

interface FileState {
  path: string;
  /** inode:size:mtime of the content last passed on (or found unchanged). */
  signature: string;
  content: string | undefined;
  /** The content last passed on was ignored with a warning. */
  problem: boolean;
  /** Invalid content seen once: reported if it is still there at the next look. */
  unconfirmed: string | undefined;
  passedOnAt: number;
}

export class StatusFilePoller {
  private readonly files = new Map<string, FileState>();
  private readonly periodMs: number;
  private timer: NodeJS.Timeout | undefined;
  private tickInFlight = false;

  constructor(private readonly options: StatusFilePollerOptions) {
    this.periodMs = Math.max(10, options.periodMs ?? 200);
  }

  get size(): number {
    return this.files.size;
  }

  /** Starts watching `path` under `key` (no-op when already watched). */
  watch(key: string, path: string): void {
    if (this.files.get(key)?.path === path) return;
    this.files.set(key, { path, signature: '', content: undefined, problem: false, unconfirmed: undefined, passedOnAt: 0 });
    if (!this.timer) {
      this.timer = setInterval(() => void this.tick(), this.periodMs);
      this.timer.unref();
    }
  }

  unwatch(key: string): void {
    this.files.delete(key);
    if (this.files.size === 0) this.stop();
  }

  /**
   * Looks at the file of `key` now, invalid content reported at once (the last look before its
   * process's end is recorded). The reading, if new, is also passed to onReading.
   */
  async check(key: string): Promise<StatusReading | undefined> {
    const state = this.files.get(key);
    return state ? this.look(key, state, true) : undefined;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async tick(): Promise<void> {
    if (this.tickInFlight) return;
    this.tickInFlight = true;
    try {
      await Promise.all([...this.files].map(([key, state]) => this.look(key, state, false).catch(() => undefined)));
    } finally {
      this.tickInFlight = false;
    }
  }

  private async look(key: string, state: FileState, final: boolean): Promise<StatusReading | undefined> {
    let info;
    try {
      info = await stat(state.path, { bigint: true });
    } catch {
      return undefined; // not written (yet): nothing to report
    }
    const signature = `${info.ino}:${info.size}:${info.mtimeNs}`;
    if (signature === state.signature) return undefined;
    const modifiedAt = new Date(Number(info.mtimeNs / 1_000_000n));
    let reading: StatusReading;
    let content: string;
    if (info.size > BigInt(MAX_STATUS_BYTES)) {
      content = '\0too large';
      reading = { problem: `is ${info.size} bytes, more than ${MAX_STATUS_BYTES}; write a small JSON object`, modifiedAt };
    } else {
      try {
        content = await readFile(state.path, 'utf8');
      } catch {
        return undefined; // removed between stat and read: look again next tick
      }
      if (this.files.get(key) !== state) return undefined; // unwatched meanwhile
      if (content === state.content) {
        state.signature = signature;
        state.unconfirmed = undefined;
        // Never the same warning twice; the same report rewritten is a heartbeat, passed on now and then.
        if (state.problem || modifiedAt.getTime() - state.passedOnAt < HEARTBEAT_MS) return undefined;
      }
      const parsed = parseStatusReport(content);
      if ('problem' in parsed) {
        if (!final && state.unconfirmed !== content) {
          state.unconfirmed = content; // maybe caught mid-write: confirm at the next look
          return undefined;
        }
        reading = { problem: parsed.problem, modifiedAt };
      } else {
        reading = { report: parsed.report, modifiedAt };
      }
    }
    state.signature = signature;
    state.unconfirmed = undefined;
    if (content === state.content && state.problem) return undefined; // too large again: warned already
    state.content = content;
    state.problem = reading.problem !== undefined;
    state.passedOnAt = modifiedAt.getTime();
    this.options.onReading(key, reading);
    return reading;
  }
}
