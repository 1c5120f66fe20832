/**
 * The job controller's decisions, without processes, disks or timers: every time is given.
 */
import { expect } from 'chai';
import { Job } from '../../shared/gen/rune/v1/job.js';
import { Run } from '../../shared/gen/rune/v1/run.js';
import {
  REPLACED_REASON,
  computeJobDeletion,
  computeJobPlan,
  dueScheduleTime,
  nextRunExpiry,
  orphanRuns,
  runsToDelete,
} from '../../server/orchestrator/job-plan.js';

const at = (iso: string) => new Date(iso);
const ms = (iso: string) => Date.parse(iso);

interface JobFixture {
  schedule?: string;
  timezone?: string;
  concurrencyPolicy?: 'Allow' | 'Forbid' | 'Replace';
  suspend?: boolean;
  startingDeadlineSeconds?: number;
  successfulRunsHistoryLimit?: number;
  failedRunsHistoryLimit?: number;
  ttlSecondsAfterFinished?: number;
  createdAt?: string;
  updatedAt?: string;
  generation?: number;
  observedGeneration?: number;
  lastScheduleTime?: string;
  lastRun?: string;
  message?: string;
}

/** A job as the store holds it after the controller observed it (unless told otherwise). */
function aJob(f: JobFixture = {}): Job {
  const createdAt = at(f.createdAt ?? '2026-01-01T00:00:00Z');
  const generation = f.generation ?? 1;
  return Job.fromPartial({
    metadata: { name: 'backup', namespace: 'dev', generation, createdAt, updatedAt: f.updatedAt ? at(f.updatedAt) : createdAt },
    spec: {
      runtime: 'process',
      command: 'true',
      schedule: f.schedule ?? '',
      timezone: f.timezone ?? '',
      concurrencyPolicy: f.concurrencyPolicy ?? 'Allow',
      suspend: f.suspend ?? false,
      startingDeadlineSeconds: f.startingDeadlineSeconds,
      successfulRunsHistoryLimit: f.successfulRunsHistoryLimit ?? 3,
      failedRunsHistoryLimit: f.failedRunsHistoryLimit ?? 1,
      ttlSecondsAfterFinished: f.ttlSecondsAfterFinished,
    },
    status: {
      observedGeneration: f.observedGeneration ?? generation,
      lastScheduleTime: f.lastScheduleTime ? at(f.lastScheduleTime) : undefined,
      lastRun: f.lastRun ?? '',
      message: f.message ?? '',
    },
  });
}

interface RunFixture {
  id: string;
  phase?: string;
  trigger?: string;
  scheduledAt?: string;
  jobGeneration?: number;
  finishedAt?: string;
  cancelRequested?: boolean;
  job?: string;
  namespace?: string;
  source?: string;
}

function aRun(f: RunFixture): Run {
  return Run.fromPartial({
    metadata: { name: f.id, namespace: f.namespace ?? 'dev' },
    spec: {
      job: f.job ?? 'backup',
      source: f.source ?? 'local',
      trigger: f.trigger ?? 'schedule',
      scheduledAt: f.scheduledAt ? at(f.scheduledAt) : undefined,
      jobGeneration: f.jobGeneration ?? 1,
      cancelRequested: f.cancelRequested ?? false,
    },
    status: { phase: f.phase ?? 'running', finishedAt: f.finishedAt ? at(f.finishedAt) : undefined },
  });
}

const ids = (runs: Run[]) => runs.map((r) => r.metadata!.name);

describe('computeJobPlan: a job without schedule', () => {
  const rows: { name: string; job: Job; runs: Run[]; starts: boolean }[] = [
    { name: 'a new job starts one run', job: aJob({ generation: 1, observedGeneration: 0 }), runs: [], starts: true },
    { name: 'an observed generation (a cast that changed nothing) starts none', job: aJob({ generation: 1, observedGeneration: 1 }), runs: [aRun({ id: 'r1', trigger: 'create', phase: 'finished' })], starts: false },
    { name: 'a changed spec starts another', job: aJob({ generation: 2, observedGeneration: 1 }), runs: [aRun({ id: 'r1', trigger: 'create', phase: 'finished' })], starts: true },
    {
      name: 'a run already started for this generation (status write lost) is not started again',
      job: aJob({ generation: 2, observedGeneration: 1 }),
      runs: [aRun({ id: 'r2', trigger: 'create', jobGeneration: 2 })],
      starts: false,
    },
    { name: 'a suspended job starts nothing', job: aJob({ generation: 1, observedGeneration: 0, suspend: true }), runs: [], starts: false },
  ];
  for (const row of rows) {
    it(row.name, () => {
      const plan = computeJobPlan(row.job, row.runs, ms('2026-01-01T00:00:01Z'));
      expect(plan.start).to.deep.equal(row.starts ? { trigger: 'create' } : undefined);
      expect(plan.status.observedGeneration).to.equal(row.job.metadata!.generation);
      expect(plan.wakeAt).to.equal(undefined);
    });
  }
});

describe('computeJobPlan: scheduled times', () => {
  it('`* * * * * *` fires for the second that came and wakes at the next one exactly, however late the timer', () => {
    const job = aJob({ schedule: '* * * * * *', lastScheduleTime: '2026-01-01T10:00:04Z' });
    const plan = computeJobPlan(job, [], ms('2026-01-01T10:00:05.004Z'));
    expect(plan.start).to.deep.equal({ trigger: 'schedule', scheduledAt: at('2026-01-01T10:00:05Z') });
    expect(plan.status.lastScheduleTime).to.deep.equal(at('2026-01-01T10:00:05Z'));
    expect(plan.wakeAt).to.equal(ms('2026-01-01T10:00:06Z'));
    expect(plan.status.nextScheduleTime).to.deep.equal(at('2026-01-01T10:00:06Z'));
  });

  it('a timer a few ms early starts nothing and wakes again at the time itself', () => {
    const job = aJob({ schedule: '* * * * * *', lastScheduleTime: '2026-01-01T10:00:05Z' });
    const plan = computeJobPlan(job, [], ms('2026-01-01T10:00:05.997Z'));
    expect(plan.start).to.equal(undefined);
    expect(plan.wakeAt).to.equal(ms('2026-01-01T10:00:06Z'));
  });

  it('never fires twice for one time: planning again after the time was recorded starts nothing', () => {
    const now = ms('2026-01-01T10:00:05.010Z');
    const first = computeJobPlan(aJob({ schedule: '* * * * * *', lastScheduleTime: '2026-01-01T10:00:04Z' }), [], now);
    expect(first.start).to.not.equal(undefined);
    const recorded = aJob({ schedule: '* * * * * *', lastScheduleTime: first.status.lastScheduleTime!.toISOString() });
    expect(computeJobPlan(recorded, [aRun({ id: 'r1', scheduledAt: '2026-01-01T10:00:05Z' })], now).start).to.equal(undefined);
  });

  it('a run that already exists for the due time (its status write was lost) is not started again; the time is recorded', () => {
    const job = aJob({ schedule: '* * * * * *', lastScheduleTime: '2026-01-01T10:00:04Z' });
    const plan = computeJobPlan(job, [aRun({ id: 'r1', scheduledAt: '2026-01-01T10:00:05Z' })], ms('2026-01-01T10:00:05.300Z'));
    expect(plan.start).to.equal(undefined);
    expect(plan.status.lastScheduleTime).to.deep.equal(at('2026-01-01T10:00:05Z'));
  });

  it('6 fields read seconds first; 5 fields start at minutes', () => {
    const sixth = computeJobPlan(aJob({ schedule: '*/10 * * * * *', lastScheduleTime: '2026-01-01T10:00:10Z' }), [], ms('2026-01-01T10:00:12Z'));
    expect(sixth.wakeAt).to.equal(ms('2026-01-01T10:00:20Z'));
    const five = computeJobPlan(aJob({ schedule: '*/5 * * * *', lastScheduleTime: '2026-01-01T10:00:00Z' }), [], ms('2026-01-01T10:00:12Z'));
    expect(five.wakeAt).to.equal(ms('2026-01-01T10:05:00Z'));
  });

  it('reads the schedule in its time zone, across a daylight-saving change', () => {
    const job = aJob({ schedule: '0 3 * * *', timezone: 'Europe/Paris', createdAt: '2026-03-27T12:00:00Z', lastScheduleTime: '2026-03-28T02:00:00Z' });
    const plan = computeJobPlan(job, [], ms('2026-03-28T12:00:00Z'));
    expect(plan.start).to.equal(undefined);
    // 03:00 in Paris on the day clocks go forward is 01:00 UTC (CEST), the day before 02:00 UTC.
    expect(plan.wakeAt).to.equal(ms('2026-03-29T01:00:00Z'));
    const fired = computeJobPlan(job, [], ms('2026-03-29T01:00:00.002Z'));
    expect(fired.start?.scheduledAt).to.deep.equal(at('2026-03-29T01:00:00Z'));
  });

  it('a suspended job starts nothing and has no next time', () => {
    const plan = computeJobPlan(aJob({ schedule: '* * * * * *', suspend: true, lastScheduleTime: '2026-01-01T10:00:04Z' }), [], ms('2026-01-01T10:00:05.001Z'));
    expect(plan.start).to.equal(undefined);
    expect(plan.wakeAt).to.equal(undefined);
    expect(plan.status.nextScheduleTime).to.equal(undefined);
  });
});

describe('computeJobPlan: concurrencyPolicy at a scheduled time', () => {
  const now = ms('2026-01-01T10:00:05.002Z');
  const active = () => [aRun({ id: 'r1', phase: 'finished', scheduledAt: '2026-01-01T10:00:03Z' }), aRun({ id: 'r2', phase: 'running', scheduledAt: '2026-01-01T10:00:04Z' })];
  const job = (policy: 'Allow' | 'Forbid' | 'Replace') => aJob({ schedule: '* * * * * *', concurrencyPolicy: policy, lastScheduleTime: '2026-01-01T10:00:04Z' });

  it('Allow starts another run beside the active one', () => {
    const plan = computeJobPlan(job('Allow'), active(), now);
    expect(plan.start?.scheduledAt).to.deep.equal(at('2026-01-01T10:00:05Z'));
    expect(plan.cancel).to.deep.equal([]);
  });

  it('Forbid skips the time while a run is active, and says so', () => {
    const plan = computeJobPlan(job('Forbid'), active(), now);
    expect(plan.start).to.equal(undefined);
    expect(plan.status.lastScheduleTime).to.deep.equal(at('2026-01-01T10:00:05Z'));
    expect(plan.status.message).to.match(/^Forbid: run r2 still active; skipped the scheduled time 2026-01-01T10:00:05.000Z/);
    expect(plan.status.activeRuns).to.deep.equal(['r2']);
  });

  for (const phase of ['pending', 'blocked']) {
    it(`Forbid counts a ${phase} run as active`, () => {
      expect(computeJobPlan(job('Forbid'), [aRun({ id: 'r2', phase })], now).start).to.equal(undefined);
    });
  }

  it('Forbid starts when nothing is active, and clears the message', () => {
    const plan = computeJobPlan({ ...job('Forbid'), status: { ...job('Forbid').status!, message: 'Forbid: run r0 still active' } }, [aRun({ id: 'r1', phase: 'failed' })], now);
    expect(plan.start).to.not.equal(undefined);
    expect(plan.status.message).to.equal('');
  });

  it('Replace cancels the active runs not yet asked to stop, then starts', () => {
    const runs = [...active(), aRun({ id: 'r3', phase: 'running', cancelRequested: true })];
    const plan = computeJobPlan(job('Replace'), runs, now);
    expect(plan.cancel).to.deep.equal(['r2']);
    expect(plan.start?.scheduledAt).to.deep.equal(at('2026-01-01T10:00:05Z'));
    expect(REPLACED_REASON).to.equal('replaced by a newer scheduled run');
  });
});

describe('computeJobPlan: times missed while runed was down (startingDeadlineSeconds)', () => {
  // Every minute; runed was down from 10:00:30 to 10:05:30.
  const down = (f: JobFixture = {}) => aJob({ schedule: '* * * * *', lastScheduleTime: '2026-01-01T10:00:00Z', ...f });
  const now = ms('2026-01-01T10:05:30Z');

  it('without startingDeadlineSeconds: one run for the latest missed time only', () => {
    const plan = computeJobPlan(down(), [], now);
    expect(plan.start).to.deep.equal({ trigger: 'schedule', scheduledAt: at('2026-01-01T10:05:00Z') });
    expect(plan.status.lastScheduleTime).to.deep.equal(at('2026-01-01T10:05:00Z'));
    expect(plan.status.message).to.contain('earlier scheduled times since 2026-01-01T10:00:00.000Z were missed');
    expect(plan.wakeAt).to.equal(ms('2026-01-01T10:06:00Z'));
  });

  it('the catch-up is one run: planning again afterwards starts nothing', () => {
    const after = down({ lastScheduleTime: '2026-01-01T10:05:00Z' });
    expect(computeJobPlan(after, [aRun({ id: 'r1', scheduledAt: '2026-01-01T10:05:00Z' })], now + 10).start).to.equal(undefined);
  });

  it('within startingDeadlineSeconds (30 s late, deadline 30): starts it', () => {
    expect(computeJobPlan(down({ startingDeadlineSeconds: 30 }), [], now).start?.scheduledAt).to.deep.equal(at('2026-01-01T10:05:00Z'));
  });

  it('beyond startingDeadlineSeconds (30 s late, deadline 29): skips it and says why', () => {
    const plan = computeJobPlan(down({ startingDeadlineSeconds: 29 }), [], now);
    expect(plan.start).to.equal(undefined);
    expect(plan.status.lastScheduleTime).to.deep.equal(at('2026-01-01T10:05:00Z'));
    expect(plan.status.message).to.equal('missed the scheduled time 2026-01-01T10:05:00.000Z by 30s (more than startingDeadlineSeconds 29); no run started for it');
  });

  it('startingDeadlineSeconds 0 still fires a timer that is milliseconds late', () => {
    const plan = computeJobPlan(aJob({ schedule: '* * * * * *', startingDeadlineSeconds: 0, lastScheduleTime: '2026-01-01T10:00:04Z' }), [], ms('2026-01-01T10:00:05.040Z'));
    expect(plan.start?.scheduledAt).to.deep.equal(at('2026-01-01T10:00:05Z'));
  });

  it('a new job never catches up times before its creation', () => {
    const created = (iso: string) => aJob({ schedule: '* * * * *', createdAt: iso, generation: 1, observedGeneration: 0 });
    expect(dueScheduleTime(created('2026-01-01T10:05:10Z'), now)).to.equal(undefined);
    expect(computeJobPlan(created('2026-01-01T10:05:10Z'), [], now).start).to.equal(undefined);
    // Created before 10:05 (and observed late): 10:05 is its own time.
    expect(computeJobPlan(created('2026-01-01T10:04:50Z'), [], now).start?.scheduledAt).to.deep.equal(at('2026-01-01T10:05:00Z'));
  });

  it('times that passed while suspended are not caught up when a cast un-suspends the job; the latest is recorded as passed', () => {
    // Suspended since 10:00:30; un-suspended by a cast at 10:05:29.
    const unsuspended = down({ generation: 3, observedGeneration: 2, updatedAt: '2026-01-01T10:05:29Z' });
    const plan = computeJobPlan(unsuspended, [], now);
    expect(plan.start).to.equal(undefined);
    expect(plan.status.lastScheduleTime).to.deep.equal(at('2026-01-01T10:05:00Z'));
    expect(plan.wakeAt).to.equal(ms('2026-01-01T10:06:00Z'));
  });

  it('a spec change does not swallow a time that came just before it (within the grace)', () => {
    const job = aJob({ schedule: '* * * * * *', lastScheduleTime: '2026-01-01T10:00:04Z', generation: 3, observedGeneration: 2, updatedAt: '2026-01-01T10:00:05.003Z' });
    expect(computeJobPlan(job, [], ms('2026-01-01T10:00:05.005Z')).start?.scheduledAt).to.deep.equal(at('2026-01-01T10:00:05Z'));
  });
});

describe('computeJobPlan: observed status', () => {
  it('lists active runs, the latest run and the last success (kept after that run is gone)', () => {
    const job = aJob({ schedule: '0 3 * * *', lastScheduleTime: '2026-01-01T03:00:00Z', lastRun: 'r0' });
    job.status!.lastSuccessfulTime = at('2026-01-01T00:00:00Z');
    const runs = [
      aRun({ id: 'r1', phase: 'finished', finishedAt: '2026-01-01T03:00:09Z' }),
      aRun({ id: 'r2', phase: 'failed', finishedAt: '2026-01-01T03:01:00Z' }),
      aRun({ id: 'r3', phase: 'pending' }),
      aRun({ id: 'r4', phase: 'blocked' }),
    ];
    const status = computeJobPlan(job, runs, ms('2026-01-01T04:00:00Z')).status;
    expect(status.activeRuns).to.deep.equal(['r3', 'r4']);
    expect(status.lastRun).to.equal('r4');
    expect(status.lastSuccessfulTime).to.deep.equal(at('2026-01-01T03:00:09Z'));
    expect(computeJobPlan({ ...job, status: { ...job.status!, lastRun: 'r9', lastSuccessfulTime: at('2026-01-02T00:00:00Z') } }, runs, ms('2026-01-01T04:00:00Z')).status).to.include({
      lastRun: 'r9',
    });
  });
});

describe('runsToDelete: history limits and TTL', () => {
  const now = ms('2026-01-01T12:00:00Z');
  const finished = (id: string, finishedAt = '2026-01-01T11:00:00Z') => aRun({ id, phase: 'finished', finishedAt });

  it('keeps the newest successfulRunsHistoryLimit finished runs (by id), deletes the older ones', () => {
    const runs = [finished('r3'), finished('r1'), finished('r4'), finished('r2')];
    expect(ids(runsToDelete(aJob({ successfulRunsHistoryLimit: 2 }), runs, now))).to.deep.equal(['r1', 'r2']);
  });

  it('counts failed and cancelled runs against failedRunsHistoryLimit, separately from finished ones', () => {
    const runs = [aRun({ id: 'r1', phase: 'failed' }), aRun({ id: 'r2', phase: 'cancelled' }), finished('r3'), aRun({ id: 'r4', phase: 'failed' })];
    expect(ids(runsToDelete(aJob({ failedRunsHistoryLimit: 1, successfulRunsHistoryLimit: 3 }), runs, now))).to.deep.equal(['r1', 'r2']);
  });

  it('never picks an active run, even at limit 0', () => {
    const runs = [aRun({ id: 'r1', phase: 'running' }), aRun({ id: 'r2', phase: 'pending' }), aRun({ id: 'r3', phase: 'blocked' }), finished('r4'), aRun({ id: 'r5', phase: 'failed' })];
    expect(ids(runsToDelete(aJob({ successfulRunsHistoryLimit: 0, failedRunsHistoryLimit: 0 }), runs, now))).to.deep.equal(['r4', 'r5']);
  });

  it('picks ended runs whose ttlSecondsAfterFinished has passed since they finished', () => {
    const runs = [finished('r1', '2026-01-01T11:58:59Z'), finished('r2', '2026-01-01T11:59:01Z'), aRun({ id: 'r3', phase: 'cancelled', finishedAt: '2026-01-01T11:58:00Z' })];
    const job = aJob({ ttlSecondsAfterFinished: 60, failedRunsHistoryLimit: 5 });
    expect(ids(runsToDelete(job, runs, now))).to.deep.equal(['r1', 'r3']);
    expect(nextRunExpiry(job, runs, now)).to.equal(ms('2026-01-01T12:00:01Z'));
    expect(nextRunExpiry(aJob({}), runs, now)).to.equal(undefined);
  });
});

describe('computeJobDeletion and orphanRuns', () => {
  it('a deleted job first cancels its active runs and waits for them', () => {
    const runs = [aRun({ id: 'r1', phase: 'finished' }), aRun({ id: 'r2', phase: 'running' }), aRun({ id: 'r3', phase: 'pending', cancelRequested: true })];
    expect(computeJobDeletion(runs)).to.deep.equal({ cancel: ['r2'], waiting: true, deleteRuns: [] });
  });

  it('once none is active, every run goes', () => {
    const runs = [aRun({ id: 'r2', phase: 'cancelled' }), aRun({ id: 'r1', phase: 'finished' })];
    const plan = computeJobDeletion(runs);
    expect(plan.waiting).to.equal(false);
    expect(ids(plan.deleteRuns)).to.deep.equal(['r1', 'r2']);
  });

  it('orphans are local runs whose job is gone; mirrored runs are not ours', () => {
    const runs = [
      aRun({ id: 'r1', phase: 'finished', job: 'gone' }),
      aRun({ id: 'r2', phase: 'running', job: 'gone' }),
      aRun({ id: 'r3', phase: 'finished', job: 'backup' }),
      aRun({ id: 'r4', phase: 'finished', job: 'gone', source: 'prod-cluster' }),
    ];
    const orphans = orphanRuns(runs, (_ns, job) => job === 'backup');
    expect(ids(orphans.delete)).to.deep.equal(['r1']);
    expect(ids(orphans.cancel)).to.deep.equal(['r2']);
  });
});
