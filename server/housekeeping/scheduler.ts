/**
 * The housekeeping scheduler: runed's periodic chores (event-log compaction, log-file cleanup,
 * run TTLs and history limits) on one timer, in process.
 *
 * Guarantees:
 * - A task never overlaps itself. Its next run is due `everyMs` after its last run STARTED; a
 *   run that took longer than that is followed by the next one `everyMs` after it ENDED (missed
 *   slots are skipped, never queued).
 * - A task that throws (or rejects) is logged, counted (`failures`, metrics `result="error"`)
 *   and runs again at its next slot, as after a success.
 * - `stop()` clears the timer, aborts the signal handed to running tasks and resolves once every
 *   running task has settled; nothing starts after it.
 * - The timer is unref'd: housekeeping alone never keeps the process alive.
 */
import type { Logger } from 'pino';

export interface HousekeepingTask {
  /** kebab-case, unique: the `task` label of the metrics and the key of the status. */
  name: string;
  /** Period in ms (> 0). */
  everyMs: number;
  /** Delay before the first run; default `everyMs`. */
  firstRunMs?: number;
  /** A random extra delay in [0, jitterMs) before the first run only (spreads start-up work). Default 0. */
  jitterMs?: number;
  /**
   * Does the work. Resolves to a short summary shown in the status ("removed 3 files"), or
   * nothing. `signal` aborts when the scheduler stops: a long task should return early.
   */
  run(signal: AbortSignal): Promise<string | void>;
}

/** One finished run of a task. */
export interface TaskRun {
  /** ISO 8601. */
  startedAt: string;
  durationMs: number;
  result: 'ok' | 'error';
  /** The task's summary (ok) or the error message (error). */
  message?: string;
}

export interface TaskStatus {
  name: string;
  everyMs: number;
  running: boolean;
  /** Runs finished since runed started, and how many of them failed. */
  runs: number;
  failures: number;
  lastRun?: TaskRun;
  /** ISO 8601; absent once the scheduler stopped. While running: when the next run is due at the earliest. */
  nextRunAt?: string;
}

/** What the scheduler reports to metrics (implemented by RunedMetrics). */
export interface HousekeepingMetrics {
  /** A task was registered (its counters start at 0). */
  taskAdded(task: string): void;
  taskRan(task: string, result: 'ok' | 'error', seconds: number, endedAtMs: number): void;
}

export interface SchedulerOptions {
  log?: Logger;
  metrics?: HousekeepingMetrics;
  /** Clock (tests). Default Date.now. */
  now?: () => number;
  /** Random number in [0, 1) for the jitter (tests). Default Math.random. */
  random?: () => number;
}

interface Entry {
  task: HousekeepingTask;
  dueAt: number;
  running: Promise<void> | undefined;
  runs: number;
  failures: number;
  lastRun: TaskRun | undefined;
}

export class HousekeepingScheduler {
  private readonly entries = new Map<string, Entry>();
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private started = false;
  private stopped = false;
  private readonly abort = new AbortController();
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(private readonly options: SchedulerOptions = {}) {
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
  }

  /** Adds a task (before or after start). Throws on a duplicate name or a period that is not positive. */
  add(task: HousekeepingTask): void {
    if (this.entries.has(task.name)) throw new Error(`housekeeping task "${task.name}" is already registered`);
    if (!(task.everyMs > 0)) throw new Error(`housekeeping task "${task.name}": everyMs must be positive (got ${task.everyMs})`);
    const delay = (task.firstRunMs ?? task.everyMs) + (task.jitterMs ? Math.floor(this.random() * task.jitterMs) : 0);
    this.entries.set(task.name, { task, dueAt: this.now() + delay, running: undefined, runs: 0, failures: 0, lastRun: undefined });
    this.options.metrics?.taskAdded(task.name);
    if (this.started) this.arm();
  }

  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.arm();
  }

  /** Every task's last and next run, in registration order. */
  status(): TaskStatus[] {
    return [...this.entries.values()].map((e) => ({
      name: e.task.name,
      everyMs: e.task.everyMs,
      running: e.running !== undefined,
      runs: e.runs,
      failures: e.failures,
      ...(e.lastRun ? { lastRun: { ...e.lastRun } } : {}),
      ...(this.stopped ? {} : { nextRunAt: new Date(e.dueAt).toISOString() }),
    }));
  }

  /**
   * Runs a task now (unless it is running already: then waits for that run) and resolves with
   * its status afterwards. Its next run is rescheduled from this one. NOT for the timer's use.
   */
  async runNow(name: string): Promise<TaskStatus> {
    const entry = this.entries.get(name);
    if (!entry) throw new Error(`no housekeeping task "${name}"`);
    if (!this.stopped) await (entry.running ?? this.launch(entry));
    return this.status().find((s) => s.name === name)!;
  }

  /** Stops the timer, aborts running tasks' signals and waits for them to settle. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.abort.abort();
    await Promise.all([...this.entries.values()].map((e) => e.running));
  }

  /** Sets the one timer to the earliest due task that is not running. */
  private arm(): void {
    if (!this.started || this.stopped) return;
    let earliest = Infinity;
    for (const e of this.entries.values()) if (!e.running && e.dueAt < earliest) earliest = e.dueAt;
    if (earliest === this.timerAt && this.timer) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = earliest;
    if (earliest === Infinity) return;
    // setTimeout's limit is 2^31-1 ms; a longer wait just wakes up early and re-arms.
    this.timer = setTimeout(() => this.tick(), Math.min(Math.max(earliest - this.now(), 0), 2 ** 31 - 1));
    this.timer.unref();
  }

  private tick(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    if (this.stopped) return;
    const now = this.now();
    for (const e of this.entries.values()) if (!e.running && e.dueAt <= now) void this.launch(e);
    this.arm();
  }

  private launch(entry: Entry): Promise<void> {
    const { task } = entry;
    const started = this.now();
    entry.dueAt = started + task.everyMs;
    const run = (async () => {
      let result: TaskRun['result'] = 'ok';
      let message: string | undefined;
      try {
        message = (await task.run(this.abort.signal)) || undefined;
      } catch (err) {
        result = 'error';
        message = err instanceof Error ? err.message : String(err);
        entry.failures++;
        this.options.log?.warn({ err, task: task.name }, 'housekeeping task failed; it runs again at its next period');
      }
      const ended = this.now();
      entry.runs++;
      entry.lastRun = { startedAt: new Date(started).toISOString(), durationMs: ended - started, result, ...(message !== undefined ? { message } : {}) };
      this.options.metrics?.taskRan(task.name, result, (ended - started) / 1000, ended);
      if (result === 'ok') this.options.log?.debug({ task: task.name, durationMs: ended - started, result: message }, 'housekeeping task ran');
      // Overran its period: the missed slot is skipped, the next run is a full period away.
      if (entry.dueAt <= ended) entry.dueAt = ended + task.everyMs;
    })().finally(() => {
      entry.running = undefined;
      this.arm();
    });
    entry.running = run;
    return run;
  }
}
