/**
 * The jobs and runs API over real gRPC, with the orchestrator off: runs stay as the API and the
 * test write them, so the event stream's contract (types, history, filters, resume, fan-out)
 * is checked exactly. The controllers that execute runs are tested in test/orchestrator.
 */
import { expect } from 'chai';
import { RuneClient } from '../../client/api/rune-client.js';
import type { Run, RunEvent } from '../../shared/gen/rune/v1/run.js';
import type { DeepPartial, WatchRunsRequest } from '../../shared/gen/rune/v1/run_service.js';
import { aJob, aNamespace } from '../support/builders.js';
import { expectRuneError } from '../support/expect-rune-error.js';
import { eventually } from '../support/procs.js';
import { startTestRuned, type TestRuned } from '../support/test-runed.js';

describe('jobs and runs API (real gRPC, orchestrator off)', function () {
  this.timeout(30_000);
  let t: TestRuned;
  let client: RuneClient;

  before(async () => {
    t = await startTestRuned({ orchestrator: { enabled: false } });
    client = new RuneClient({ server: t.runed.grpcAddr, token: t.token });
    for (const name of ['dev', 'ops']) await client.createNamespace({ namespace: aNamespace({ name }) });
  });
  after(async () => {
    client.close();
    await t.stop();
  });

  /** What the run controller would write: a new phase and what the change was. */
  async function setPhase(run: Run, phase: string, lastChange: string, extra: Partial<NonNullable<Run['status']>> = {}): Promise<Run> {
    const current = (await client.getRun({ namespace: run.metadata!.namespace, id: run.metadata!.name })).run!;
    return t.runed.store.update<Run>('runs', { ...current, status: { ...current.status!, phase, lastChange, ...extra } });
  }

  describe('jobs', () => {
    it('rejects an invalid cron expression, naming the field and the expression, and writes nothing', async () => {
      const before = t.runed.store.revision;
      const err = await expectRuneError(client.castJob({ job: aJob({ name: 'bad-cron', schedule: '61 * * * *' }) }), 'INVALID_ARGUMENT');
      expect(err.message).to.contain('schedule').and.to.contain('61 * * * *');
      expect(err.violations.map((v) => v.field)).to.include('schedule');
      expect(t.runed.store.revision).to.equal(before);
      await expectRuneError(client.getJob({ namespace: 'dev', name: 'bad-cron' }), 'NOT_FOUND');
    });

    it('rejects a cron expression of the wrong length and an unknown time zone', async () => {
      const fields = await expectRuneError(client.castJob({ job: aJob({ name: 'short', schedule: '* * * *' }) }), 'INVALID_ARGUMENT');
      expect(fields.message).to.contain('has 4 fields');
      const zone = await expectRuneError(client.castJob({ job: aJob({ name: 'zone', schedule: '0 3 * * *', timezone: 'Mars/Olympus' }) }), 'INVALID_ARGUMENT');
      expect(zone.violations.map((v) => v.field)).to.deep.equal(['timezone']);
      expect(zone.message).to.contain('Mars/Olympus');
    });

    it('casts with apply semantics and defaults, and lists and gets jobs', async () => {
      const first = await client.castJob({ job: aJob({ name: 'nightly', schedule: '0 3 * * *', timezone: 'Europe/Paris' }) });
      expect(first.result).to.equal('created');
      expect(first.job!.spec!.concurrencyPolicy).to.equal('Allow');
      expect(first.job!.spec!.backoffLimit).to.equal(6);
      expect(first.job!.spec!.successfulRunsHistoryLimit).to.equal(3);
      const again = await client.castJob({ job: aJob({ name: 'nightly', schedule: '0 3 * * *', timezone: 'Europe/Paris' }) });
      expect(again.result).to.equal('unchanged');
      const changed = await client.castJob({ job: aJob({ name: 'nightly', schedule: '0 4 * * *', timezone: 'Europe/Paris' }) });
      expect(changed.result).to.equal('updated');
      expect(changed.job!.metadata!.generation).to.equal(2);
      const listed = await client.listJobs({ namespace: 'dev' });
      expect(listed.jobs.map((j) => j.metadata!.name)).to.include('nightly');
      expect((await client.getJob({ namespace: 'dev', name: 'nightly' })).job!.spec!.schedule).to.equal('0 4 * * *');
    });

    it('refuses a job in a namespace that does not exist', async () => {
      await expectRuneError(client.castJob({ job: aJob({ name: 'x', namespace: 'nowhere' }) }), 'NOT_FOUND');
    });
  });

  describe('runs', () => {
    before(async () => {
      await client.castJob({ job: aJob({ name: 'build' }) });
      await client.castJob({ job: aJob({ name: 'test' }) });
    });

    it('starts a run on demand with env overrides, and refuses a bad variable name or an unknown job', async () => {
      const { run } = await client.startRun({ namespace: 'dev', job: 'build', env: { TARGET: 'prod' } });
      expect(run!.metadata!.name).to.match(/^[0-9a-hjkmnp-tv-z]{26}$/);
      expect(run!.spec!.job).to.equal('build');
      expect(run!.spec!.source).to.equal('local');
      expect(run!.spec!.trigger).to.equal('manual');
      expect(run!.spec!.env).to.deep.equal({ TARGET: 'prod' });
      expect(run!.spec!.template!.command).to.equal('/usr/bin/true');
      expect(run!.status!.phase).to.equal('pending');
      const bad = await expectRuneError(client.startRun({ namespace: 'dev', job: 'build', env: { '1BAD': 'x' } }), 'INVALID_ARGUMENT');
      expect(bad.violations[0]!.field).to.equal('env["1BAD"]');
      await expectRuneError(client.startRun({ namespace: 'dev', job: 'nope' }), 'NOT_FOUND');
    });

    it('lists runs newest first, filtered by job and status, page by page', async () => {
      const made: string[] = [];
      for (let i = 0; i < 5; i++) made.push((await client.startRun({ namespace: 'dev', job: 'test' })).run!.metadata!.name);
      await setPhase((await client.getRun({ namespace: 'dev', id: made[1]! })).run!, 'failed', 'finished');

      const page1 = await client.listRuns({ namespace: 'dev', filter: { job: 'test' }, options: { limit: 3 } });
      expect(page1.runs.map((r) => r.metadata!.name)).to.deep.equal([made[4], made[3], made[2]]);
      expect(page1.listMeta!.continueToken).to.not.equal('');
      const page2 = await client.listRuns({ namespace: 'dev', filter: { job: 'test' }, options: { limit: 3, continueToken: page1.listMeta!.continueToken } });
      expect(page2.runs.map((r) => r.metadata!.name)).to.deep.equal([made[1], made[0]]);
      expect(page2.listMeta!.continueToken).to.equal('');

      const failed = await client.listRuns({ namespace: 'dev', filter: { status: ['failed'] } });
      expect(failed.runs.map((r) => r.metadata!.name)).to.deep.equal([made[1]]);
      const bad = await expectRuneError(client.listRuns({ namespace: 'dev', filter: { status: ['done'] } }), 'INVALID_ARGUMENT');
      expect(bad.message).to.contain('filter.status[0]').and.to.contain('finished');
      const none = await client.listRuns({ namespace: 'dev', filter: { source: 'cluster-a' } });
      expect(none.runs).to.have.length(0);
    });

    it('cancels an active run once, refuses to cancel an ended one, and deletes only ended runs', async () => {
      const { run } = await client.startRun({ namespace: 'dev', job: 'build' });
      const id = run!.metadata!.name;
      await expectRuneError(client.deleteRun({ namespace: 'dev', id }), 'FAILED_PRECONDITION');
      const cancelled = await client.cancelRun({ namespace: 'dev', id, reason: 'not needed' });
      expect(cancelled.run!.spec!.cancelRequested).to.equal(true);
      expect(cancelled.run!.spec!.cancelReason).to.equal('not needed');
      await setPhase(cancelled.run!, 'cancelled', 'finished');
      await expectRuneError(client.cancelRun({ namespace: 'dev', id }), 'FAILED_PRECONDITION');
      await client.deleteRun({ namespace: 'dev', id });
      await expectRuneError(client.getRun({ namespace: 'dev', id }), 'NOT_FOUND');
    });
  });

  describe('WatchRuns', () => {
    before(async () => {
      await client.castJob({ job: aJob({ name: 'etl', namespace: 'ops' }) });
      await client.castJob({ job: aJob({ name: 'report', namespace: 'ops' }) });
    });

    /** Reads a WatchRuns stream in the background. */
    function watch(request: DeepPartial<WatchRunsRequest>) {
      const stop = new AbortController();
      const events: RunEvent[] = [];
      const marks: { revision: number; historyEnd: boolean }[] = [];
      let failure: unknown;
      const done = (async () => {
        try {
          for await (const message of client.watchRuns(request, { signal: stop.signal })) {
            events.push(...message.events);
            marks.push({ revision: message.revision, historyEnd: message.historyEnd });
          }
        } catch (err) {
          failure = err;
        }
      })();
      return {
        events,
        marks,
        get failure() {
          return failure;
        },
        until: (what: string, predicate: () => boolean) => eventually(what, () => (failure ? Promise.reject(failure) : predicate()), 10_000),
        close: async () => {
          stop.abort();
          await done;
        },
      };
    }

    it('sends the last N matching events first, then live events, with their types', async () => {
      const a = (await client.startRun({ namespace: 'ops', job: 'etl' })).run!;
      await setPhase(a, 'running', 'updated');
      await setPhase(a, 'running', 'progress', { progress: { finished: 1, total: 4 }, currentTask: 'extract' });
      const b = (await client.startRun({ namespace: 'ops', job: 'report' })).run!;
      await setPhase(a, 'finished', 'finished');

      const w = watch({ namespace: 'ops', filter: { job: 'etl' }, includeHistory: 3 });
      await w.until('history end', () => w.marks.some((m) => m.historyEnd));
      expect(w.events.map((e) => e.type)).to.deep.equal(['run:updated', 'run:progress', 'run:finished']);
      expect(w.events.every((e) => e.run!.spec!.job === 'etl')).to.equal(true);
      const revisions = w.events.map((e) => e.revision);
      expect(revisions).to.deep.equal([...revisions].sort((x, y) => x - y));
      expect(w.events[1]!.run!.status!.progress).to.include({ finished: 1, total: 4 });

      const c = (await client.startRun({ namespace: 'ops', job: 'etl' })).run!;
      await client.startRun({ namespace: 'ops', job: 'report' }); // filtered out
      await setPhase(c, 'blocked', 'progress', { message: 'waiting for approval' });
      await w.until('live events', () => w.events.length === 5);
      expect(w.events.slice(3).map((e) => [e.type, e.run!.metadata!.name, e.run!.status!.phase])).to.deep.equal([
        ['run:added', c.metadata!.name, 'pending'],
        ['run:progress', c.metadata!.name, 'blocked'],
      ]);
      await t.runed.store.update<Run>('runs', { ...(await client.getRun({ namespace: 'ops', id: c.metadata!.name })).run!, status: { ...c.status!, phase: 'cancelled', lastChange: 'finished' } });
      await t.runed.store.delete('runs', 'ops', c.metadata!.name);
      await w.until('deleted', () => w.events.some((e) => e.type === 'run:deleted'));
      expect(w.events.at(-1)!.run!.metadata!.name).to.equal(c.metadata!.name);
      expect(b.spec!.job).to.equal('report');
      await w.close();
    });

    it('filters by status set and by source, and "*" selects every source', async () => {
      const finishedOnly = watch({ namespace: 'ops', filter: { status: ['finished', 'failed'] } });
      const otherSource = watch({ namespace: 'ops', filter: { source: 'cluster-a' } });
      const anySource = watch({ namespace: '*', filter: { source: '*', job: 'report' } });
      await Promise.all([finishedOnly, otherSource, anySource].map((w) => w.until('started', () => w.marks.length > 0)));
      const r = (await client.startRun({ namespace: 'ops', job: 'report' })).run!;
      await setPhase(r, 'running', 'updated');
      await setPhase(r, 'failed', 'finished');
      await finishedOnly.until('the failed event', () => finishedOnly.events.length === 1);
      expect(finishedOnly.events[0]!.run!.status!.phase).to.equal('failed');
      await anySource.until('all three', () => anySource.events.length === 3);
      expect(otherSource.events).to.have.length(0);
      for (const w of [finishedOnly, otherSource, anySource]) await w.close();
    });

    it('resumes from a revision without losing or repeating an event', async () => {
      const first = watch({ namespace: 'ops', filter: { job: 'etl' } });
      await first.until('started', () => first.marks.length > 0);
      const runs: Run[] = [];
      for (let i = 0; i < 3; i++) runs.push((await client.startRun({ namespace: 'ops', job: 'etl' })).run!);
      await first.until('3 events', () => first.events.length === 3);
      await first.close();
      const last = first.events.at(-1)!.revision;
      // Changes while nobody watches.
      for (const run of runs) await setPhase(run, 'finished', 'finished');
      const resumed = watch({ namespace: 'ops', filter: { job: 'etl' }, fromRevision: last, includeHistory: 50 });
      await resumed.until('the missed events', () => resumed.events.length === 3);
      const seen = [...first.events, ...resumed.events].map((e) => e.revision);
      expect(new Set(seen).size).to.equal(seen.length);
      expect(resumed.events.map((e) => e.type)).to.deep.equal(['run:finished', 'run:finished', 'run:finished']);
      expect(resumed.events.every((e) => e.revision > last)).to.equal(true);
      await resumed.close();
    });

    it('refuses bad arguments, naming the field', async () => {
      const err = await expectRuneError(
        (async () => {
          for await (const _ of client.watchRuns({ namespace: 'ops', includeHistory: -1 })) break;
        })(),
        'INVALID_ARGUMENT',
      );
      expect(err.message).to.contain('includeHistory');
      const status = await expectRuneError(
        (async () => {
          for await (const _ of client.watchRuns({ namespace: 'ops', filter: { status: ['asleep'] } })) break;
        })(),
        'INVALID_ARGUMENT',
      );
      expect(status.message).to.contain('filter.status[0]');
    });

    it('delivers every event to 200 concurrent watchers', async function () {
      this.timeout(60_000);
      const watchers = Array.from({ length: 200 }, () => watch({ namespace: 'ops', filter: { job: 'report' } }));
      await Promise.all(watchers.map((w) => w.until('started', () => w.marks.length > 0)));
      const ids: string[] = [];
      for (let i = 0; i < 10; i++) ids.push((await client.startRun({ namespace: 'ops', job: 'report' })).run!.metadata!.name);
      await Promise.all(watchers.map((w) => w.until('10 events', () => w.events.length >= 10)));
      for (const w of watchers) {
        expect(w.events.map((e) => e.run!.metadata!.name)).to.deep.equal(ids);
        expect(w.failure).to.equal(undefined);
      }
      await Promise.all(watchers.map((w) => w.close()));
    });
  });
});
