/**
 * A kind followed by watch without an in-memory copy, for kinds that may hold a million objects
 * (services: an Informer's decoded copy costs ~2 KB each, and loading it takes seconds before
 * anything can run). Reads go to the store (one LevelDB get and one decode); watch events go to
 * the listeners, as an Informer's do.
 *
 * Guarantees: every change after `start` reaches the `onChange` listeners in revision order, or
 * the `onResync` listeners run (the watch ended with an error, so events may have been missed:
 * look at everything again). `get` and `pages` read the store, never a stale copy.
 */
import type { InformerListener } from './informer.js';
import type { Store, StoredObject, Subscription } from './store.js';

const PAGE = 1000;
/** Wait before watching again after a watch error (transient: fell behind, log compacted). */
const REWATCH_MS = 100;

export interface PageOptions<T> {
  /** Only this namespace; every namespace when absent or ''. */
  namespace?: string;
  /** Only objects this returns true for. */
  match?: (object: T) => boolean;
}

export class LazyInformer<T extends StoredObject> {
  private subscription: Subscription | undefined;
  private stopped = false;
  private readonly listeners: InformerListener<T>[] = [];
  private readonly resyncListeners: (() => void)[] = [];
  private seen: number;
  private counted: number | undefined;
  private net = 0;

  private constructor(private readonly store: Store, readonly kind: string) {
    this.seen = store.revision;
  }

  /** Follows `kind` from the store's current revision. Reads no object. */
  static start<T extends StoredObject>(store: Store, kind: string): LazyInformer<T> {
    const informer = new LazyInformer<T>(store, kind);
    informer.watch(store.revision);
    return informer;
  }

  /** The object as stored now; undefined when missing. */
  get(namespace: string, name: string): Promise<T | undefined> {
    return this.store.get<T>(this.kind, namespace, name);
  }

  /** The last revision whose event was passed on (the start revision before any). */
  get revision(): number {
    return this.seen;
  }

  /**
   * Objects of the kind: the count of the last full `pages()` pass plus creates minus deletes
   * seen since it began (a change during that pass to an object it had not reached yet may be
   * counted twice); undefined before the first full pass ended.
   */
  get size(): number | undefined {
    return this.counted === undefined ? undefined : this.counted + this.net;
  }

  /** Calls `listener` for every change from now on. */
  onChange(listener: InformerListener<T>): void {
    this.listeners.push(listener);
  }

  /** Calls `listener` when changes may have been missed (after the watch ended with an error). */
  onResync(listener: () => void): void {
    this.resyncListeners.push(listener);
  }

  /**
   * The objects, a page at a time, read from the store (each page at one revision), yielding to
   * the event loop between pages so a pass over a million objects does not stall runed. A full
   * pass (no namespace, no match) also renews `size`.
   */
  async *pages(options: PageOptions<T> = {}): AsyncGenerator<T[]> {
    const full = !options.namespace && !options.match;
    let count = 0;
    if (full) this.net = 0;
    let continueToken = '';
    do {
      const page = await this.store.list<T>(this.kind, { namespace: options.namespace, limit: PAGE, continueToken, match: options.match as ((object: StoredObject) => boolean) | undefined });
      count += page.items.length;
      continueToken = page.continueToken;
      if (page.items.length > 0) yield page.items;
      if (continueToken) await new Promise((resolve) => setImmediate(resolve));
    } while (continueToken && !this.stopped);
    if (full && !this.stopped) this.counted = count;
  }

  /** Whether any object (in `namespace`, matching `match`) exists; reads at most one page. */
  async some(options: PageOptions<T> = {}): Promise<boolean> {
    const page = await this.store.list<T>(this.kind, { namespace: options.namespace, limit: 1, match: options.match as ((object: StoredObject) => boolean) | undefined });
    return page.items.length > 0;
  }

  stop(): void {
    this.stopped = true;
    this.subscription?.close();
  }

  private watch(fromRevision: number): void {
    this.subscription = this.store.subscribe(
      { kind: this.kind, fromRevision },
      {
        events: (batch) => {
          for (const event of batch) {
            this.seen = event.revision;
            if (event.type === 'ADDED') this.net++;
            else if (event.type === 'DELETED') this.net--;
            for (const listener of this.listeners) listener(event.object as T, event.type);
          }
        },
        // Transient: watch again from now after a short pause, and say that changes may have
        // been missed (unless stopped: the store closing ends us too).
        error: () => {
          if (this.stopped) return;
          setTimeout(() => {
            if (this.stopped) return;
            this.watch(this.store.revision);
            for (const listener of this.resyncListeners) listener();
          }, REWATCH_MS).unref();
        },
      },
    );
  }
}
