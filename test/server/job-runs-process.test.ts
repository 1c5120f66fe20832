/**
 * Runs survive kill -9 of a real runed process: restarted on the same data dir, runed adopts the
 * run still in flight and records its real exit code (read from the attempt's exit file, since
 * the process is not its child), and fails the run whose process was killed meanwhile with
 * ProcessVanished.
 */
import * as grpc from '@grpc/grpc-js';
import { expect } from 'chai';
import { readdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Job } from '../../shared/gen/rune/v1/job.js';
import { JobServiceClient } from '../../shared/gen/rune/v1/job_service.js';
import type { Run } from '../../shared/gen/rune/v1/run.js';
import { RunServiceClient } from '../../shared/gen/rune/v1/run_service.js';
import { aNamespace } from '../support/builders.js';
import { alive, environOf, eventually } from '../support/procs.js';
import { startRunedProcess, type RunedProcess } from '../support/runed-process.js';
import { auth, call, clients } from '../support/test-runed.js';

describe('runs across kill -9 of runed (real runed process)', function () {
  this.timeout(90_000);
  const ns = `jobs-adopt-${process.pid}`;
  let first: RunedProcess | undefined;
  let second: RunedProcess | undefined;

  const runPids = () =>
    readdirSync('/proc')
      .map(Number)
      .filter((pid) => Number.isInteger(pid) && alive(pid) && environOf(pid).RUNE_NAMESPACE === ns && environOf(pid).RUNE_RUN);

  after(async () => {
    for (const pid of runPids()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    await second?.stop();
    await first?.kill();
    await first?.cleanup();
  });

  function api(runed: RunedProcess) {
    const creds = grpc.credentials.createInsecure();
    const c = { ...clients(runed.grpcAddr), jobs: new JobServiceClient(runed.grpcAddr, creds), runs: new RunServiceClient(runed.grpcAddr, creds) };
    const md = auth(runed.token);
    return {
      md,
      c,
      job: (name: string, command: string, args: string[]) =>
        call(c.jobs, c.jobs.castJob, { job: Job.fromPartial({ metadata: { name, namespace: ns }, spec: { runtime: 'process', schedule: '0 0 1 1 *', suspend: true, command, args, backoffLimit: 0 } }), dryRun: false }, md),
      start: async (job: string) => (await call(c.runs, c.runs.startRun, { namespace: ns, job, env: {} }, md)).run!.metadata!.name,
      get: async (id: string): Promise<Run> => (await call(c.runs, c.runs.getRun, { namespace: ns, id }, md)).run!,
      close: () => {
        c.close();
        c.jobs.close();
        c.runs.close();
      },
    };
  }

  it('adopts the run in flight and records its exit code; fails the one killed meanwhile (ProcessVanished)', async () => {
    first = await startRunedProcess();
    const a1 = api(first);
    await call(a1.c.namespaces, a1.c.namespaces.createNamespace, { namespace: aNamespace({ name: ns }) }, a1.md);
    await a1.job('keep', 'sh', ['-c', 'while [ ! -e "$RUNE_STATUS_FILE.go" ]; do sleep 0.05; done; exit 5']);
    await a1.job('victim', 'sleep', ['300']);
    const keep = await a1.start('keep');
    const victim = await a1.start('victim');
    const pidOf = async (id: string) =>
      eventually(`run ${id} to run`, async () => {
        const pid = (await a1.get(id)).status?.attempts[0]?.pid;
        return pid && alive(pid) ? pid : undefined;
      });
    const keepPid = await pidOf(keep);
    const victimPid = await pidOf(victim);
    a1.close();

    await first.kill(); // kill -9: no shutdown code runs
    expect(alive(keepPid) && alive(victimPid), 'runs outlive runed').to.equal(true);
    process.kill(-victimPid, 'SIGKILL'); // the whole group dies while runed is down
    await eventually('the victim to die', () => !alive(victimPid));

    second = await startRunedProcess({ dataDir: first.dataDir, home: first.home });
    const a2 = api(second);
    try {
      const vanished = await eventually('the victim run to fail', async () => {
        const run = await a2.get(victim);
        return run.status?.phase === 'failed' ? run : undefined;
      }, 30_000);
      expect(vanished.status).to.deep.include({ reason: 'ProcessVanished' });
      expect(vanished.status!.message).to.match(/disappeared while runed was down/);

      await new Promise((r) => setTimeout(r, 500));
      expect((await a2.get(keep)).status!.phase, 'still running after the restart').to.equal('running');
      await writeFile(join(first.dataDir, 'runs', ns, keep, 'status.json.go'), '');
      const ended = await eventually('the kept run to end', async () => {
        const run = await a2.get(keep);
        return run.status?.phase === 'failed' || run.status?.phase === 'finished' ? run : undefined;
      }, 30_000);
      expect(ended.status!.attempts).to.have.length(1);
      expect(ended.status!.attempts[0]).to.deep.include({ pid: keepPid, exitCode: 5, reason: 'Failed' });
      expect(ended.status).to.deep.include({ phase: 'failed', reason: 'BackoffLimitExceeded' });
      expect(runPids()).to.deep.equal([]);
    } finally {
      a2.close();
    }
    expect(await second.stop()).to.equal(0);
  });
});
