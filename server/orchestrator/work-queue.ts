/**
 * A keyed, de-duplicating work queue for level-triggered controllers (Kubernetes
 * sample-controller style). Watch events only `add(key)`; workers call `reconcile(key)`, which
 * reads the current state and converges, so running a key twice is harmless.
 *
 * - A key queued twice runs once; a key added while it is being reconciled runs again after.
 * - reconcile throws → transient failure: requeue with capped exponential backoff per key.
 * - reconcile returns `{ requeueAfterMs }` → waiting: run again after that long.
 * - reconcile returns nothing → done until the next add.
 */
import type { Logger } from 'pino';

export type ReconcileResult = void | { requeueAfterMs: number };

/**
 * What a queue reports, for metrics and traces. `queue` is called once per queue (depth is read
 * from `length` when scraped); the observer it returns is called once per reconcile and must be
 * cheap. With `trace`, each reconcile runs inside it (a span the reconcile's writes and process
 * starts are children of).
 */
export interface WorkQueueMetrics {
  queue(queue: { readonly name: string; readonly length: number }): QueueObserver;
}

export interface QueueObserver {
  reconciled(seconds: number, failed: boolean): void;
  trace?<T>(key: string, run: () => Promise<T>): Promise<T>;
}

export interface WorkQueueOptions {
  /** Keys reconciled at the same time (default 4). */
  concurrency?: number;
  /** First retry delay after a failure (default 100 ms), doubling per failure... */
  baseDelayMs?: number;
  /** ...up to this (default 30 s). */
  maxDelayMs?: number;
  log?: Logger;
  /** Reconcile durations, failures and queue depth go here (none by default). */
  metrics?: WorkQueueMetrics;
}

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly active = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly failures = new Map<string, number>();
  private running = 0;
  private stopped = false;
  private idle: (() => void)[] = [];
  private readonly concurrency: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly observer: QueueObserver | undefined;

  constructor(
    readonly name: string,
    private readonly reconcile: (key: string) => Promise<ReconcileResult>,
    private readonly options: WorkQueueOptions = {},
  ) {
    this.concurrency = options.concurrency ?? 4;
    this.baseDelayMs = options.baseDelayMs ?? 100;
    this.maxDelayMs = options.maxDelayMs ?? 30_000;
    this.observer = options.metrics?.queue(this);
  }

  add(key: string): void {
    if (this.stopped) return;
    if (this.active.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.queue.push(key);
    this.pump();
  }

  /** Adds `key` after `ms`; an earlier pending time for the same key wins. */
  addAfter(key: string, ms: number): void {
    if (this.stopped) return;
    if (ms <= 0) return this.add(key);
    const at = Date.now() + ms;
    const existing = this.timers.get(key);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, ms);
    timer.unref();
    this.timers.set(key, { at, timer });
  }

  get length(): number {
    return this.queue.length + this.running;
  }

  /** Resolves when nothing is queued or running (timers may still be pending). */
  drained(): Promise<void> {
    if (this.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /** Stops taking work and waits for running reconciles to finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.queue.length = 0;
    this.queued.clear();
    while (this.running > 0) await new Promise((r) => setTimeout(r, 5));
  }

  private pump(): void {
    while (!this.stopped && this.running < this.concurrency && this.queue.length > 0) {
      const key = this.queue.shift()!;
      this.queued.delete(key);
      this.active.add(key);
      this.running++;
      void this.run(key);
    }
  }

  private async run(key: string): Promise<void> {
    const observer = this.observer;
    const started = observer ? performance.now() : 0;
    let failed = false;
    try {
      const result = await (observer?.trace ? observer.trace(key, () => this.reconcile(key)) : this.reconcile(key));
      this.failures.delete(key);
      if (result && result.requeueAfterMs >= 0) this.addAfter(key, result.requeueAfterMs);
    } catch (err) {
      failed = true;
      // Transient by contract: retry with capped exponential backoff.
      const n = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, n);
      const delay = Math.min(this.baseDelayMs * 2 ** (n - 1), this.maxDelayMs);
      this.options.log?.warn({ queue: this.name, key, attempt: n, retryInMs: delay, err: (err as Error).message }, 'reconcile failed; will retry');
      this.addAfter(key, delay);
    } finally {
      observer?.reconciled((performance.now() - started) / 1000, failed);
      this.active.delete(key);
      this.running--;
      if (this.dirty.delete(key)) this.add(key);
      this.pump();
      if (this.length === 0) for (const resolve of this.idle.splice(0)) resolve();
    }
  }
}
