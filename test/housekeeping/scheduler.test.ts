/**
 * The housekeeping scheduler with real timers and short periods: tasks run at their period,
 * never overlap themselves, an error is recorded and the task runs again, stop() waits for
 * running tasks and nothing starts after it, the status shows last and next runs, metrics hear
 * of every run. Timing is asserted only as generous bounds.
 */
import { expect } from 'chai';
import { HousekeepingScheduler, type HousekeepingMetrics, type HousekeepingTask } from '../../server/housekeeping/scheduler.js';
import { eventually } from '../support/procs.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A task that counts its runs and concurrent runs; `work` decides what each run does. */
function aTask(name: string, everyMs: number, work: (n: number, signal: AbortSignal) => Promise<string | void> = async () => undefined) {
  const stats = { starts: [] as number[], running: 0, maxRunning: 0 };
  const task: HousekeepingTask = {
    name,
    everyMs,
    firstRunMs: 0,
    run: async (signal) => {
      stats.starts.push(Date.now());
      stats.running++;
      stats.maxRunning = Math.max(stats.maxRunning, stats.running);
      try {
        return await work(stats.starts.length, signal);
      } finally {
        stats.running--;
      }
    },
  };
  return { task, stats };
}

class RecordingMetrics implements HousekeepingMetrics {
  readonly added: string[] = [];
  readonly ran: { task: string; result: string }[] = [];
  taskAdded(task: string): void {
    this.added.push(task);
  }
  taskRan(task: string, result: 'ok' | 'error'): void {
    this.ran.push({ task, result });
  }
}

describe('housekeeping scheduler', function () {
  this.timeout(20_000);
  let scheduler: HousekeepingScheduler;
  afterEach(async () => scheduler?.stop());

  it('runs each task at its own period', async () => {
    scheduler = new HousekeepingScheduler();
    const fast = aTask('fast', 20);
    const slow = aTask('slow', 60_000);
    scheduler.add(fast.task);
    scheduler.add({ ...slow.task, firstRunMs: undefined });
    scheduler.start();
    await eventually('5 runs of the fast task', () => fast.stats.starts.length >= 5, 10_000);
    expect(slow.stats.starts).to.have.length(0); // first run a period (a minute) after start
    for (let i = 1; i < fast.stats.starts.length; i++) expect(fast.stats.starts[i]! - fast.stats.starts[i - 1]!).to.be.at.least(15);
  });

  it('never overlaps a task with itself: a run longer than the period delays the next', async () => {
    scheduler = new HousekeepingScheduler();
    const long = aTask('long', 10, async () => {
      await sleep(80);
    });
    scheduler.add(long.task);
    scheduler.start();
    await eventually('3 runs', () => long.stats.starts.length >= 3, 10_000);
    expect(long.stats.maxRunning).to.equal(1);
    // The missed slots were skipped, not queued: each start follows the previous run's end.
    for (let i = 1; i < long.stats.starts.length; i++) expect(long.stats.starts[i]! - long.stats.starts[i - 1]!).to.be.at.least(80);
  });

  it('records an error (status and metrics) and runs the task again at its next period', async () => {
    const metrics = new RecordingMetrics();
    scheduler = new HousekeepingScheduler({ metrics });
    const flaky = aTask('flaky', 30, async (n) => {
      if (n === 1) throw new Error('disk full');
      return `run ${n}`;
    });
    scheduler.add(flaky.task);
    expect(metrics.added).to.deep.equal(['flaky']);
    scheduler.start();
    await eventually('a second run', () => scheduler.status()[0]!.runs >= 2, 10_000);
    const status = scheduler.status()[0]!;
    expect(status.failures).to.equal(1);
    expect(status.lastRun).to.include({ result: 'ok', message: 'run 2' });
    expect(metrics.ran.slice(0, 2)).to.deep.equal([
      { task: 'flaky', result: 'error' },
      { task: 'flaky', result: 'ok' },
    ]);
  });

  it('shows the failed run in the status with its error message', async () => {
    scheduler = new HousekeepingScheduler();
    scheduler.add(aTask('broken', 60_000, async () => Promise.reject(new Error('cannot read logs/: EACCES'))).task);
    const status = await scheduler.runNow('broken');
    expect(status).to.include({ name: 'broken', runs: 1, failures: 1, running: false });
    expect(status.lastRun).to.include({ result: 'error', message: 'cannot read logs/: EACCES' });
  });

  it('status: last run (start, duration, result) and next run a period after the last start', async () => {
    scheduler = new HousekeepingScheduler();
    scheduler.add({ ...aTask('compact', 3_600_000, async () => { await sleep(20); return 'dropped 7 events'; }).task, firstRunMs: 3_600_000 });
    const before = scheduler.status()[0]!;
    expect(before).to.include({ name: 'compact', everyMs: 3_600_000, runs: 0, running: false });
    expect(before.lastRun).to.equal(undefined);
    expect(Date.parse(before.nextRunAt!)).to.be.above(Date.now() + 3_500_000);
    const after = await scheduler.runNow('compact');
    expect(after.lastRun).to.include({ result: 'ok', message: 'dropped 7 events' });
    expect(after.lastRun!.durationMs).to.be.at.least(15);
    expect(Date.parse(after.nextRunAt!)).to.equal(Date.parse(after.lastRun!.startedAt) + 3_600_000);
  });

  it('stop() waits for running tasks, aborts their signal, and nothing starts after it', async () => {
    scheduler = new HousekeepingScheduler();
    let release!: () => void;
    let sawAbort = false;
    const blocking = aTask('blocking', 10, async (n, signal) => {
      if (n > 1) return;
      await new Promise<void>((resolve) => (release = resolve));
      sawAbort = signal.aborted;
    });
    scheduler.add(blocking.task);
    scheduler.start();
    await eventually('the task runs', () => blocking.stats.running === 1, 10_000);
    expect(scheduler.status()[0]!.running).to.equal(true);
    let stopped = false;
    const stopping = scheduler.stop().then(() => (stopped = true));
    await sleep(50);
    expect(stopped).to.equal(false);
    release();
    await stopping;
    expect(sawAbort).to.equal(true);
    const runs = blocking.stats.starts.length;
    await sleep(100);
    expect(blocking.stats.starts.length).to.equal(runs);
    expect(scheduler.status()[0]!.nextRunAt).to.equal(undefined);
  });

  it('refuses a duplicate name and a period that is not positive', () => {
    scheduler = new HousekeepingScheduler();
    scheduler.add(aTask('one', 1000).task);
    expect(() => scheduler.add(aTask('one', 1000).task)).to.throw(/already registered/);
    expect(() => scheduler.add(aTask('zero', 0).task)).to.throw(/everyMs must be positive/);
  });
});
