/**
 * One watch stream and the watches a client holds on it. Built to fan out cheaply (RECIPES.md:
 * the cost is per message on both ends):
 * - each event is encoded once (a WeakMap keyed by the store's event object, which every
 *   subscriber shares) and the per-stream part is only the list of matching watch ids, appended
 *   as extra fields of the same WatchEvent;
 * - everything that reached a stream in one turn of the event loop leaves as ONE WatchResponse;
 * - a stream whose client does not read is cut off with RESOURCE_EXHAUSTED once too many
 *   messages are queued, instead of buffering without bound. The client resumes each watch from
 *   the last revision it saw.
 */
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { RuneError, codeName } from '../../shared/errors.js';
import { EventType } from '../../shared/gen/rune/v1/watch_service.js';
import type { KindRegistry } from '../store/kinds.js';
import type { Store, StoreEvent, Subscription } from '../store/store.js';

export interface WatchSpec {
  watchId: number;
  /** '' for every watchable kind. */
  kind: string;
  /** '' or '*' for every namespace. */
  namespace: string;
  fromRevision: number;
}

/** What a stream writes to: a grpc-js writable call, whose serializer passes bytes through. */
export interface WatchSink {
  write(message: Uint8Array): boolean;
  readonly writableLength: number;
}

export interface WatchStreamOptions {
  store: Store;
  kinds: KindRegistry;
  sink: WatchSink;
  /** Most messages queued on the stream before it is cut off (default 1024). */
  maxPendingMessages?: number;
  /** Called once when the stream must end with an error (fell behind, store closed). */
  onFatal: (err: RuneError) => void;
  /** Called when the server ends a watch (too old, fell behind); a notice is also queued. */
  onCanceled?: (watchId: number, err: RuneError) => void;
}

const TYPE_NUMBERS = { ADDED: EventType.EVENT_TYPE_ADDED, MODIFIED: EventType.EVENT_TYPE_MODIFIED, DELETED: EventType.EVENT_TYPE_DELETED } as const;

/** WatchEvent bytes (type, revision, kind, object) without watch ids, shared by all streams. */
const encodedEvents = new WeakMap<StoreEvent, Uint8Array>();

function encodeWatchEvent(event: StoreEvent, watchField: number): Uint8Array {
  let bytes = encodedEvents.get(event);
  if (!bytes) {
    bytes = new BinaryWriter()
      .uint32(8).int32(TYPE_NUMBERS[event.type])
      .uint32(16).int64(event.revision)
      .uint32(26).string(event.kind)
      .uint32((watchField << 3) | 2).bytes(event.encoded)
      .finish();
    encodedEvents.set(event, bytes);
  }
  return bytes;
}

interface Notice {
  created?: { watchId: number; revision: number };
  canceled?: { watchId: number; code: string; message: string; compactRevision: number };
}

export class WatchStream {
  private readonly watches = new Map<number, Subscription>();
  /** Events waiting for the next flush, with the ids of the watches they matched. */
  private pending = new Map<StoreEvent, number[]>();
  private notices: Notice[] = [];
  private flushScheduled = false;
  private closed = false;
  private readonly maxPending: number;

  constructor(private readonly options: WatchStreamOptions) {
    this.maxPending = options.maxPendingMessages ?? 1024;
  }

  /**
   * Adds a watch. Problems that concern only this watch (too old, unknown kind, duplicate id)
   * are reported as a `canceled` notice on the stream; the other watches go on.
   */
  add(spec: WatchSpec): void {
    if (this.closed) return;
    const { store, kinds } = this.options;
    try {
      if (this.watches.has(spec.watchId)) throw RuneError.invalid('create.watchId', `watch ${spec.watchId} already exists on this stream; pick another id`);
      if (spec.kind && !kinds.get(spec.kind).watchField) throw RuneError.invalid('create.kind', `${spec.kind} cannot be watched`);
      const subscription = store.subscribe(
        { kind: spec.kind || undefined, namespace: spec.namespace === '*' ? undefined : spec.namespace || undefined, fromRevision: spec.fromRevision },
        {
          events: (batch) => this.enqueue(spec.watchId, batch),
          error: (err) => {
            this.watches.delete(spec.watchId);
            this.reject(spec.watchId, RuneError.from(err));
          },
        },
      );
      this.watches.set(spec.watchId, subscription);
      this.notice({ created: { watchId: spec.watchId, revision: subscription.startRevision } });
    } catch (err) {
      this.reject(spec.watchId, RuneError.from(err));
    }
  }

  /** Reports that watch `watchId` was ended (or refused) by the server, with why. */
  reject(watchId: number, err: RuneError): void {
    this.cancelNotice(watchId, err);
    this.options.onCanceled?.(watchId, err);
  }

  /** Ends one watch; unknown ids are ignored (it may have ended already). */
  cancel(watchId: number): void {
    const subscription = this.watches.get(watchId);
    if (!subscription) return;
    subscription.close();
    this.watches.delete(watchId);
    this.notice({ canceled: { watchId, code: 'CANCELLED', message: 'canceled by the client', compactRevision: 0 } });
  }

  /** Ends every watch; nothing is written after this. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const subscription of this.watches.values()) subscription.close();
    this.watches.clear();
    this.pending.clear();
  }

  get size(): number {
    return this.watches.size;
  }

  private enqueue(watchId: number, batch: readonly StoreEvent[]): void {
    for (const event of batch) {
      if (!this.options.kinds.get(event.kind).watchField) continue; // internal kinds never leave
      const ids = this.pending.get(event);
      if (ids) ids.push(watchId);
      else this.pending.set(event, [watchId]);
    }
    this.schedule();
  }

  private cancelNotice(watchId: number, err: RuneError): void {
    this.notice({
      canceled: {
        watchId,
        code: codeName(err.grpcCode),
        message: err.message,
        compactRevision: err.code === 'OUT_OF_RANGE' ? this.options.store.compactedRevision : 0,
      },
    });
  }

  private notice(notice: Notice): void {
    this.notices.push(notice);
    this.schedule();
  }

  private schedule(): void {
    if (this.flushScheduled || this.closed) return;
    this.flushScheduled = true;
    // setImmediate, not a microtask: commits finishing in the same I/O phase share one message.
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.closed) return;
    const { sink, kinds } = this.options;
    if (sink.writableLength > this.maxPending) {
      const err = new RuneError('RESOURCE_EXHAUSTED', `watch stream fell behind (${sink.writableLength} messages unread); it was cut off: reconnect and resume each watch from the last revision it received`);
      this.close();
      this.options.onFatal(err);
      return;
    }
    if (this.pending.size === 0 && this.notices.length === 0) return;
    const writer = new BinaryWriter();
    let revision = 0;
    for (const [event, ids] of this.pending) {
      writer.uint32(10).fork().raw(encodeWatchEvent(event, kinds.get(event.kind).watchField!));
      writer.uint32(162).fork();
      for (const id of ids) writer.int64(id);
      writer.join().join();
      if (event.revision > revision) revision = event.revision;
    }
    for (const { created, canceled } of this.notices) {
      if (created) writer.uint32(18).fork().uint32(8).int64(created.watchId).uint32(16).int64(created.revision).join();
      if (canceled) {
        writer.uint32(26).fork().uint32(8).int64(canceled.watchId).uint32(18).string(canceled.code).uint32(26).string(canceled.message);
        if (canceled.compactRevision) writer.uint32(32).int64(canceled.compactRevision);
        writer.join();
      }
    }
    if (revision) writer.uint32(32).int64(revision);
    this.pending = new Map();
    this.notices = [];
    sink.write(writer.finish());
  }
}
