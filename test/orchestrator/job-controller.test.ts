/**
 * The job controller end to end: a real runed in-process with a real LevelDB, jobs cast over
 * gRPC, runs read back over gRPC. Each test has its own namespace.
 *
 * The run controller executes runs; where a test needs ended runs without depending on how
 * long a process takes, it stores them ended (as history), exactly as the run controller leaves
 * them, and checks what the job controller does with them.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { RuneClient } from '../../client/api/rune-client.js';
import { Job, type JobSpec } from '../../shared/gen/rune/v1/job.js';
import { Run } from '../../shared/gen/rune/v1/run.js';
import { newMeta } from '../../server/domain/objects.js';
import { newRunId } from '../../server/domain/runs.js';
import { cleanUpRuns } from '../../server/orchestrator/job-controller.js';
import { Informer } from '../../server/store/informer.js';
import { aNamespace } from '../support/builders.js';
import { expectRuneError } from '../support/expect-rune-error.js';
import { eventually } from '../support/procs.js';
import { startTestRuned, type TestRuned } from '../support/test-runed.js';

/** A job that never fires during a test (1 January at 00:00), so only the test's runs exist. */
const YEARLY = '0 0 1 1 *';

function aJob(namespace: string, name: string, spec: Partial<JobSpec>): Job {
  return Job.fromPartial({ metadata: { name, namespace }, spec: { runtime: 'process', command: 'true', ...spec } });
}

/** A run of `job` as the run controller leaves it once ended, with a log file of its own. */
function anEndedRun(namespace: string, job: string, phase: 'finished' | 'failed' | 'cancelled', options: { finishedAt?: Date; logPath?: string } = {}): Run {
  return Run.fromPartial({
    metadata: newMeta(newRunId(), namespace),
    spec: { job, source: 'local', trigger: 'manual', jobGeneration: 1 },
    status: { phase, reason: phase === 'finished' ? 'Completed' : 'Failed', lastChange: 'finished', finishedAt: options.finishedAt ?? new Date(), logPath: options.logPath ?? '' },
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('job controller (real runed)', function () {
  this.timeout(60_000);
  let t: TestRuned;
  let client: RuneClient;
  let ns: string;
  let scratch: string;
  let nsCount = 0;

  before(async () => {
    t = await startTestRuned();
    client = new RuneClient({ server: t.runed.grpcAddr, token: t.token });
    scratch = await mkdtemp(join(tmpdir(), 'rune-jobs-'));
  });
  beforeEach(async () => {
    ns = `j${process.pid}-${++nsCount}`;
    await client.createNamespace({ namespace: aNamespace({ name: ns }) });
  });
  afterEach(async () => {
    await client.deleteNamespace({ name: ns, cascade: true }).catch(() => undefined);
  });
  after(async () => {
    client.close();
    await t.stop();
    await rm(scratch, { recursive: true, force: true });
  });

  const cast = (name: string, spec: Partial<JobSpec>) => client.castJob({ job: aJob(ns, name, spec) });
  const runsOf = async (job: string) => (await client.listRuns({ namespace: ns, filter: { job, status: [], source: '' }, options: { limit: 1000 } })).runs;
  const jobStatus = async (name: string) => (await client.getJob({ namespace: ns, name })).job!.status!;
  const store = () => t.runed.store;
  /** Ended runs stored oldest first (ids are time-ordered), each with a log and a rotated copy. */
  async function storeEndedRuns(job: string, phases: ('finished' | 'failed' | 'cancelled')[], options: { finishedAt?: Date } = {}): Promise<Run[]> {
    const runs: Run[] = [];
    for (const phase of phases) {
      const logPath = join(scratch, `${ns}-${runs.length}-${job}.log`);
      await writeFile(logPath, 'output\n');
      await writeFile(`${logPath}.1`, 'older output\n');
      runs.push(await store().create<Run>('runs', anEndedRun(ns, job, phase, { ...options, logPath })));
      await sleep(2); // distinct ULID milliseconds: creation order is id order
    }
    return runs;
  }
  const ids = (runs: Run[]) => runs.map((r) => r.metadata!.name).sort();

  it('a job without schedule starts exactly one run; a re-cast without change starts none; a changed spec starts another', async () => {
    await cast('once', { args: ['a'] });
    const [first] = await eventually('the first run', async () => {
      const runs = await runsOf('once');
      return runs.length === 1 ? runs : undefined;
    });
    expect(first!.spec).to.include({ trigger: 'create', jobGeneration: 1 });
    expect((await cast('once', { args: ['a'] })).result).to.equal('unchanged');
    await sleep(1000); // a second run would have been created well within this
    expect(await runsOf('once')).to.have.length(1);
    const status = await jobStatus('once');
    expect(status.observedGeneration).to.equal(1);
    expect(status.lastRun).to.equal(first!.metadata!.name);

    expect((await cast('once', { args: ['b'] })).result).to.equal('updated');
    const runs = await eventually('a run of generation 2', async () => {
      const list = await runsOf('once');
      return list.length === 2 ? list : undefined;
    });
    const second = runs.find((r) => r.metadata!.name !== first!.metadata!.name)!;
    expect(second.spec).to.include({ trigger: 'create', jobGeneration: 2 });
    expect(second.spec!.template!.args).to.deep.equal(['b']);
    await eventually('status to observe generation 2', async () => {
      const s = await jobStatus('once');
      return s.observedGeneration === 2 && s.lastRun === second.metadata!.name;
    });
    await sleep(500);
    expect(await runsOf('once')).to.have.length(2);
  });

  it('schedule `* * * * * *` starts a run every second, each for its own second, exactly 1 s apart', async () => {
    await cast('tick', { schedule: '* * * * * *', successfulRunsHistoryLimit: 100, failedRunsHistoryLimit: 100 });
    await sleep(4500);
    const runs = (await runsOf('tick')).sort((a, b) => a.spec!.scheduledAt!.getTime() - b.spec!.scheduledAt!.getTime());
    expect(runs.length, 'runs within 4.5 s').to.be.at.least(3);
    const times = runs.map((r) => r.spec!.scheduledAt!.getTime());
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!, `gap before run ${i}`).to.equal(1000);
    for (const run of runs) {
      expect(run.spec!.trigger).to.equal('schedule');
      expect(run.spec!.scheduledAt!.getMilliseconds()).to.equal(0);
    }
    const status = await jobStatus('tick');
    expect(status.lastScheduleTime!.getTime()).to.be.at.least(times.at(-1)!);
    expect(status.nextScheduleTime!.getTime()).to.equal(status.lastScheduleTime!.getTime() + 1000);
  });

  it('Forbid skips scheduled times while a run is active, and says so in the status', async () => {
    await cast('exclusive', { schedule: '* * * * * *', concurrencyPolicy: 'Forbid', command: 'sleep', args: ['30'] });
    await sleep(3000);
    const runs = await runsOf('exclusive');
    expect(runs, 'runs after 3 s').to.have.length(1);
    const status = await jobStatus('exclusive');
    expect(status.message).to.match(new RegExp(`^Forbid: run ${runs[0]!.metadata!.name} still active; skipped the scheduled time`));
    expect(status.activeRuns).to.deep.equal([runs[0]!.metadata!.name]);
  });

  it('Replace asks the active run to stop and starts a new one for the next time', async () => {
    await cast('latest', { schedule: '* * * * * *', concurrencyPolicy: 'Replace', command: 'sleep', args: ['30'] });
    const [older] = await eventually('a second run', async () => {
      const runs = (await runsOf('latest')).sort((a, b) => (a.metadata!.name < b.metadata!.name ? -1 : 1));
      return runs.length >= 2 ? runs : undefined;
    });
    const replaced = (await client.getRun({ namespace: ns, id: older!.metadata!.name })).run!;
    expect(replaced.spec).to.include({ cancelRequested: true, cancelReason: 'replaced by a newer scheduled run' });
    // The run controller stops it: it ends cancelled, not failed or finished.
    const ended = await eventually('the replaced run to end', async () => {
      const run = (await client.getRun({ namespace: ns, id: older!.metadata!.name })).run!;
      return run.status!.finishedAt ? run : undefined;
    });
    expect(ended.status!.phase).to.equal('cancelled');
  });

  it('keeps successfulRunsHistoryLimit finished runs and deletes the older ones with their log files', async () => {
    await cast('history', { schedule: YEARLY, successfulRunsHistoryLimit: 2, failedRunsHistoryLimit: 1 });
    const runs = await storeEndedRuns('history', ['finished', 'failed', 'finished', 'finished', 'failed', 'finished']);
    const finished = runs.filter((r) => r.status!.phase === 'finished');
    const failed = runs.filter((r) => r.status!.phase === 'failed');
    const kept = [...finished.slice(-2), ...failed.slice(-1)];
    await eventually('older runs to be deleted', async () => ids(await runsOf('history')).join() === ids(kept).join());
    const deleted = runs.filter((r) => !kept.includes(r));
    await eventually('their log files and rotated copies to go', () => deleted.every((r) => !existsSync(r.status!.logPath) && !existsSync(`${r.status!.logPath}.1`)), 5000);
    for (const run of kept) expect(existsSync(run.status!.logPath)).to.equal(true);
    expect((await jobStatus('history')).lastSuccessfulTime).to.not.equal(undefined);
  });

  it('deletes an ended run once ttlSecondsAfterFinished has passed', async () => {
    await cast('short-lived', { schedule: YEARLY, ttlSecondsAfterFinished: 1, successfulRunsHistoryLimit: 10 });
    const [old, recent] = [
      ...(await storeEndedRuns('short-lived', ['finished'], { finishedAt: new Date(Date.now() - 60_000) })),
      ...(await storeEndedRuns('short-lived', ['finished'])),
    ];
    await eventually('the expired run to go', async () => ids(await runsOf('short-lived')).join() === ids([recent!]).join(), 5000);
    await eventually('its log to go', () => !existsSync(old!.status!.logPath), 5000);
    await eventually('the other to go a second after it finished', async () => (await runsOf('short-lived')).length === 0, 5000);
  });

  it('deleting a job asks its active run to stop, waits for it to end, then removes the job and every run', async () => {
    await cast('doomed', { command: 'sleep', args: ['30'], successfulRunsHistoryLimit: 10 });
    const ended = await storeEndedRuns('doomed', ['finished', 'finished']);
    const running = await eventually('its run to be running', async () => (await runsOf('doomed')).find((r) => r.status!.phase === 'running'));
    await client.deleteJob({ namespace: ns, name: 'doomed' });
    // The job stays (marked) until its runs are gone; the active one is asked to stop.
    const marked = (await client.getJob({ namespace: ns, name: 'doomed' })).job!;
    expect(marked.metadata!.deletionTimestamp).to.not.equal(undefined);
    await eventually('the job to go', async () => client.getJob({ namespace: ns, name: 'doomed' }).then(() => false, () => true));
    expect(await runsOf('doomed')).to.deep.equal([]);
    // The run's history, from the event log (polling could miss a stop that is quick on a busy machine):
    // asked to stop, ended, and only then deleted.
    const history = (await store().recent({ kind: 'runs', namespace: ns, limit: 1000, match: (e) => e.name === running.metadata!.name })).events;
    const asked = history.findIndex((e) => (e.object as Run).spec!.cancelRequested);
    expect(asked, 'a write asking the run to stop').to.be.at.least(0);
    expect((history[asked]!.object as Run).spec!.cancelReason).to.equal('job "doomed" is being deleted');
    const stopped = history.findIndex((e, i) => i > asked && ['cancelled', 'failed', 'finished'].includes((e.object as Run).status!.phase));
    expect(stopped, 'the run ended after it was asked to stop').to.be.above(asked);
    expect(history.at(-1)!.type).to.equal('DELETED');
    await eventually('the logs of its runs to go', () => ended.every((r) => !existsSync(r.status!.logPath)), 5000);
  });

  it('deleting the namespace deletes its jobs and their runs', async () => {
    await cast('inside', { schedule: YEARLY });
    await storeEndedRuns('inside', ['finished']);
    await client.deleteNamespace({ name: ns, cascade: true });
    await eventually('jobs and runs of the namespace to go', async () => {
      const jobs = await store().list('jobs', { namespace: ns });
      const runs = await store().list('runs', { namespace: ns });
      return jobs.items.length === 0 && runs.items.length === 0;
    });
  });

  it('rejects an invalid cron expression or time zone with INVALID_ARGUMENT naming the field and the value', async () => {
    const cron = await expectRuneError(cast('bad', { schedule: '*/0 * * * * *' }), 'INVALID_ARGUMENT');
    expect(cron.violations.map((v) => v.field)).to.deep.equal(['schedule']);
    expect(cron.message).to.contain('*/0 * * * * *');
    const zone = await expectRuneError(cast('bad', { schedule: '* * * * *', timezone: 'Europe/Atlantis' }), 'INVALID_ARGUMENT');
    expect(zone.violations.map((v) => v.field)).to.deep.equal(['timezone']);
    expect(zone.message).to.contain('Europe/Atlantis');
    expect(await runsOf('bad')).to.deep.equal([]);
  });
});

describe('cleanUpRuns (housekeeping; orchestrator off, so nothing else deletes)', function () {
  this.timeout(30_000);
  let t: TestRuned;
  let scratch: string;

  before(async () => {
    t = await startTestRuned({ orchestrator: { enabled: false } });
    scratch = await mkdtemp(join(tmpdir(), 'rune-cleanup-'));
    await mkdir(scratch, { recursive: true });
  });
  after(async () => {
    await t.stop();
    await rm(scratch, { recursive: true, force: true });
  });

  it('deletes runs beyond history limits, past their TTL and of jobs that no longer exist, and counts them', async () => {
    const store = t.runed.store;
    await store.create('namespaces', aNamespace({ name: 'hk' }));
    await store.create<Job>('jobs', Job.fromPartial({ ...aJob('hk', 'kept', { schedule: YEARLY, successfulRunsHistoryLimit: 1, failedRunsHistoryLimit: 1, ttlSecondsAfterFinished: 3600 }) }));
    const make = async (job: string, phase: 'finished' | 'failed', options: { finishedAt?: Date; source?: string; running?: boolean } = {}) => {
      const logPath = join(scratch, `${job}-${Math.random()}.log`);
      await writeFile(logPath, 'x\n');
      const run = anEndedRun('hk', job, phase, { finishedAt: options.finishedAt, logPath });
      if (options.source) run.spec!.source = options.source;
      if (options.running) run.status = { ...run.status!, phase: 'running', finishedAt: undefined };
      const created = await store.create<Run>('runs', run);
      await sleep(2);
      return created;
    };
    const now = Date.now();
    const expired = await make('kept', 'failed', { finishedAt: new Date(now - 7200_000) }); // TTL passed (and over the failed limit)
    const olderFinished = await make('kept', 'finished');
    const newest = await make('kept', 'finished');
    const orphan = await make('gone', 'finished');
    const activeOrphan = await make('gone', 'finished', { running: true });
    const mirrored = await make('gone', 'finished', { source: 'prod-cluster' });
    const jobs = await Informer.start<Job>(store, 'jobs');
    const runs = await Informer.start<Run>(store, 'runs');
    try {
      expect(await cleanUpRuns(store, jobs, runs, now)).to.equal(3);
      const left = (await store.list<Run>('runs', { namespace: 'hk' })).items.map((r) => r.metadata!.name).sort();
      expect(left).to.deep.equal([newest, activeOrphan, mirrored].map((r) => r.metadata!.name).sort());
      for (const run of [expired, olderFinished, orphan]) expect(existsSync(run.status!.logPath)).to.equal(false);
      expect((await store.get<Run>('runs', 'hk', activeOrphan.metadata!.name))!.spec!.cancelRequested).to.equal(true);
      await eventually('the informer to see the deletions', () => runs.size === 3);
      expect(await cleanUpRuns(store, jobs, runs, now)).to.equal(0);
    } finally {
      jobs.stop();
      runs.stop();
    }
  });
});

describe('scheduled times missed while runed was down', function () {
  this.timeout(60_000);

  it('start one run for the latest missed time only, none for the earlier ones', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'runed-missed-'));
    let t = await startTestRuned({ dataDir });
    let client = new RuneClient({ server: t.runed.grpcAddr, token: t.token });
    try {
      await client.createNamespace({ namespace: aNamespace({ name: 'missed' }) });
      await client.castJob({ job: aJob('missed', 'even', { schedule: '*/2 * * * * *', successfulRunsHistoryLimit: 100, failedRunsHistoryLimit: 100 }) });
      const list = async () => (await client.listRuns({ namespace: 'missed', filter: { job: 'even', status: [], source: '' }, options: { limit: 1000 } })).runs;
      await eventually('a first scheduled run', async () => (await list()).length > 0);
      // runed goes away for 4.5 s: at least two even seconds pass while it is down.
      client.close();
      await t.runed.stop();
      const stoppedAt = Date.now();
      await sleep(4500);
      // Restart just after an even second, so no scheduled time comes during the start-up.
      while (Date.now() % 2000 > 100) await sleep(10);
      const restartingAt = Date.now();
      t = await startTestRuned({ dataDir });
      client = new RuneClient({ server: t.runed.grpcAddr, token: t.token });
      // The even seconds that passed while down (the schedule is read in runed's zone, whose
      // offsets are whole minutes, so they are even in UTC too); the latest gets the one run.
      const missed: number[] = [];
      for (let at = Math.floor(stoppedAt / 2000) * 2000 + 2000; at <= restartingAt; at += 2000) missed.push(at);
      expect(missed.length, 'times missed').to.be.at.least(2);
      const latest = missed.at(-1)!;
      const runs = await eventually('the catch-up run', async () => {
        const all = await list();
        return all.some((r) => r.spec!.scheduledAt!.getTime() >= latest) ? all : undefined;
      }, 5000);
      const times = runs.map((r) => r.spec!.scheduledAt!.getTime());
      // One run for the latest missed time, none for the earlier ones.
      expect(times.filter((at) => at > stoppedAt && at < latest), 'runs for earlier missed times').to.deep.equal([]);
      expect(times.filter((at) => at === latest), 'runs for the latest missed time').to.have.length(1);
    } finally {
      client.close();
      await t.stop(); // removes dataDir
    }
  });
});
