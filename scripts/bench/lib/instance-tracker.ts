/**
 * Follows runed's instances through WatchInstances (push, so timing is not a polling interval)
 * and answers "when did this become true". An instance counts as running when runed says so
 * (phase `running` or `ready`, a PID, not being deleted) AND /proc agrees (the PID is alive).
 *
 * Cost on the harness side: one decode per event and one /proc read per running instance
 * update; the workload-start scenario reports the harness's CPU time to show it is not the
 * bottleneck.
 */
import type * as grpc from '@grpc/grpc-js';
import { EventType, type WatchResponse } from '../../../shared/gen/rune/v1/watch_service.js';
import { alive } from './proc.js';
import { withTimeout } from './wait.js';

export interface TrackedInstance {
  pid: number;
  phase: string;
  restartCount: number;
  running: boolean;
}

interface Waiter {
  check: () => boolean;
  resolve: (at: number) => void;
}

export class InstanceTracker {
  readonly instances = new Map<string, TrackedInstance>();
  private runningCount = 0;
  private waiters: Waiter[] = [];
  private failure: Error | undefined;
  private closed = false;

  constructor(private readonly stream: grpc.ClientReadableStream<WatchResponse>) {
    stream.on('data', (response: WatchResponse) => this.apply(response));
    stream.on('error', (err: Error) => {
      if (!this.closed) this.failure = err;
    });
  }

  /** Instances running now. */
  get running(): number {
    return this.runningCount;
  }

  private apply(response: WatchResponse): void {
    for (const event of response.events) {
      const instance = event.instance;
      const name = instance?.metadata?.name;
      if (!instance || !name) continue;
      const before = this.instances.get(name);
      if (before?.running) this.runningCount--;
      if (event.type === EventType.EVENT_TYPE_DELETED) {
        this.instances.delete(name);
        continue;
      }
      const status = instance.status;
      const pid = status?.pid ?? 0;
      const phase = status?.phase ?? '';
      const running = pid > 0 && (phase === 'running' || phase === 'ready') && !instance.metadata?.deletionTimestamp && (before?.running && before.pid === pid ? true : alive(pid));
      this.instances.set(name, { pid, phase, restartCount: status?.restartCount ?? 0, running });
      if (running) this.runningCount++;
    }
    if (this.waiters.length > 0) {
      const at = performance.now();
      this.waiters = this.waiters.filter((waiter) => {
        if (!waiter.check()) return true;
        waiter.resolve(at);
        return false;
      });
    }
  }

  /**
   * Resolves with performance.now() at the message that made `check` true (at once if it is
   * already); rejects after `timeoutMs` or when the stream fails.
   */
  until(what: string, check: () => boolean, timeoutMs: number): Promise<number> {
    if (this.failure) return Promise.reject(this.failure);
    if (check()) return Promise.resolve(performance.now());
    const reached = new Promise<number>((resolve, reject) => {
      this.waiters.push({ check, resolve });
      this.stream.once('error', (err: Error) => {
        if (!this.closed) reject(err);
      });
    });
    return withTimeout(what, reached, timeoutMs);
  }

  close(): void {
    this.closed = true;
    this.waiters = [];
    this.stream.cancel();
  }
}
