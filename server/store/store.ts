/**
 * The store contract. Every backend (LevelDB on disk, memory-level in tests, etcd later) passes
 * the same conformance suite in test/store/conformance.ts.
 *
 * Guarantees:
 * - One global revision, incremented by exactly one per changed object. Every commit is one
 *   atomic batch that writes the objects and appends their events to an ordered log.
 * - `metadata.resourceVersion` is the revision of the object's last write. An update or delete
 *   that names a resourceVersion succeeds only if it is still current (else ABORTED, nothing
 *   written). `generation` starts at 1 and bumps only when the kind's spec really changed.
 * - An acknowledged commit is durable (synced to disk) for durable backends.
 * - Watches deliver every event after `fromRevision`, in revision order, without gaps or
 *   duplicates, or end with an error: OUT_OF_RANGE when `fromRevision` is older than the
 *   retained log (relist), RESOURCE_EXHAUSTED when the watcher fell behind (resume from the
 *   last revision it saw).
 */
import type { ObjectMeta } from '../../shared/gen/rune/v1/meta.js';

/** Any stored resource: a protobuf message with metadata. */
export interface StoredObject {
  metadata?: ObjectMeta | undefined;
}

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  type: EventType;
  revision: number;
  kind: string;
  namespace: string;
  name: string;
  /** The object after the change; for DELETED, its last state. Never mutate it. */
  object: StoredObject;
  /** The protobuf encoding of `object`, shared by every watcher (encode once, send many). */
  encoded: Uint8Array;
}

/** Identifies one object. `namespace` is '' for cluster-scoped kinds. */
export interface ObjectKey {
  kind: string;
  namespace: string;
  name: string;
}

export type WriteOp =
  /** Fails with ALREADY_EXISTS when the object exists. */
  | { op: 'create'; kind: string; object: StoredObject }
  /**
   * Replaces the object. Conditional when `object.metadata.resourceVersion` is non-zero
   * (ABORTED if stale). uid, createdAt and generation are kept by the store; generation bumps
   * when the spec changed. NOT_FOUND when the object does not exist.
   */
  | { op: 'update'; kind: string; object: StoredObject }
  /** Fails with NOT_FOUND when missing; ABORTED when `resourceVersion` is given and stale. */
  | { op: 'delete'; kind: string; namespace: string; name: string; resourceVersion?: number }
  /** A precondition: the commit fails with `error` unless the object exists (or not). */
  | { op: 'check'; kind: string; namespace: string; name: string; exists: boolean; error: () => Error }
  /**
   * Read-modify-write inside the commit, with no separate read and no conflict to retry:
   * `change` gets the object as it is at this point of the commit (undefined when absent;
   * never mutate it: return a changed copy) and returns what to write — an update of it (never ABORTED: the version is the
   * one just read), a create when it was absent — or undefined to write nothing (the result
   * holds the object read). An error thrown by `change` fails this commit alone. `change` runs
   * in the commit loop: it must be synchronous and cheap, and do no I/O. The returned object
   * must have this namespace and name (INVALID_ARGUMENT otherwise).
   */
  | { op: 'modify'; kind: string; namespace: string; name: string; change: (current: StoredObject | undefined) => StoredObject | undefined };

export interface CommitResult {
  /** The revision of the commit's last event (the store revision after it). */
  revision: number;
  /** The written object per op (undefined for checks); for deletes, the last state; for a modify that wrote nothing, the object read (undefined when absent). */
  objects: (StoredObject | undefined)[];
}

export interface ListOptions {
  /** Namespace to list; '' or undefined lists every namespace (or a cluster-scoped kind). */
  namespace?: string;
  /** Page size; default 500, at most 5000. */
  limit?: number;
  continueToken?: string;
  /** Equality selector on labels: every entry must match. */
  labels?: Record<string, string>;
  /** Newest key first (runs, whose names sort by creation time, list newest first). */
  reverse?: boolean;
  /** Only objects this returns true for; pages are still filled up to `limit`. */
  match?: (object: StoredObject) => boolean;
}

export interface ListResult<T extends StoredObject = StoredObject> {
  items: T[];
  /** The store revision the page was read at. */
  revision: number;
  /** Non-empty when more items remain; pass it back as `continueToken`. */
  continueToken: string;
}

export interface WatchFilter {
  /** Only this kind; all kinds when absent. */
  kind?: string;
  /** Only this namespace; all when absent, '' or '*'. */
  namespace?: string;
}

export interface WatchOptions extends WatchFilter {
  /** Deliver events with revision > fromRevision; 0 or absent means from now. */
  fromRevision?: number;
  /** Most events queued for a slow consumer before it is cut off. Default 10,000. */
  maxQueue?: number;
}

/** A subscriber's callbacks. `events` is called synchronously, once per commit or replay chunk. */
export interface WatchSink {
  /**
   * While retained events are replayed, a returned promise holds back the next chunk until it
   * settles (backpressure: a consumer that keeps reading is never cut off by the replay itself).
   * Live batches never wait; they are held, at most `maxQueue` events, until the replay ends.
   */
  events(batch: readonly StoreEvent[]): void | Promise<void>;
  /** Called once when the subscription ends with an error; nothing is delivered after it. */
  error(err: Error): void;
}

export interface RecentOptions extends WatchFilter {
  /** At most this many events (the newest ones). */
  limit: number;
  /** Only events this returns true for (applied after kind and namespace). */
  match?: (event: StoreEvent) => boolean;
}

export interface RecentResult {
  /** The newest matching retained events, oldest first. */
  events: StoreEvent[];
  /** The revision the log was read at: subscribe from here to continue without gap or repeat. */
  revision: number;
}

export interface Subscription {
  /** Revision the subscription started after. */
  readonly startRevision: number;
  close(): void;
}

/** An async iterator of events; iteration throws when the watch ends with an error. */
export interface Watcher extends AsyncIterable<StoreEvent> {
  readonly startRevision: number;
  close(): void;
}

export interface Store {
  /** The latest committed revision. */
  readonly revision: number;
  /** The oldest revision a watch may start from (events after it are retained). */
  readonly compactedRevision: number;

  get<T extends StoredObject>(kind: string, namespace: string, name: string): Promise<T | undefined>;
  list<T extends StoredObject>(kind: string, options?: ListOptions): Promise<ListResult<T>>;
  /** Applies every op atomically, or none; see WriteOp for each op's errors. */
  commit(ops: WriteOp[]): Promise<CommitResult>;

  create<T extends StoredObject>(kind: string, object: T): Promise<T>;
  update<T extends StoredObject>(kind: string, object: T): Promise<T>;
  delete<T extends StoredObject>(kind: string, namespace: string, name: string, options?: { resourceVersion?: number }): Promise<T>;

  /**
   * Replays retained events after `fromRevision`, then live ones. Throws OUT_OF_RANGE at once
   * when `fromRevision` is older than the retained log.
   */
  subscribe(options: WatchOptions, sink: WatchSink): Subscription;
  /**
   * The newest `limit` retained events matching the filter, read from one snapshot, for
   * "history first, then live" streams: subscribe from the returned revision.
   */
  recent(options: RecentOptions): Promise<RecentResult>;
  /** The same as an async iterator with a bounded queue. */
  watch(options: WatchOptions): Watcher;

  /** Drops log entries beyond the retention limits now (also runs periodically). */
  compact(): Promise<void>;
  close(): Promise<void>;
}
