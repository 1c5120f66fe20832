/**
 * An in-memory copy of one kind, kept current by list + watch: reads without a store round
 * trip (token and subject checks on every request). If the watch ends with an error (fell
 * behind, too old), the informer relists and watches again.
 */
import type { Store, StoredObject, Subscription } from './store.js';

export class Informer<T extends StoredObject> {
  private readonly items = new Map<string, T>();
  private subscription: Subscription | undefined;
  private stopped = false;

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

  get size(): number {
    return this.items.size;
  }

  stop(): void {
    this.stopped = true;
    this.subscription?.close();
  }

  private async sync(): Promise<void> {
    this.items.clear();
    let continueToken = '';
    let revision = 0;
    do {
      const page = await this.store.list<T>(this.kind, { limit: 5000, continueToken });
      if (!revision) revision = page.revision;
      for (const item of page.items) this.items.set(keyOf(item), item);
      continueToken = page.continueToken;
    } while (continueToken);
    this.subscription = this.store.subscribe(
      { kind: this.kind, fromRevision: revision || this.store.revision },
      {
        events: (batch) => {
          for (const event of batch) {
            const key = `${event.namespace}/${event.name}`;
            if (event.type === 'DELETED') this.items.delete(key);
            else this.items.set(key, event.object as T);
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

function keyOf(object: StoredObject): string {
  return `${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`;
}
