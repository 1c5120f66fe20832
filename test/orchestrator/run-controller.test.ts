/**
 * The run controller end to end: a real runed (in-process) with a real LevelDB, running real
 * processes for runs of jobs. Claims about processes are checked against /proc. Retries are
 * shortened (first delay 100 ms).
 *
 * Jobs are cast with a schedule that is suspended, so nothing but the test's `startRun` starts a
 * run of them: each test knows its run by id.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { expect } from 'chai';
import { Job, type JobSpec } from '../../shared/gen/rune/v1/job.js';
import type { Run, RunEvent } from '../../shared/gen/rune/v1/run.js';
import { ConfigMap } from '../../shared/gen/rune/v1/configmap.js';
import { ConfigMapServiceClient } from '../../shared/gen/rune/v1/configmap_service.js';
import { JobServiceClient } from '../../shared/gen/rune/v1/job_service.js';
import { RunServiceClient, type WatchRunsResponse } from '../../shared/gen/rune/v1/run_service.js';
import { aNamespace } from '../support/builders.js';
import { alive, environOf, eventually } from '../support/procs.js';
import { auth, call, clients, startTestRuned, type TestRuned } from '../support/test-runed.js';

const TUNING = { orchestrator: { pollMs: 100, jobs: { retryBackoffMs: 100 } } };

/** PIDs of live processes of runs in `namespace` (the wrapper and the command: both carry RUNE_RUN). */
function runProcesses(namespace: string, run?: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || !alive(pid)) continue;
    const env = environOf(pid);
    if (env.RUNE_RUN && env.RUNE_NAMESPACE === namespace && (!run || env.RUNE_RUN === run)) pids.push(pid);
  }
  return pids;
}

function killRunProcesses(namespace: string): void {
  for (const pid of runProcesses(namespace)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
}

/** API access to one runed for one namespace. */
class RunsApi {
  readonly jobs: JobServiceClient;
  readonly runs: RunServiceClient;
  readonly base: ReturnType<typeof clients>;
  readonly md: grpc.Metadata;

  constructor(
    t: TestRuned,
    readonly ns: string,
  ) {
    const creds = grpc.credentials.createInsecure();
    this.jobs = new JobServiceClient(t.runed.grpcAddr, creds);
    this.runs = new RunServiceClient(t.runed.grpcAddr, creds);
    this.base = clients(t.runed.grpcAddr);
    this.md = auth(t.token);
  }

  createNamespace() {
    return call(this.base.namespaces, this.base.namespaces.createNamespace, { namespace: aNamespace({ name: this.ns }) }, this.md);
  }

  /** Casts a job that only starts runs on demand (its schedule is suspended). */
  async job(name: string, spec: Partial<JobSpec>): Promise<void> {
    const job = Job.fromPartial({ metadata: { name, namespace: this.ns }, spec: { runtime: 'process', schedule: '0 0 1 1 *', suspend: true, ...spec } });
    await call(this.jobs, this.jobs.castJob, { job, dryRun: false }, this.md);
  }

  async start(job: string, env: Record<string, string> = {}): Promise<string> {
    const { run } = await call(this.runs, this.runs.startRun, { namespace: this.ns, job, env }, this.md);
    return run!.metadata!.name;
  }

  async get(id: string): Promise<Run> {
    return (await call(this.runs, this.runs.getRun, { namespace: this.ns, id }, this.md)).run!;
  }

  cancel(id: string, reason: string) {
    return call(this.runs, this.runs.cancelRun, { namespace: this.ns, id, reason }, this.md);
  }

  /** The run once its phase is one of `phases`. */
  until(id: string, phases: string[], ms = 20_000): Promise<Run> {
    return eventually(`run ${id} to be ${phases.join(' or ')}`, async () => {
      const run = await this.get(id);
      return phases.includes(run.status?.phase ?? '') ? run : undefined;
    }, ms);
  }

  /** The run once its current attempt's process runs. */
  running(id: string): Promise<Run> {
    return eventually(`run ${id} to run a process`, async () => {
      const run = await this.get(id);
      const pid = run.status?.attempts.at(-1)?.pid;
      return run.status?.phase === 'running' && pid && alive(pid) ? run : undefined;
    });
  }

  /** Every run event of the namespace from now on, with the time it arrived. */
  watch(): { events: { at: number; event: RunEvent }[]; close(): void } {
    const events: { at: number; event: RunEvent }[] = [];
    const stream = this.runs.watchRuns({ namespace: this.ns, filter: undefined, includeHistory: 0, fromRevision: 0 }, this.md);
    stream.on('data', (res: WatchRunsResponse) => {
      for (const event of res.events) events.push({ at: Date.now(), event });
    });
    stream.on('error', () => undefined); // cancelled by close()
    return { events, close: () => stream.cancel() };
  }

  close(): void {
    this.jobs.close();
    this.runs.close();
    this.base.close();
  }
}

describe('run controller (real runed, real processes)', function () {
  this.timeout(60_000);
  let t: TestRuned;
  let api: RunsApi;
  let ns: string;
  let nsCount = 0;

  before(async () => {
    t = await startTestRuned(TUNING);
  });
  beforeEach(async () => {
    ns = `r${process.pid}-${++nsCount}`;
    api = new RunsApi(t, ns);
    await api.createNamespace();
  });
  afterEach(async () => {
    killRunProcesses(ns);
    api.close();
  });
  after(async () => {
    await t.stop();
  });

  it('runs the job template with Rune env and env overrides; exit 0 → finished/Completed, output in the log', async () => {
    await api.job('hello', {
      command: 'sh',
      args: ['-c', 'echo "job=$RUNE_JOB run=$RUNE_RUN attempt=$RUNE_ATTEMPT ns=$RUNE_NAMESPACE greeting=$GREETING status=${RUNE_STATUS_FILE##*/}"'],
      env: { GREETING: 'from-job', OTHER: 'kept' },
    });
    const id = await api.start('hello', { GREETING: 'override' });
    const run = await api.until(id, ['finished', 'failed']);
    expect(run.status).to.deep.include({ phase: 'finished', reason: 'Completed', lastChange: 'finished' });
    expect(run.status!.startedAt).to.be.instanceOf(Date);
    expect(run.status!.finishedAt).to.be.instanceOf(Date);
    expect(run.status!.attempts).to.have.length(1);
    expect(run.status!.attempts[0]).to.deep.include({ number: 1, exitCode: 0, exitSignal: '', reason: 'Completed' });
    expect(run.status!.attempts[0]!.pid).to.be.greaterThan(0);
    expect(run.status!.attempts[0]!.processStartTime).to.be.greaterThan(0);
    const log = await readFile(run.status!.logPath, 'utf8');
    expect(log).to.include(`job=hello run=${id} attempt=1 ns=${ns} greeting=override status=status.json`);
    expect(run.status!.logPath.startsWith(t.runed.dataDir)).to.equal(true);
  });

  it('backoffLimit 2 with a command that always exits 3: three attempts, then failed/BackoffLimitExceeded', async () => {
    await api.job('flaky', { command: 'sh', args: ['-c', 'echo "attempt $RUNE_ATTEMPT"; exit 3'], backoffLimit: 2 });
    const watch = api.watch();
    try {
      const id = await api.start('flaky');
      const run = await api.until(id, ['finished', 'failed']);
      expect(run.status).to.deep.include({ phase: 'failed', reason: 'BackoffLimitExceeded' });
      expect(run.status!.attempts.map((a) => [a.number, a.exitCode, a.reason])).to.deep.equal([
        [1, 3, 'Failed'],
        [2, 3, 'Failed'],
        [3, 3, 'Failed'],
      ]);
      expect(new Set(run.status!.attempts.map((a) => a.pid)).size, 'a new process per attempt').to.equal(3);
      expect(await readFile(run.status!.logPath, 'utf8')).to.equal('attempt 1\nattempt 2\nattempt 3\n');
      // Retries were announced, and the run ended with exactly one run:finished event.
      await eventually('the finished event', () => watch.events.some((e) => e.event.type === 'run:finished'));
      const mine = watch.events.filter((e) => e.event.run?.metadata?.name === id);
      expect(mine.filter((e) => e.event.run?.status?.reason === 'Retrying')).to.have.length.greaterThan(0);
      expect(mine.filter((e) => e.event.type === 'run:finished')).to.have.length(1);
    } finally {
      watch.close();
    }
  });

  it('activeDeadlineSeconds stops a `sleep 60` and fails the run with DeadlineExceeded; the processes are gone', async () => {
    await api.job('slow', { command: 'sleep', args: ['60'], activeDeadlineSeconds: 1, backoffLimit: 3 });
    const id = await api.start('slow');
    const pid = (await api.running(id)).status!.attempts[0]!.pid;
    const run = await api.until(id, ['finished', 'failed', 'cancelled']);
    expect(run.status).to.deep.include({ phase: 'failed', reason: 'DeadlineExceeded' });
    expect(run.status!.attempts).to.have.length(1); // no retry
    expect(run.status!.attempts[0]!.reason).to.equal('DeadlineExceeded');
    expect(alive(pid)).to.equal(false);
    expect(runProcesses(ns, id)).to.deep.equal([]);
  });

  it('cancel stops a running run: processes gone, phase cancelled, the reason as message', async () => {
    await api.job('long', { command: 'sleep', args: ['60'] });
    const id = await api.start('long');
    const pid = (await api.running(id)).status!.attempts[0]!.pid;
    expect(runProcesses(ns, id).length, 'wrapper and command').to.equal(2);
    await api.cancel(id, 'not needed any more');
    const run = await api.until(id, ['finished', 'failed', 'cancelled']);
    expect(run.status).to.deep.include({ phase: 'cancelled', reason: 'Cancelled', message: 'not needed any more', lastChange: 'finished' });
    expect(run.status!.attempts[0]!.reason).to.equal('Cancelled');
    expect(run.status!.attempts[0]!.finishedAt).to.be.instanceOf(Date);
    expect(alive(pid)).to.equal(false);
    expect(runProcesses(ns, id)).to.deep.equal([]);
  });

  it('a replaced run ends cancelled with reason Replaced', async () => {
    await api.job('repl', { command: 'sleep', args: ['60'] });
    const id = await api.start('repl');
    await api.running(id);
    await api.cancel(id, 'replaced by run 01test');
    const run = await api.until(id, ['finished', 'failed', 'cancelled']);
    expect(run.status).to.deep.include({ phase: 'cancelled', reason: 'Replaced', message: 'replaced by run 01test' });
  });

  it('progress written to $RUNE_STATUS_FILE shows up in WatchRuns within 1.5 s; blocked is shown as such', async () => {
    await api.job('reporter', { command: 'sleep', args: ['60'] });
    const id = await api.start('reporter');
    const pid = (await api.running(id)).status!.attempts[0]!.pid;
    const statusFile = environOf(pid).RUNE_STATUS_FILE!;
    expect(statusFile).to.equal(join(t.runed.dataDir, 'runs', ns, id, 'status.json'));
    const watch = api.watch();
    try {
      await new Promise((r) => setTimeout(r, 300)); // the stream is open
      const writtenAt = Date.now();
      await writeFile(statusFile, JSON.stringify({ phase: 'running', currentTask: 'copy', progress: { finished: 3, total: 10 }, message: 'copying' }));
      const seen = await eventually('the progress event', () => watch.events.find((e) => e.event.type === 'run:progress' && e.event.run?.status?.progress?.finished === 3), 5000);
      expect(seen.at - writtenAt, 'ms from the write to the event').to.be.lessThan(1500);
      expect(seen.event.run!.status).to.deep.include({ currentTask: 'copy', message: 'copying', phase: 'running' });
      expect(seen.event.run!.status!.progress).to.deep.include({ finished: 3, total: 10 });
      expect(seen.event.run!.status!.lastHeartbeat).to.be.instanceOf(Date);

      await writeFile(statusFile, JSON.stringify({ phase: 'blocked', currentTask: 'approval', message: 'waiting for a human' }));
      const blocked = await api.until(id, ['blocked'], 5000);
      expect(blocked.status).to.deep.include({ currentTask: 'approval', message: 'waiting for a human' });
      expect(blocked.status!.progress).to.deep.include({ finished: 3, total: 10 }); // left alone
    } finally {
      watch.close();
    }
    await api.cancel(id, 'done');
    await api.until(id, ['cancelled']);
  });

  it('invalid JSON in the status file: one warning (run:warning), the run goes on and finishes', async () => {
    await api.job('garbled', { command: 'sh', args: ['-c', 'echo "{not json" > "$RUNE_STATUS_FILE"; sleep 1.5; exit 0'] });
    const watch = api.watch();
    try {
      const id = await api.start('garbled');
      const run = await api.until(id, ['finished', 'failed']);
      expect(run.status).to.deep.include({ phase: 'finished', reason: 'Completed' });
      expect(run.status!.warning).to.match(/RUNE_STATUS_FILE is not valid JSON/);
      const warnings = watch.events.filter((e) => e.event.run?.metadata?.name === id && e.event.type === 'run:warning');
      expect(warnings, 'the same content is warned about once').to.have.length(1);
    } finally {
      watch.close();
    }
  });

  it('a run deleted while active has its process stopped and its folder removed', async () => {
    await api.job('doomed', { command: 'sleep', args: ['60'] });
    const id = await api.start('doomed');
    const pid = (await api.running(id)).status!.attempts[0]!.pid;
    const dir = join(t.runed.dataDir, 'runs', ns, id);
    expect(existsSync(dir)).to.equal(true);
    await t.runed.store.delete('runs', ns, id);
    await eventually('the process to stop', () => !alive(pid) && runProcesses(ns, id).length === 0);
    await eventually('the run folder to go', () => !existsSync(dir));
  });

  it('a job cast without a schedule gets one run from the job controller, which runs to completion', async () => {
    const job = Job.fromPartial({ metadata: { name: 'once', namespace: ns }, spec: { runtime: 'process', command: 'true' } });
    await call(api.jobs, api.jobs.castJob, { job, dryRun: false }, api.md);
    const run = await eventually('the run of job once', async () => {
      const { runs } = await call(api.runs, api.runs.listRuns, { namespace: ns, filter: { job: 'once', status: [], source: '' }, options: undefined }, api.md);
      return runs.length === 1 && runs[0]!.status?.phase === 'finished' ? runs[0] : undefined;
    });
    expect(run!.spec!.trigger).to.equal('create');
    expect(run!.status!.attempts[0]!.exitCode).to.equal(0);
  });

  it('deleting a job with an active run stops its process, then the run and its folder go', async () => {
    await api.job('busy', { command: 'sleep', args: ['60'], stopTimeoutSeconds: 2 });
    const id = await api.start('busy');
    const pid = (await api.running(id)).status!.attempts[0]!.pid;
    await call(api.jobs, api.jobs.deleteJob, { namespace: ns, name: 'busy', resourceVersion: 0 }, api.md);
    await eventually('the process to stop', () => !alive(pid) && runProcesses(ns, id).length === 0);
    await eventually('the run and its folder to go', async () => {
      const gone = await api.get(id).then(() => false, (err: grpc.ServiceError) => err.code === grpc.status.NOT_FOUND);
      return gone && !existsSync(join(t.runed.dataDir, 'runs', ns, id));
    });
  });

  it('configmap references in env are resolved at the start, never stored in the run', async () => {
    const configMaps = new ConfigMapServiceClient(t.runed.grpcAddr, grpc.credentials.createInsecure());
    try {
      const configMap = ConfigMap.fromPartial({ metadata: { name: 'cfg', namespace: ns }, data: { greeting: 'bonjour' } });
      await call(configMaps, configMaps.castConfigMap, { configMap, dryRun: false }, api.md);
    } finally {
      configMaps.close();
    }
    await api.job('refs', { command: 'sh', args: ['-c', 'echo "greeting=$GREETING"'], env: { GREETING: '{{configmap:cfg/greeting}}' } });
    const id = await api.start('refs');
    const run = await api.until(id, ['finished', 'failed']);
    expect(run.status).to.deep.include({ phase: 'finished' });
    expect(await readFile(run.status!.logPath, 'utf8')).to.equal('greeting=bonjour\n');
    expect(run.spec!.template!.env.GREETING).to.equal('{{configmap:cfg/greeting}}');
  });

  it('a command that cannot start fails the run with StartFailed after its retries', async () => {
    await api.job('typo', { command: 'no-such-command-rune-test', backoffLimit: 1 });
    const id = await api.start('typo');
    const run = await api.until(id, ['finished', 'failed']);
    expect(run.status).to.deep.include({ phase: 'failed', reason: 'StartFailed' });
    expect(run.status!.attempts.map((a) => a.reason)).to.deep.equal(['StartFailed', 'StartFailed']);
    expect(run.status!.message).to.match(/not found/);
  });
});

describe('run controller across runed restarts (same data dir)', function () {
  this.timeout(90_000);
  const ns = `rr${process.pid}`;
  let dataDir: string;
  let first: TestRuned | undefined;
  let second: TestRuned | undefined;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'runed-runs-restart-'));
  });
  after(async () => {
    killRunProcesses(ns);
    await second?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('adopts runs in flight (exit codes known from the exit file), and fails one whose process vanished', async () => {
    first = await startTestRuned({ ...TUNING, dataDir });
    const api1 = new RunsApi(first, ns);
    await api1.createNamespace();
    // Waits for a go file next to its status file, then exits 5: it must end after the restart.
    await api1.job('keep', { command: 'sh', args: ['-c', 'while [ ! -e "$RUNE_STATUS_FILE.go" ]; do sleep 0.05; done; exit 5'], backoffLimit: 0 });
    // Exits 4 while runed is down.
    await api1.job('early', { command: 'sh', args: ['-c', 'while [ ! -e "$RUNE_STATUS_FILE.go" ]; do sleep 0.05; done; exit 4'], backoffLimit: 0 });
    // Killed (kill -9, whole group) while runed is down.
    await api1.job('victim', { command: 'sleep', args: ['60'], backoffLimit: 3 });
    // Its PID is taken out of the record below, as if runed had died right after starting it.
    await api1.job('unrecorded', { command: 'sh', args: ['-c', 'while [ ! -e "$RUNE_STATUS_FILE.go" ]; do sleep 0.05; done; exit 6'], backoffLimit: 0 });
    const keep = await api1.start('keep');
    const early = await api1.start('early');
    const victim = await api1.start('victim');
    const unrecorded = await api1.start('unrecorded');
    const pids: Record<string, number> = {};
    for (const id of [keep, early, victim, unrecorded]) pids[id] = (await api1.running(id)).status!.attempts[0]!.pid;
    api1.close();

    await first.runed.stop(); // runs outlive runed by design
    for (const id of [keep, early, victim, unrecorded]) expect(alive(pids[id]!), `run ${id} outlives runed`).to.equal(true);
    // Rewrite the record with a runed that runs no controllers.
    const editor = await startTestRuned({ dataDir, orchestrator: { enabled: false } });
    const record = (await editor.runed.store.get<Run>('runs', ns, unrecorded))!;
    const attempts = record.status!.attempts.map((a) => ({ ...a, pid: 0, processStartTime: 0 }));
    await editor.runed.store.update('runs', { ...record, status: { ...record.status!, attempts } });
    await editor.runed.stop();
    await rm(editor.home, { recursive: true, force: true });
    await writeFile(join(dataDir, 'runs', ns, early, 'status.json.go'), '');
    await eventually('the early run to exit', () => !alive(pids[early]!));
    process.kill(-pids[victim]!, 'SIGKILL');
    await eventually('the victim to die', () => runProcesses(ns, victim).length === 0);

    second = await startTestRuned({ ...TUNING, dataDir });
    const api2 = new RunsApi(second, ns);
    try {
      const ended = await api2.until(early, ['finished', 'failed']);
      expect(ended.status).to.deep.include({ phase: 'failed', reason: 'BackoffLimitExceeded' });
      expect(ended.status!.attempts[0]).to.deep.include({ exitCode: 4, reason: 'Failed' });

      const vanished = await api2.until(victim, ['finished', 'failed']);
      expect(vanished.status).to.deep.include({ phase: 'failed', reason: 'ProcessVanished' });
      expect(vanished.status!.attempts).to.have.length(1); // no retry
      expect(vanished.status!.attempts[0]!.reason).to.equal('ProcessVanished');
      expect(vanished.status!.message).to.match(/disappeared while runed was down/);

      // Still running, adopted: same process, not started again.
      await eventually('keep to be adopted', () => second!.runed.orchestrator!.activeRuns().includes(`${ns}/${keep}`));
      expect((await api2.get(keep)).status).to.deep.include({ phase: 'running' });
      expect(runProcesses(ns, keep)).to.include(pids[keep]!);
      await writeFile(join(dataDir, 'runs', ns, keep, 'status.json.go'), '');
      const kept = await api2.until(keep, ['finished', 'failed']);
      expect(kept.status!.attempts).to.have.length(1);
      expect(kept.status!.attempts[0]).to.deep.include({ pid: pids[keep], exitCode: 5, reason: 'Failed' });
      expect(kept.status).to.deep.include({ phase: 'failed', reason: 'BackoffLimitExceeded' });

      // Found by its RUNE_RUN variable, adopted, its PID recorded again; no second process.
      const found = await eventually('the unrecorded run to be found', async () => {
        const run = await api2.get(unrecorded);
        return run.status!.attempts[0]!.pid ? run : undefined;
      });
      expect(found.status!.attempts[0]!.pid).to.equal(pids[unrecorded]);
      expect(found.status!.attempts).to.have.length(1);
      await writeFile(join(dataDir, 'runs', ns, unrecorded, 'status.json.go'), '');
      const foundEnded = await api2.until(unrecorded, ['finished', 'failed']);
      expect(foundEnded.status!.attempts[0]).to.deep.include({ pid: pids[unrecorded], exitCode: 6 });
    } finally {
      api2.close();
    }
  });
});
