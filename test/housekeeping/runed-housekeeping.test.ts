/**
 * Housekeeping in a running runed: event-log compaction runs as a task (not on the store's own
 * timer), the logs of instances deleted while runed was down are removed, each task's runs
 * show in /metrics and in `runed status` (a real `runed start` / `runed status` process).
 */
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { Run } from '../../shared/gen/rune/v1/run.js';
import { runRuned } from '../daemon/runed-cli.js';
import { aNamespace } from '../support/builders.js';
import { eventually, killProcessesUnder } from '../support/procs.js';
import { startTestRuned } from '../support/test-runed.js';

describe('housekeeping in runed', function () {
  this.timeout(60_000);

  it('compacts the event log as a housekeeping task, counted in /metrics', async () => {
    const t = await startTestRuned({ orchestrator: { enabled: false }, store: { retainEvents: 1, retainMs: 0, compactEveryMs: 50 } });
    try {
      for (let i = 0; i < 5; i++) await t.runed.store.create('runs', Run.fromPartial({ metadata: { name: `r${i}`, namespace: 'default' }, spec: { job: 'j' }, status: { phase: 'pending' } }));
      await eventually('compaction', () => t.runed.store.compactedRevision >= t.runed.store.revision - 1, 10_000);
      // The task's bookkeeping is written when its run returns, a moment after the log shrank.
      const task = await eventually('the task recorded', () => t.runed.housekeeping.status().find((s) => s.name === 'event-log-compaction' && s.runs >= 1), 10_000);
      expect(task.runs).to.be.at.least(1);
      expect(task.failures).to.equal(0);
      const metrics = await t.runed.metrics.metrics();
      expect(metrics).to.match(/rune_housekeeping_runs_total\{task="event-log-compaction",result="ok"\} [1-9]/);
      expect(metrics).to.match(/rune_housekeeping_runs_total\{task="log-file-cleanup",result="error"\} 0/);
      expect(metrics).to.match(/rune_housekeeping_last_run_timestamp_seconds\{task="event-log-compaction"\} \d/);
      expect(metrics).to.match(/rune_housekeeping_duration_seconds_count\{task="event-log-compaction"\} [1-9]/);
    } finally {
      await t.stop();
    }
  });

  it('with compactEveryMs 0 there is no compaction task and the log is kept', async () => {
    const t = await startTestRuned({ orchestrator: { enabled: false }, store: { retainEvents: 1, retainMs: 0, compactEveryMs: 0 } });
    try {
      expect(t.runed.housekeeping.status().map((s) => s.name)).to.not.include('event-log-compaction');
      for (let i = 0; i < 3; i++) await t.runed.store.create('runs', Run.fromPartial({ metadata: { name: `r${i}`, namespace: 'default' }, spec: { job: 'j' }, status: { phase: 'pending' } }));
      await new Promise((r) => setTimeout(r, 200));
      expect(t.runed.store.compactedRevision).to.equal(0);
    } finally {
      await t.stop();
    }
  });

  it('removes the logs of instances that were deleted while runed was down', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'runed-hk-'));
    const orphan = join(dataDir, 'logs', 'default', 'gone-1.log');
    await mkdir(join(orphan, '..'), { recursive: true });
    const old = new Date(Date.now() - 3_600_000);
    for (const f of [orphan, `${orphan}.1`, `${orphan}.idx`]) {
      await writeFile(f, 'bye\n');
      await utimes(f, old, old);
    }
    const t = await startTestRuned({ dataDir, housekeeping: { logCleanupFirstRunMs: 0, logCleanupEveryMs: 60_000 } });
    try {
      await eventually('the cleanup ran', () => t.runed.housekeeping.status().find((s) => s.name === 'log-file-cleanup')?.lastRun);
      const task = t.runed.housekeeping.status().find((s) => s.name === 'log-file-cleanup')!;
      expect(task.lastRun).to.include({ result: 'ok', message: 'removed 1 instance log (3 files scanned) and 0 run folders' });
      expect(await readdir(join(dataDir, 'logs', 'default'))).to.deep.equal([]);
    } finally {
      await t.stop();
    }
  });

  it('runs the job controller\'s cleanUpRuns as run-cleanup: an ended run of a job that is gone is deleted', async () => {
    const t = await startTestRuned({ housekeeping: { runCleanupEveryMs: 3_600_000 } });
    try {
      await t.runed.store.create('namespaces', aNamespace({ name: 'hk' }));
      const orphan = await t.runed.store.create<Run>('runs', Run.fromPartial({ metadata: { name: '01jorphan', namespace: 'hk' }, spec: { job: 'gone', source: 'local' }, status: { phase: 'finished', lastChange: 'finished' } }));
      await eventually('the orchestrator sees the run', () => t.runed.orchestrator!.runs.get('hk', orphan.metadata!.name));
      const status = await t.runed.housekeeping.runNow('run-cleanup');
      expect(status.lastRun?.result).to.equal('ok');
      expect(status.lastRun?.message).to.match(/^deleted [01] runs?$/); // 0 when the job controller got there first
      await eventually('the orphan is deleted', async () => (await t.runed.store.get('runs', 'hk', orphan.metadata!.name)) === undefined);
    } finally {
      await t.stop();
    }
  });

  it('runed status shows each task with its last and next run (text and JSON)', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'runed-hk-status-'));
    const home = await mkdtemp(join(tmpdir(), 'runed-hk-home-'));
    const flags = ['--data-dir', dataDir, '--grpc-addr', '127.0.0.1:0', '--http-addr', '127.0.0.1:0'];
    try {
      const started = await runRuned(['start', ...flags], { home });
      expect(started.code, started.stderr).to.equal(0);
      const json = await runRuned(['status', '-o', 'json', ...flags], { home });
      expect(json.code).to.equal(0);
      const status = JSON.parse(json.stdout) as { eventSocket: string; live: { pid: number; revision: number; housekeeping: { name: string; nextRunAt: string }[] } };
      expect(status.eventSocket).to.equal(join(dataDir, 'runed.sock'));
      expect(status.live.revision).to.be.above(0);
      expect(status.live.housekeeping.map((h) => h.name)).to.deep.equal(['event-log-compaction', 'log-file-cleanup', 'run-cleanup']);
      expect(Date.parse(status.live.housekeeping[0]!.nextRunAt)).to.be.above(Date.now() - 5000);
      const text = await runRuned(['status', ...flags], { home });
      expect(text.stdout).to.match(/housekeeping:\n\s+event-log-compaction\s+every 30s\s+not run yet; next in \d+s\n\s+log-file-cleanup\s+every 10m0s\s+not run yet; next in (\d+m)?\d+s\n\s+run-cleanup\s+every 30s\s+not run yet; next in/);
      expect(text.stdout).to.contain(`  sock  ${join(dataDir, 'runed.sock')} (connections: 1, subscribed: 0)`);
      expect(text.stdout).to.match(/store revision \d+, events retained after revision \d+/);
    } finally {
      await runRuned(['stop', ...flags], { home });
      killProcessesUnder(dataDir);
      await rm(dataDir, { recursive: true, force: true });
      await rm(home, { recursive: true, force: true });
    }
  });
});
