/**
 * The Store on any abstract-level database: classic-level (LevelDB on disk, the embedded
 * default) or memory-level (tests). See store.ts for the guarantees.
 *
 * Layout (utf8 keys):
 *   o/<kind>/<namespace>/<name>  the object (protobuf); cluster-scoped kinds: o/<kind>/<name>
 *   e/<revision, 16 digits>      the event log, one entry per revision (event-codec.ts)
 *   m/rev, m/compacted           the current revision and the oldest retained one
 *
 * Writes go through one commit loop. Whatever commits arrive while a batch is being synced are
 * taken together into the next batch (group commit): one fsync acknowledges them all, so
 * durability does not cost throughput. Each commit is still all-or-nothing on its own.
 */
import { randomUUID } from 'node:crypto';
import type { AbstractLevel } from 'abstract-level';
import { ClassicLevel } from 'classic-level';
import { MemoryLevel } from 'memory-level';
import { RuneError } from '../../shared/errors.js';
import type { ObjectMeta } from '../../shared/gen/rune/v1/meta.js';
import { decodeEvent, encodeEvent } from './event-codec.js';
import { KindRegistry, canonicalJson, defaultKinds, type KindDef } from './kinds.js';
import type { StoreMetrics } from './store-metrics.js';
import type {
  CommitResult,
  ListOptions,
  ListResult,
  RecentOptions,
  RecentResult,
  Store,
  StoreEvent,
  StoredObject,
  Subscription,
  WatchFilter,
  WatchOptions,
  WatchSink,
  Watcher,
  WriteOp,
} from './store.js';

type Db = AbstractLevel<string | Buffer | Uint8Array, string, Uint8Array>;

export interface LevelStoreOptions {
  /** Kinds to store; defaults to runed's kinds. */
  kinds?: KindRegistry;
  /** Keep at least this many of the newest events (default 100,000). */
  retainEvents?: number;
  /** Drop events older than this, beyond `retainEvents`... see compact(). Default 1 h. */
  retainMs?: number;
  /** How often compaction runs; 0 disables the timer (default 30 s). */
  compactEveryMs?: number;
  /** Largest encoded object accepted (default 1 MiB). */
  maxObjectBytes?: number;
  /** Sync each batch to disk before acknowledging (default true; memory-level ignores it). */
  sync?: boolean;
  /** Clock, for tests of age-based compaction. */
  now?: () => number;
  /** Where batch sizes, write latency and watch deliveries are reported (none by default). */
  metrics?: StoreMetrics;
}

const DEFAULT_LIMIT = 500;
const MAX_LIMIT = 5000;
const MAX_GROUP_COMMITS = 1024;
const REPLAY_CHUNK = 256;
const DEFAULT_MAX_QUEUE = 10_000;

const REV_KEY = 'm/rev';
const COMPACTED_KEY = 'm/compacted';
const EVENT_PREFIX = 'e/';

const eventKey = (revision: number): string => EVENT_PREFIX + String(revision).padStart(16, '0');

interface PendingCommit {
  ops: WriteOp[];
  resolve: (result: CommitResult) => void;
  reject: (err: unknown) => void;
}

interface Subscriber {
  filter: WatchFilter;
  sink: WatchSink;
  /** Highest revision this subscriber has been brought up to (delivered or filtered out). */
  position: number;
  /** Live batches held back while the log is being replayed. */
  held: StoreEvent[][] | undefined;
  heldEvents: number;
  maxQueue: number;
  closed: boolean;
}

/** Opens a LevelDB store in `dir`; FAILED_PRECONDITION naming the dir when another process holds it. */
export async function openLevelStore(dir: string, options: LevelStoreOptions = {}): Promise<LevelStore> {
  const db = new ClassicLevel<string, Uint8Array>(dir, { keyEncoding: 'utf8', valueEncoding: 'view' });
  try {
    await db.open();
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause;
    if ((err as { code?: string }).code === 'LEVEL_LOCKED' || cause?.code === 'LEVEL_LOCKED') {
      throw new RuneError('FAILED_PRECONDITION', `data dir ${dir} is in use by another runed (LevelDB lock held); stop it or pick another --data-dir`, { cause: err });
    }
    throw new RuneError('INTERNAL', `cannot open the store in ${dir}: ${(err as Error).message}`, { cause: err });
  }
  return LevelStore.open(db as unknown as Db, options);
}

/** An in-memory store with the same code path, for tests. */
export async function openMemoryStore(options: LevelStoreOptions = {}): Promise<LevelStore> {
  const db = new MemoryLevel<string, Uint8Array>({ keyEncoding: 'utf8', valueEncoding: 'view' });
  await db.open();
  return LevelStore.open(db as unknown as Db, options);
}

export class LevelStore implements Store {
  private rev = 0;
  private compacted = 0;
  private readonly queue: PendingCommit[] = [];
  private writing = false;
  private readonly subscribers = new Set<Subscriber>();
  private compactTimer: NodeJS.Timeout | undefined;
  private compacting: Promise<void> | undefined;
  private closed = false;
  private readonly kinds: KindRegistry;
  private readonly retainEvents: number;
  private readonly retainMs: number;
  private readonly maxObjectBytes: number;
  private readonly sync: boolean;
  private readonly now: () => number;
  private readonly metrics: StoreMetrics | undefined;

  private constructor(private readonly db: Db, options: LevelStoreOptions) {
    this.kinds = options.kinds ?? defaultKinds();
    this.retainEvents = options.retainEvents ?? 100_000;
    this.retainMs = options.retainMs ?? 3_600_000;
    this.maxObjectBytes = options.maxObjectBytes ?? 1024 * 1024;
    this.sync = options.sync ?? true;
    this.now = options.now ?? Date.now;
    this.metrics = options.metrics;
  }

  static async open(db: Db, options: LevelStoreOptions): Promise<LevelStore> {
    const store = new LevelStore(db, options);
    const [rev, compacted] = await db.getMany([REV_KEY, COMPACTED_KEY]);
    store.rev = rev ? Number(Buffer.from(rev).toString()) : 0;
    store.compacted = compacted ? Number(Buffer.from(compacted).toString()) : 0;
    const every = options.compactEveryMs ?? 30_000;
    if (every > 0) {
      store.compactTimer = setInterval(() => void store.compact().catch(() => undefined), every);
      store.compactTimer.unref();
    }
    return store;
  }

  get revision(): number {
    return this.rev;
  }

  get compactedRevision(): number {
    return this.compacted;
  }

  /** Open watch subscriptions (for metrics). */
  get subscriberCount(): number {
    return this.subscribers.size;
  }

  // ---- reads ----

  async get<T extends StoredObject>(kind: string, namespace: string, name: string): Promise<T | undefined> {
    const def = this.kinds.get(kind);
    checkScope(def, namespace);
    const bytes = await this.db.get(this.objectKey(def, namespace, name));
    return bytes === undefined ? undefined : (def.codec.decode(bytes) as T);
  }

  async list<T extends StoredObject>(kind: string, options: ListOptions = {}): Promise<ListResult<T>> {
    const def = this.kinds.get(kind);
    const limit = clampLimit(options.limit);
    const prefix = def.namespaced && options.namespace ? `o/${kind}/${options.namespace}/` : `o/${kind}/`;
    // The continue token is the last key returned: the next page starts after it (before it,
    // in reverse).
    let resume: string | undefined;
    if (options.continueToken) {
      resume = decodeContinue(options.continueToken);
      if (!resume.startsWith(prefix)) {
        throw RuneError.invalid('continueToken', 'the continue token belongs to another list; start again without it');
      }
    }
    const range = options.reverse ? { gt: prefix, lt: resume ?? prefix + '\xff', reverse: true } : { gt: resume ?? prefix, lt: prefix + '\xff' };
    const labels = Object.entries(options.labels ?? {});
    // One snapshot for the items and the revision, so a watch from `revision` misses nothing
    // and repeats nothing the page already holds.
    const snapshot = this.db.snapshot();
    try {
      const revBytes = await this.db.get(REV_KEY, { snapshot });
      const revision = revBytes ? Number(Buffer.from(revBytes).toString()) : 0;
      const items: T[] = [];
      let lastKey = '';
      let more = false;
      const it = this.db.iterator({ ...range, snapshot });
      try {
        while (!more) {
          const entries = await it.nextv(Math.min(limit + 1, 1000));
          if (entries.length === 0) break;
          for (const [key, value] of entries) {
            const object = def.codec.decode(value) as T;
            if (labels.length && !labels.every(([k, v]) => object.metadata?.labels[k] === v)) continue;
            if (options.match && !options.match(object)) continue;
            if (items.length === limit) {
              more = true;
              break;
            }
            items.push(object);
            lastKey = key;
          }
        }
      } finally {
        await it.close();
      }
      return { items, revision, continueToken: more ? encodeContinue(lastKey) : '' };
    } finally {
      await snapshot.close();
    }
  }

  // ---- writes ----

  create<T extends StoredObject>(kind: string, object: T): Promise<T> {
    return this.commit([{ op: 'create', kind, object }]).then((r) => r.objects[0] as T);
  }

  update<T extends StoredObject>(kind: string, object: T): Promise<T> {
    return this.commit([{ op: 'update', kind, object }]).then((r) => r.objects[0] as T);
  }

  delete<T extends StoredObject>(kind: string, namespace: string, name: string, options: { resourceVersion?: number } = {}): Promise<T> {
    return this.commit([{ op: 'delete', kind, namespace, name, resourceVersion: options.resourceVersion }]).then(
      (r) => r.objects[0] as T,
    );
  }

  commit(ops: WriteOp[]): Promise<CommitResult> {
    if (this.closed) return Promise.reject(new RuneError('UNAVAILABLE', 'the store is closed'));
    // Unknown kinds and keys outside the kind's scope fail before queueing.
    try {
      for (const op of ops) {
        const def = this.kinds.get(op.kind);
        if (op.op === 'delete' || op.op === 'check' || op.op === 'modify') checkScope(def, op.namespace);
      }
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise<CommitResult>((resolve, reject) => {
      this.queue.push({ ops, resolve, reject });
      if (!this.writing) void this.flushLoop();
    });
  }

  /** The commit loop: one batch (one fsync) per round, holding every commit queued meanwhile. */
  private async flushLoop(): Promise<void> {
    this.writing = true;
    try {
      while (this.queue.length > 0) {
        const group = this.queue.splice(0, MAX_GROUP_COMMITS);
        await this.writeGroup(group);
      }
    } finally {
      this.writing = false;
    }
  }

  private async writeGroup(group: PendingCommit[]): Promise<void> {
    // Read the current value of every key the group touches, in one round trip.
    const keys = new Set<string>();
    const keyOf = new Map<WriteOp, string>();
    for (const commit of group) {
      for (const op of commit.ops) {
        const def = this.kinds.get(op.kind);
        const key =
          op.op === 'create' || op.op === 'update'
            ? this.objectKey(def, op.object.metadata?.namespace ?? '', op.object.metadata?.name ?? '')
            : this.objectKey(def, op.namespace, op.name);
        keyOf.set(op, key);
        keys.add(key);
      }
    }
    const keyList = [...keys];
    let values: (Uint8Array | undefined)[];
    try {
      values = await this.db.getMany(keyList);
    } catch (err) {
      const failure = new RuneError('UNAVAILABLE', `store read failed: ${(err as Error).message}; nothing was written, retry`, { cause: err });
      for (const commit of group) commit.reject(failure);
      return;
    }
    /** Current state as the group goes: undefined = absent. */
    const state = new Map<string, Uint8Array | undefined>(keyList.map((k, i) => [k, values[i]]));

    const batch: { type: 'put' | 'del'; key: string; value?: Uint8Array }[] = [];
    const accepted: { commit: PendingCommit; result: CommitResult }[] = [];
    const events: StoreEvent[] = [];
    let revision = this.rev;
    const nowMs = this.now();

    for (const commit of group) {
      const staged = new Map<string, Uint8Array | undefined>();
      const read = (key: string) => (staged.has(key) ? staged.get(key) : state.get(key));
      const commitEvents: StoreEvent[] = [];
      const objects: (StoredObject | undefined)[] = [];
      let rev = revision;
      try {
        for (const op of commit.ops) {
          const key = keyOf.get(op)!;
          const def = this.kinds.get(op.kind);
          const currentBytes = read(key);
          const current = currentBytes ? def.codec.decode(currentBytes) : undefined;
          if (op.op === 'check') {
            if ((current !== undefined) !== op.exists) throw op.error();
            objects.push(undefined);
            continue;
          }
          let write: Extract<WriteOp, { op: 'create' | 'update' }> | undefined;
          if (op.op === 'modify') {
            const changed = op.change(current);
            if (changed === undefined) {
              objects.push(current);
              continue;
            }
            const meta = changed.metadata;
            if (meta?.name !== op.name || (meta?.namespace ?? '') !== op.namespace) {
              throw RuneError.invalid('metadata', `a modify of ${describe(def, op.namespace, op.name)} returned ${describe(def, meta?.namespace ?? '', meta?.name ?? '')}`);
            }
            // The version just read: this write cannot be stale.
            write = current
              ? { op: 'update', kind: op.kind, object: { ...changed, metadata: { ...meta, resourceVersion: current.metadata?.resourceVersion ?? 0 } } }
              : { op: 'create', kind: op.kind, object: changed };
          } else if (op.op === 'delete') {
            if (!current) throw notFound(def, op.namespace, op.name);
            const currentRv = current.metadata?.resourceVersion ?? 0;
            if (op.resourceVersion && op.resourceVersion !== currentRv) throw stale(def, op.namespace, op.name, op.resourceVersion, currentRv);
            rev += 1;
            staged.set(key, undefined);
            commitEvents.push({ type: 'DELETED', revision: rev, kind: def.kind, namespace: op.namespace, name: op.name, object: current, encoded: currentBytes! });
            objects.push(current);
            continue;
          } else {
            write = op;
          }
          const next = this.prepareWrite(def, write, current, rev + 1, nowMs);
          const encoded = def.codec.encode(next).finish();
          if (encoded.length > this.maxObjectBytes) {
            throw RuneError.invalid('object', `${def.kind} "${next.metadata!.name}" is ${encoded.length} bytes encoded; the limit is ${this.maxObjectBytes}`);
          }
          rev += 1;
          staged.set(key, encoded);
          const meta = next.metadata!;
          commitEvents.push({ type: current ? 'MODIFIED' : 'ADDED', revision: rev, kind: def.kind, namespace: meta.namespace, name: meta.name, object: next, encoded });
          objects.push(next);
        }
      } catch (err) {
        commit.reject(err); // this commit alone fails; the store is unchanged by it
        continue;
      }
      for (const [key, value] of staged) {
        state.set(key, value);
        batch.push(value === undefined ? { type: 'del', key } : { type: 'put', key, value });
      }
      for (const event of commitEvents) batch.push({ type: 'put', key: eventKey(event.revision), value: encodeEvent(event, nowMs) });
      revision = rev;
      events.push(...commitEvents);
      accepted.push({ commit, result: { revision: rev, objects } });
    }

    if (revision !== this.rev) {
      batch.push({ type: 'put', key: REV_KEY, value: Buffer.from(String(revision)) });
      const started = this.metrics ? performance.now() : 0;
      try {
        await this.db.batch(batch as never, { sync: this.sync } as never);
      } catch (err) {
        const failure = new RuneError('UNAVAILABLE', `store write failed: ${(err as Error).message}; nothing was written, retry`, { cause: err });
        for (const { commit } of accepted) commit.reject(failure);
        return;
      }
      this.metrics?.batchWritten(accepted.length, (performance.now() - started) / 1000);
      this.rev = revision;
    }
    for (const { commit, result } of accepted) commit.resolve(result);
    if (events.length > 0) this.publish(events);
  }

  /** The object to write for a create or update: server-owned metadata filled in. */
  private prepareWrite(def: KindDef, op: Extract<WriteOp, { op: 'create' | 'update' }>, current: StoredObject | undefined, revision: number, nowMs: number): StoredObject {
    const meta = op.object.metadata;
    if (!meta?.name) throw RuneError.invalid('metadata.name', 'is required');
    const namespace = meta.namespace ?? '';
    if (def.namespaced && !namespace) throw RuneError.invalid('metadata.namespace', `is required for ${def.kind}`);
    if (!def.namespaced && namespace) throw RuneError.invalid('metadata.namespace', `must be empty: ${def.kind} are not namespaced`);
    const now = new Date(nowMs);
    // fromPartial: a complete, private copy, so the caller's object is never aliased.
    const complete = (object: StoredObject) => def.codec.fromPartial(object as never);
    if (op.op === 'create') {
      if (current) throw new RuneError('ALREADY_EXISTS', `${describe(def, namespace, meta.name)} already exists`);
      return complete({
        ...op.object,
        metadata: { ...meta, uid: randomUUID(), resourceVersion: revision, generation: 1, createdAt: now, updatedAt: now, deletionTimestamp: undefined },
      });
    }
    if (!current) throw notFound(def, namespace, meta.name);
    const currentMeta = current.metadata!;
    if (meta.resourceVersion && meta.resourceVersion !== currentMeta.resourceVersion) {
      throw stale(def, namespace, meta.name, meta.resourceVersion, currentMeta.resourceVersion);
    }
    const nextMeta: ObjectMeta = {
      ...meta,
      uid: currentMeta.uid,
      createdAt: currentMeta.createdAt,
      generation: currentMeta.generation,
      resourceVersion: revision,
      updatedAt: now,
    };
    // One copy, compared as it will be stored (the canonical forms themselves: no hashing needed
    // to compare); the generation is set on this private copy.
    const next = complete({ ...op.object, metadata: nextMeta });
    if (def.spec && canonicalJson(def.spec(next) ?? null) !== canonicalJson(def.spec(current) ?? null)) next.metadata!.generation += 1;
    return next;
  }

  // ---- watch ----

  subscribe(options: WatchOptions, sink: WatchSink): Subscription {
    if (this.closed) throw new RuneError('UNAVAILABLE', 'the store is closed');
    if (options.kind) this.kinds.get(options.kind);
    const from = options.fromRevision && options.fromRevision > 0 ? options.fromRevision : this.rev;
    if (from < this.compacted) throw tooOld(from, this.compacted);
    const sub: Subscriber = {
      filter: { kind: options.kind, namespace: options.namespace === '*' ? undefined : options.namespace || undefined },
      sink,
      position: from,
      held: from < this.rev ? [] : undefined,
      heldEvents: 0,
      maxQueue: options.maxQueue ?? DEFAULT_MAX_QUEUE,
      closed: false,
    };
    this.subscribers.add(sub);
    if (sub.held) void this.replay(sub);
    return {
      startRevision: from,
      close: () => {
        sub.closed = true;
        this.subscribers.delete(sub);
      },
    };
  }

  watch(options: WatchOptions): Watcher {
    const maxQueue = options.maxQueue ?? DEFAULT_MAX_QUEUE;
    const queue: StoreEvent[] = [];
    let failure: Error | undefined;
    let done = false;
    let wake: (() => void) | undefined;
    const signal = () => {
      wake?.();
      wake = undefined;
    };
    /** What the replay waits on: settles once the consumer has taken everything, or the watch ended. */
    let drained: Promise<void> | undefined;
    let release = () => {};
    const subscription = this.subscribe(options, {
      events: (batch) => {
        queue.push(...batch);
        if (queue.length > maxQueue) {
          this.metrics?.subscriberCutOff();
          subscription.close();
          const last = queue[0]!.revision - 1;
          queue.length = 0;
          failure = fellBehind(last);
          release();
        }
        signal();
        if (failure || queue.length === 0) return;
        drained ??= new Promise<void>((resolve) => {
          release = () => {
            drained = undefined;
            release = () => {};
            resolve();
          };
        });
        return drained;
      },
      error: (err) => {
        failure = err;
        signal();
        release();
      },
    });
    const close = () => {
      done = true;
      subscription.close();
      signal();
      release();
    };
    return {
      startRevision: subscription.startRevision,
      close,
      [Symbol.asyncIterator]: () => ({
        next: async (): Promise<IteratorResult<StoreEvent>> => {
          for (;;) {
            if (queue.length > 0) {
              const value = queue.shift()!;
              if (queue.length === 0) release();
              return { value, done: false };
            }
            if (failure) throw failure;
            if (done) return { value: undefined, done: true };
            await new Promise<void>((resolve) => (wake = resolve));
          }
        },
        return: async (): Promise<IteratorResult<StoreEvent>> => {
          close();
          return { value: undefined, done: true };
        },
      }),
    };
  }

  async recent(options: RecentOptions): Promise<RecentResult> {
    if (options.kind) this.kinds.get(options.kind);
    const filter: WatchFilter = { kind: options.kind, namespace: options.namespace === '*' ? undefined : options.namespace || undefined };
    const snapshot = this.db.snapshot();
    try {
      const revBytes = await this.db.get(REV_KEY, { snapshot });
      const revision = revBytes ? Number(Buffer.from(revBytes).toString()) : 0;
      const events: StoreEvent[] = [];
      if (options.limit <= 0) return { events, revision };
      // Newest first, bounded by the retained log; decoding stops once `limit` matched.
      const it = this.db.iterator({ gt: EVENT_PREFIX, lte: eventKey(revision), reverse: true, snapshot });
      try {
        while (events.length < options.limit) {
          const entries = await it.nextv(REPLAY_CHUNK);
          if (entries.length === 0) break;
          for (const [, value] of entries) {
            const event = decodeEvent(value, this.kinds);
            if (!matches(filter, event) || (options.match && !options.match(event))) continue;
            events.push(event);
            if (events.length === options.limit) break;
          }
        }
      } finally {
        await it.close();
      }
      return { events: events.reverse(), revision };
    } finally {
      await snapshot.close();
    }
  }

  /** Reads the log after the subscriber's position, then releases the live batches held meanwhile. */
  private async replay(sub: Subscriber): Promise<void> {
    const snapshot = this.db.snapshot();
    try {
      let expected = sub.position + 1;
      const it = this.db.iterator({ gt: eventKey(sub.position), lt: EVENT_PREFIX + '\xff', snapshot });
      try {
        for (;;) {
          // A chunk never exceeds what the subscriber may queue; the sink paces the next read.
          const entries = await it.nextv(Math.max(1, Math.min(REPLAY_CHUNK, sub.maxQueue)));
          if (sub.closed) return;
          if (entries.length === 0) break;
          const chunk: StoreEvent[] = [];
          for (const [, value] of entries) {
            const event = decodeEvent(value, this.kinds);
            // Compaction may have removed what we were about to read: never skip silently.
            if (event.revision !== expected) throw tooOld(sub.position, this.compacted);
            expected += 1;
            if (matches(sub.filter, event)) chunk.push(event);
          }
          sub.position = expected - 1;
          if (chunk.length > 0) {
            this.metrics?.eventsSent(chunk.length);
            await sub.sink.events(chunk);
          }
          if (sub.closed) return;
        }
      } finally {
        await it.close();
      }
      const held = sub.held ?? [];
      sub.held = undefined;
      for (const batch of held) this.deliver(sub, batch);
    } catch (err) {
      this.fail(sub, RuneError.from(err));
    } finally {
      await snapshot.close();
    }
  }

  private publish(events: StoreEvent[]): void {
    for (const sub of this.subscribers) {
      if (sub.held) {
        sub.held.push(events);
        sub.heldEvents += events.length;
        if (sub.heldEvents > sub.maxQueue) {
          this.metrics?.subscriberCutOff();
          this.fail(sub, fellBehind(sub.position));
        }
        continue;
      }
      this.deliver(sub, events);
    }
  }

  private deliver(sub: Subscriber, events: readonly StoreEvent[]): void {
    if (sub.closed) return;
    const fresh = events.filter((e) => e.revision > sub.position && matches(sub.filter, e));
    const last = events[events.length - 1];
    if (last && last.revision > sub.position) sub.position = last.revision;
    if (fresh.length === 0) return;
    this.metrics?.eventsSent(fresh.length);
    try {
      sub.sink.events(fresh);
    } catch (err) {
      this.fail(sub, RuneError.from(err));
    }
  }

  private fail(sub: Subscriber, err: Error): void {
    if (sub.closed) return;
    sub.closed = true;
    this.subscribers.delete(sub);
    sub.sink.error(err);
  }

  // ---- compaction ----

  /**
   * Drops log entries that are both beyond the newest `retainEvents` and older than `retainMs`.
   * Watches that need a dropped revision get OUT_OF_RANGE and relist.
   */
  compact(): Promise<void> {
    this.compacting ??= this.compactOnce().finally(() => (this.compacting = undefined));
    return this.compacting;
  }

  private async compactOnce(): Promise<void> {
    if (this.closed) return;
    const byCount = this.rev - this.retainEvents;
    if (byCount <= this.compacted) return;
    // Among the candidates, keep those younger than retainMs.
    const cutoffTime = this.now() - this.retainMs;
    let cutoff = this.compacted;
    const it = this.db.iterator({ gt: eventKey(this.compacted), lte: eventKey(byCount) });
    try {
      for (;;) {
        const entries = await it.nextv(REPLAY_CHUNK);
        if (entries.length === 0) break;
        let stop = false;
        for (const [, value] of entries) {
          const event = decodeEvent(value, this.kinds, { headerOnly: true });
          if (event.time > cutoffTime) {
            stop = true;
            break;
          }
          cutoff = event.revision;
        }
        if (stop) break;
      }
    } finally {
      await it.close();
    }
    if (cutoff <= this.compacted) return;
    // Raise the floor first, so no new watch starts below it while entries are being removed.
    this.compacted = cutoff;
    await this.db.put(COMPACTED_KEY, Buffer.from(String(cutoff)));
    await this.db.clear({ gt: EVENT_PREFIX, lte: eventKey(cutoff) });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.compactTimer);
    while (this.writing || this.queue.length > 0) await new Promise((r) => setTimeout(r, 5));
    await this.compacting;
    for (const sub of [...this.subscribers]) this.fail(sub, new RuneError('UNAVAILABLE', 'runed is shutting down; reconnect and resume from your last revision'));
    await this.db.close();
  }

  private objectKey(def: KindDef, namespace: string, name: string): string {
    return def.namespaced ? `o/${def.kind}/${namespace}/${name}` : `o/${def.kind}/${name}`;
  }
}

function matches(filter: WatchFilter, event: StoreEvent): boolean {
  return (!filter.kind || filter.kind === event.kind) && (!filter.namespace || filter.namespace === event.namespace);
}

/**
 * INVALID_ARGUMENT unless `namespace` fits the kind: required for namespaced kinds, empty for
 * cluster-scoped ones (else a delete would log an event under a namespace the object is not in).
 */
function checkScope(def: KindDef, namespace: string): void {
  if (def.namespaced && !namespace) throw RuneError.invalid('namespace', `is required for ${def.kind}`);
  if (!def.namespaced && namespace) throw RuneError.invalid('namespace', `must be empty: ${def.kind} are not namespaced`);
}

function clampLimit(limit: number | undefined): number {
  if (limit === undefined || limit === 0) return DEFAULT_LIMIT;
  if (!Number.isInteger(limit) || limit < 0) throw RuneError.invalid('limit', `must be a positive whole number (got ${limit})`);
  return Math.min(limit, MAX_LIMIT);
}

function encodeContinue(key: string): string {
  return Buffer.from(key, 'utf8').toString('base64url');
}

function decodeContinue(token: string): string {
  const key = Buffer.from(token, 'base64url').toString('utf8');
  if (!key.startsWith('o/')) throw RuneError.invalid('continueToken', 'is not a continue token from this server; start again without it');
  return key;
}

function describe(def: KindDef, namespace: string, name: string): string {
  const singular = def.kind.replace(/s$/, '');
  return def.namespaced ? `${singular} "${name}" in namespace "${namespace}"` : `${singular} "${name}"`;
}

function notFound(def: KindDef, namespace: string, name: string): RuneError {
  return RuneError.notFound(`${describe(def, namespace, name)} not found`);
}

function stale(def: KindDef, namespace: string, name: string, given: number, current: number): RuneError {
  return new RuneError('ABORTED', `${describe(def, namespace, name)}: resourceVersion ${given} is stale (current ${current}); read it again and retry`);
}

function tooOld(from: number, compacted: number): RuneError {
  return new RuneError('OUT_OF_RANGE', `revision ${from} is too old: the log now starts after revision ${compacted}; list again and watch from the list's revision`);
}

function fellBehind(position: number): RuneError {
  return new RuneError('RESOURCE_EXHAUSTED', `watcher fell behind and was cut off after revision ${position}; resume from revision ${position}`);
}
