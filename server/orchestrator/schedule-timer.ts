/**
 * One timer for every scheduled job: it holds the next fire time per key and arms a single
 * setTimeout for the soonest. At that time it hands the due keys to `fire` (the job queue), which
 * reconciles them and sets their next time again.
 *
 * Guarantees: a key is handed over only once its time has come by the wall clock (a timer that
 * fires a few milliseconds early re-arms for the rest); never more than `maxDelayMs` passes
 * without a look, so a wall clock that jumps or a timer that slept through a suspended machine
 * is caught up within that time. Which times actually start runs is the plan's decision
 * (job-plan.ts), not this timer's.
 */
export interface ScheduleTimerOptions {
  /** Longest single wait (default 60 s; also bounds setTimeout's 24.8-day limit). */
  maxDelayMs?: number;
  /** The wall clock (tests). */
  now?: () => number;
}

export class ScheduleTimer {
  private readonly due = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  /** The time the armed timer is for. */
  private armedFor = Infinity;
  private stopped = false;
  private readonly maxDelayMs: number;
  private readonly now: () => number;

  constructor(
    private readonly fire: (key: string) => void,
    options: ScheduleTimerOptions = {},
  ) {
    this.maxDelayMs = options.maxDelayMs ?? 60_000;
    this.now = options.now ?? Date.now;
  }

  /** Sets (or with undefined, clears) the next time `key` needs a look. */
  set(key: string, at: number | undefined): void {
    if (at === undefined) {
      this.due.delete(key);
      return; // an armed timer for it just finds nothing due
    }
    this.due.set(key, at);
    if (at < this.armedFor) this.arm();
  }

  delete(key: string): void {
    this.due.delete(key);
  }

  /** The next time set for `key` (tests, status). */
  get(key: string): number | undefined {
    return this.due.get(key);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.due.clear();
  }

  private arm(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    let soonest = Infinity;
    for (const at of this.due.values()) if (at < soonest) soonest = at;
    const delay = Math.min(Math.max(soonest - this.now(), 0), this.maxDelayMs);
    this.armedFor = soonest;
    this.timer = setTimeout(() => this.onTimer(), delay);
    this.timer.unref();
  }

  private onTimer(): void {
    this.timer = undefined;
    this.armedFor = Infinity;
    const now = this.now();
    for (const [key, at] of [...this.due]) {
      if (at > now) continue; // early, or not yet: stays for the next arm
      this.due.delete(key);
      this.fire(key);
    }
    this.arm();
  }
}
