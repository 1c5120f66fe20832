/**
 * `rune runs ...` as a real child process (node + tsx on the sources) against an in-process
 * runed: a job that reports progress through $RUNE_STATUS_FILE, `rune runs watch -o json`
 * following it across a runed restart on the same data dir and address, and the other runs
 * subcommands on the runs it made.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { RunEventRecord } from '../../client/cli/output/run-printers.js';
import { CliProcesses, cliEnv } from '../support/cli-process.js';
import { startTestRuned, type TestRuned } from '../support/test-runed.js';


/** A job of three steps, each reported through $RUNE_STATUS_FILE, then a line of output. */
const JOB = `job:
  name: steps
  command: sh
  args:
    - -c
    - |
      for i in 1 2 3; do
        printf '{"phase":"running","currentTask":"step %s","progress":{"finished":%s,"total":3}}' $i $i > "$RUNE_STATUS_FILE"
        echo "did step $i"
        sleep 0.4
      done
`;

describe('rune runs end to end (in-process runed)', function () {
  this.timeout(90_000);
  let t: TestRuned;
  let dataDir: string;
  let work: string;
  const cli = new CliProcesses();

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'runed-runs-e2e-'));
    work = await mkdtemp(join(tmpdir(), 'rune-runs-e2e-'));
    t = await startTestRuned({ dataDir });
    await writeFile(join(work, 'job.yml'), JOB);
  });

  after(async () => {
    cli.killAll();
    await t?.stop();
    await rm(work, { recursive: true, force: true });
  });

  /** The CLI pointed at the in-process runed by RUNE_SERVER/RUNE_TOKEN, with no config file. */
  const env = () => cliEnv(t.home, { RUNE_SERVER: t.runed.grpcAddr, RUNE_TOKEN: t.token, RUNE_CONFIG: undefined });
  const start = (args: string[]) => {
    const run = cli.start(args, env(), { stdin: 'ignore' });
    return { process: run.child, stdout: run.stdout, stderr: run.stderr, exited: run.result.then((r) => r.code) };
  };
  const rune = (args: string[]) => cli.start(args, env(), { stdin: 'ignore' }).result;

  /** Polls until `ready()` holds (what a test waits for, never what it asserts); fails with `what` after 30 s. */
  async function until(what: string, ready: () => boolean): Promise<void> {
    const deadline = Date.now() + 30_000;
    while (!ready()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  const records = (ndjson: string): RunEventRecord[] =>
    ndjson
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as RunEventRecord);
  const finished = (out: string, id?: string) => records(out).some((r) => r.type === 'run:finished' && (id === undefined || r.id === id));

  it('watch -o json follows a job\'s runs across a runed restart: every event once, in order, none lost', async () => {
    // --history makes the watcher independent of when it connects: events before are replayed.
    const watcher = start(['runs', 'watch', '-o', 'json', '--history', '1000']);
    const cast = await rune(['cast', join(work, 'job.yml'), '--detach']);
    expect(cast.code, cast.stderr).to.equal(0);
    expect(cast.stdout).to.include('job/steps created');
    await until('the first run to finish', () => finished(watcher.stdout()));

    const first = records(watcher.stdout());
    const id1 = first.find((r) => r.type === 'run:added')!.id;
    const ofFirst = first.filter((r) => r.id === id1);
    expect(ofFirst[0]).to.include({ type: 'run:added', job: 'steps', namespace: 'default', source: 'local', status: 'pending' });
    expect(ofFirst.at(-1)).to.include({ type: 'run:finished', status: 'finished', reason: 'Completed' });
    expect(ofFirst.at(-1)!.progress).to.deep.equal({ finished: 3, total: 3 });
    expect(ofFirst.filter((r) => r.type === 'run:progress').map((r) => r.currentTask)).to.include('step 2');

    // runed goes away and comes back on the same data dir and address; the watcher resumes by itself.
    const address = t.runed.grpcAddr;
    await t.runed.stop();
    const before = t;
    t = await startTestRuned({ dataDir, grpcAddr: address });
    await rm(before.home, { recursive: true, force: true });
    await until('the watcher to notice', () => watcher.stderr().includes('reconnecting'));
    const started = await rune(['runs', 'start', 'steps', '--env', 'EXTRA=1']);
    expect(started.code, started.stderr).to.equal(0);
    const id2 = /^run\/(\S+) started$/m.exec(started.stdout)?.[1];
    expect(id2, started.stdout).to.be.a('string');
    await until('the second run to finish', () => finished(watcher.stdout(), id2));

    // What the resumed watcher printed equals a fresh replay of the retained history: no duplicate, no gap.
    const seen = records(watcher.stdout());
    const revisions = seen.map((r) => r.revision);
    expect(revisions).to.deep.equal([...new Set(revisions)].sort((a, b) => a - b));
    const replay = start(['runs', 'watch', '-o', 'json', '--history', '1000']);
    await until('the replay to reach the last event', () => records(replay.stdout()).some((r) => r.revision >= revisions.at(-1)!));
    replay.process.kill('SIGINT');
    watcher.process.kill('SIGINT');
    expect(await watcher.exited).to.equal(0); // Ctrl-C ends a watch with 0, like logs -f
    expect(await replay.exited).to.equal(0);
    const replayed = records(replay.stdout()).filter((r) => r.revision <= revisions.at(-1)!);
    expect(replayed.map((r) => r.revision)).to.deep.equal(revisions);
    expect(seen.filter((r) => r.id === id2).map((r) => r.type)).to.include.members(['run:added', 'run:progress', 'run:finished']);
  });

  it('--help and shell completion offer the runs commands and the jobs resource', async () => {
    const help = await rune(['--help']);
    expect(help.stdout).to.match(/^ {2}rune runs\s+Runs of jobs/m);
    const subcommands = await rune(['--get-yargs-completions', 'rune', 'runs', '']);
    expect(subcommands.stdout.split('\n').filter(Boolean)).to.deep.equal(['list', 'show', 'watch', 'start', 'cancel', 'delete', 'logs']);
    const kinds = await rune(['--get-yargs-completions', 'rune', 'describe', 'j']);
    expect(kinds.stdout.split('\n').filter(Boolean)).to.deep.equal(['jobs', 'job']);
    const watchHelp = await rune(['runs', 'watch', '--help']);
    expect(watchHelp.stdout).to.include('--history').and.include('Exit codes: 0 when Ctrl-C ends it');
  });

  it('list, show, logs, start --wait, cancel and delete on the runs made', async () => {
    const list = await rune(['runs', 'list', '--job', 'steps', '--status', 'finished']);
    expect(list.code, list.stderr).to.equal(0);
    const lines = list.stdout.trimEnd().split('\n');
    expect(lines[0]!.split(/\s{3,}/)).to.deep.equal(['ID', 'JOB', 'STATUS', 'PROGRESS', 'TASK', 'ATTEMPTS', 'STARTED', 'DURATION']);
    expect(lines).to.have.length.of.at.least(3);
    const [id, job, status, progress, task] = lines[1]!.split(/\s{3,}/);
    expect([job, status, progress, task]).to.deep.equal(['steps', 'finished', '3/3 ██████████', 'step 3']);

    const show = await rune(['runs', 'show', `run/${id}`]);
    expect(show.code, show.stderr).to.equal(0);
    expect(show.stdout).to.match(/^Status:\s+finished$/m);
    expect(show.stdout).to.match(/^Progress:\s+3\/3 █+$/m);
    expect(show.stdout).to.match(/^ {2}1\s+\d+\s+\S+\s+\S+\s+0\s+Completed$/m);
    expect(show.stdout).to.match(/^Last 10 Log Lines:\n {2}did step 1\n {2}did step 2\n {2}did step 3\n/m);

    const logs = await rune(['runs', 'logs', id!, '--tail', '1']);
    expect(logs).to.include({ code: 0, stdout: 'did step 3\n' });

    const jobs = await rune(['get', 'jobs']);
    expect(jobs.stdout.split('\n')[1]!.split(/\s{3,}/).slice(0, 4)).to.deep.equal(['steps', '<none>', 'False', '0']);

    const waited = await rune(['runs', 'start', 'steps', '--wait']);
    expect(waited.code, waited.stderr).to.equal(0);
    expect(waited.stdout).to.match(/^run\/\S+ started\n/);
    expect(waited.stdout).to.match(/finished \(Completed\)/);

    const none = await rune(['runs', 'cancel', 'nosuchrun']);
    expect(none.code).to.equal(1);
    expect(none.stderr).to.include('nosuchrun');

    const deleted = await rune(['runs', 'delete', id!]);
    expect(deleted).to.include({ code: 0, stdout: `run/${id} deleted\n` });
    const badStatus = await rune(['runs', 'list', '--status', 'done']);
    expect(badStatus.code).to.equal(2);
    expect(badStatus.stderr).to.include('"done" is not a run phase');

    const removed = await rune(['delete', 'job', 'steps']);
    expect(removed).to.include({ code: 0, stdout: 'job/steps deleted\n' });
  });
});
