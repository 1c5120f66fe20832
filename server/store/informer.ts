/**
 * An in-memory copy of one kind, kept current by list + watch: reads without a store round
 * trip (token and subject checks on every request). If the watch ends with an error (fell
 * behind, too old), the informer relists and watches again.
 */
import type { Store, StoreEvent, StoredObject, Subscription } from './store.js';

/** Called after the informer applied a change (its copy already reflects it). */
export type InformerListener<T> = (object: T, event: StoreEvent['type']) => void;

export class Informer<T extends StoredObject> {
  private readonly items = new Map<string, T>();
  private subscription: Subscription | undefined;
  private stopped = false;
  private readonly listeners: InformerListener<T>[] = [];
  private seen = 0;

  private constructor(private readonly store: Store, readonly kind: string) {}

  /** Lists every object of `kind`, then follows changes. Resolves once the first list is in. */
  static async start<T extends StoredObject>(store: Store, kind: string): Promise<Informer<T>> {
    const informer = new Informer<T>(store, kind);
    await informer.sync();
    return informer;
  }

  get(namespace: string, name: string): T | undefined {
    return this.items.get(`${namespace}/${name}`);
  }

  values(): IterableIterator<T> {
    return this.items.values();
  }

  /** The store revision this copy reflects (the last event applied, or the list's revision). */
  get revision(): number {
    return this.seen;
  }

  get size(): number {
    return this.items.size;
  }

  /** Calls `listener` for every change from now on (and for every object at each relist). */
  onChange(listener: InformerListener<T>): void {
    this.listeners.push(listener);
  }

  /** The objects for which `predicate` holds. */
  filter(predicate: (object: T) => boolean): T[] {
    const out: T[] = [];
    for (const item of this.items.values()) if (predicate(item)) out.push(item);
    return out;
  }

  stop(): void {
    this.stopped = true;
    this.subscription?.close();
  }

  private notify(object: T, type: StoreEvent['type']): void {
    for (const listener of this.listeners) listener(object, type);
  }

  private async sync(): Promise<void> {
    this.items.clear();
    let continueToken = '';
    let revision = 0;
    do {
      const page = await this.store.list<T>(this.kind, { limit: 5000, continueToken });
      if (!revision) revision = page.revision;
      this.seen = Math.max(this.seen, page.revision);
      for (const item of page.items) this.items.set(keyOf(item), item);
      for (const item of page.items) this.notify(item, 'MODIFIED');
      continueToken = page.continueToken;
    } while (continueToken);
    this.subscription = this.store.subscribe(
      { kind: this.kind, fromRevision: revision || this.store.revision },
      {
        events: (batch) => {
          for (const event of batch) {
            this.seen = event.revision;
            const key = `${event.namespace}/${event.name}`;
            if (event.type === 'DELETED') this.items.delete(key);
            else this.items.set(key, event.object as T);
            this.notify(event.object as T, event.type);
          }
        },
        // Transient: relist after a short pause, unless stopped (the store closing ends us too).
        error: () => {
          if (this.stopped) return;
          setTimeout(() => void this.sync().catch(() => undefined), 100).unref();
        },
      },
    );
  }
}

export function keyOf(object: StoredObject): string {
  return `${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;
}
