/**
 * The audit log: an append-only record of who did what (rune.v1.AuditEntry), in its own
 * LevelDB in `<data-dir>/audit`, apart from the object store.
 *
 * Why apart: the store's event log is for objects — it is watched by every controller and
 * informer, compacted after an hour, and every entry bumps the global revision. Audit entries
 * are no objects (no name, no versions, nobody reconciles them), must outlive the event log
 * (retained by age, 30 days by default) and must not wake every watcher of the store. A
 * separate database also keeps audit writes out of the store's commit loop.
 *
 * Layout: `a/<time ms, 15 digits>/<sequence, 12 digits>` → the encoded entry. Times are forced
 * monotonic (never before the previous entry's), so key order is append order and time order:
 * a query from `since` is one range scan. Appends are group-committed and synced: when
 * `append` resolves, the entry is on disk.
 */
import type { AbstractLevel } from 'abstract-level';
import { ClassicLevel } from 'classic-level';
import { MemoryLevel } from 'memory-level';
import { RuneError } from '../../shared/errors.js';
import { AuditEntry } from '../../shared/gen/rune/v1/audit.js';

type Db = AbstractLevel<string, string, Uint8Array>;

export interface AuditLogOptions {
  /** Drop entries older than this, ms. Default 30 days. */
  retainMs?: number;
  /** How often old entries are dropped, ms; 0: never on a timer. Default 1 h. */
  compactEveryMs?: number;
  /** Clock, ms (tests). */
  now?: () => number;
}

export interface AuditQuery {
  /** Entries at or after this time; all retained when absent. */
  since?: Date;
  /** After the stored entries, go on with new ones until `signal` aborts. */
  follow: boolean;
  signal: AbortSignal;
  /** Receives entries in order, in batches; the next batch waits for the returned promise. */
  write: (entries: AuditEntry[]) => Promise<void>;
  /** Most entries queued for a follower that does not keep up before it is cut off. Default 10,000. */
  maxQueue?: number;
}

const PREFIX = 'a/';
const CHUNK = 256;
const DEFAULT_RETAIN_MS = 30 * 24 * 3_600_000;

const keyOf = (ms: number, seq: number): string => `${PREFIX}${String(ms).padStart(15, '0')}/${String(seq).padStart(12, '0')}`;

interface Pending {
  key: string;
  entry: AuditEntry;
  value: Uint8Array;
  resolve: () => void;
  reject: (err: unknown) => void;
}

type Listener = (batch: ReadonlyArray<{ key: string; entry: AuditEntry }>) => void;

export class AuditLog {
  private lastMs = 0;
  private seq = 0;
  private queue: Pending[] = [];
  private writing = false;
  private closed = false;
  private readonly listeners = new Set<Listener>();
  private timer: NodeJS.Timeout | undefined;
  private readonly retainMs: number;
  private readonly now: () => number;

  private constructor(private readonly db: Db, options: AuditLogOptions) {
    this.retainMs = options.retainMs ?? DEFAULT_RETAIN_MS;
    this.now = options.now ?? Date.now;
  }

  /** Opens (or creates) the audit log in `dir`; FAILED_PRECONDITION when another process holds it. */
  static async open(dir: string, options: AuditLogOptions = {}): Promise<AuditLog> {
    const db = new ClassicLevel<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
    try {
      await db.open();
    } catch (err) {
      throw new RuneError('FAILED_PRECONDITION', `cannot open the audit log in ${dir}: ${(err as Error).message}`, { cause: err });
    }
    return AuditLog.start(db as unknown as Db, options);
  }

  /** An in-memory audit log (tests). */
  static async openInMemory(options: AuditLogOptions = {}): Promise<AuditLog> {
    const db = new MemoryLevel<string, Uint8Array>({ keyEncoding: 'utf8', valueEncoding: 'view' });
    await db.open();
    return AuditLog.start(db as unknown as Db, options);
  }

  private static async start(db: Db, options: AuditLogOptions): Promise<AuditLog> {
    const log = new AuditLog(db, options);
    for await (const key of db.keys({ gte: PREFIX, lt: PREFIX + '\xff', reverse: true, limit: 1 })) {
      const [, ms, seq] = key.split('/');
      log.lastMs = Number(ms);
      log.seq = Number(seq);
    }
    const every = options.compactEveryMs ?? 3_600_000;
    if (every > 0) {
      log.timer = setInterval(() => void log.compact().catch(() => undefined), every);
      log.timer.unref();
    }
    return log;
  }

  /** Appends `entry` (its time is set now); resolves once it is on disk. */
  append(entry: Omit<AuditEntry, 'time'>): Promise<void> {
    if (this.closed) return Promise.reject(new RuneError('UNAVAILABLE', 'the audit log is closed'));
    const ms = Math.max(this.now(), this.lastMs);
    this.lastMs = ms;
    const full = AuditEntry.fromPartial({ ...entry, time: new Date(ms) });
    const key = keyOf(ms, ++this.seq);
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ key, entry: full, value: AuditEntry.encode(full).finish(), resolve, reject });
      if (!this.writing) void this.flush();
    });
  }

  /** One batch (one sync) per round, holding every append queued meanwhile. */
  private async flush(): Promise<void> {
    this.writing = true;
    try {
      while (this.queue.length > 0) {
        const group = this.queue;
        this.queue = [];
        try {
          await this.db.batch(group.map((p) => ({ type: 'put' as const, key: p.key, value: p.value })), { sync: true } as never);
        } catch (err) {
          for (const p of group) p.reject(err);
          continue;
        }
        for (const p of group) p.resolve();
        const batch = group.map((p) => ({ key: p.key, entry: p.entry }));
        for (const listener of this.listeners) listener(batch);
      }
    } finally {
      this.writing = false;
    }
  }

  /**
   * Streams entries from `since`, oldest first; with `follow`, then new ones until `signal`
   * aborts. A follower whose `write` falls `maxQueue` entries behind ends with
   * RESOURCE_EXHAUSTED (ask again with `since` = the last time seen).
   */
  async query(query: AuditQuery): Promise<void> {
    const { signal } = query;
    if (signal.aborted) return;
    const maxQueue = query.maxQueue ?? 10_000;
    let lastKey = '';
    /** Live entries that arrived during the scan, or while a write was in flight. */
    let held: { key: string; entry: AuditEntry }[] = [];
    let failure: RuneError | undefined;
    let wake: (() => void) | undefined;
    const listener: Listener = (batch) => {
      held.push(...batch);
      if (held.length > maxQueue) {
        failure ??= new RuneError('RESOURCE_EXHAUSTED', `the audit follower fell more than ${maxQueue} entries behind and was cut off; ask again with --since`);
        held = [];
      }
      wake?.();
    };
    if (query.follow) this.listeners.add(listener);
    const onAbort = () => wake?.();
    signal.addEventListener('abort', onAbort);
    try {
      const from = query.since ? keyOf(query.since.getTime(), 0) : PREFIX;
      const it = this.db.iterator({ gte: from, lt: PREFIX + '\xff' });
      try {
        for (;;) {
          const rows = await it.nextv(CHUNK);
          if (rows.length === 0 || signal.aborted) break;
          lastKey = rows[rows.length - 1]![0];
          await query.write(rows.map(([, value]) => AuditEntry.decode(value)));
        }
      } finally {
        await it.close();
      }
      if (!query.follow) return;
      for (;;) {
        if (signal.aborted) return;
        if (failure) throw failure;
        const fresh = held.filter((e) => e.key > lastKey);
        held = [];
        if (fresh.length > 0) {
          lastKey = fresh[fresh.length - 1]!.key;
          await query.write(fresh.map((e) => e.entry));
          continue;
        }
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    } finally {
      this.listeners.delete(listener);
      signal.removeEventListener('abort', onAbort);
    }
  }

  /** Drops entries older than the retention now (also runs on a timer). */
  async compact(): Promise<void> {
    if (this.closed) return;
    await this.db.clear({ gte: PREFIX, lt: keyOf(this.now() - this.retainMs, 0) });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    while (this.writing || this.queue.length > 0) await new Promise((r) => setTimeout(r, 5));
    await this.db.close();
  }
}
