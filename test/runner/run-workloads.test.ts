/**
 * The process runner's support for job runs (StartRequest kind 'run', logPath, exitFile): the
 * exit-status wrapper against real processes. afterEach SIGKILLs every group a test started.
 */
import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProcessRunner } from '../../server/runner/process-runner.js';
import { processGroupMembers } from '../../server/runner/proc.js';
import type { ExitInfo, StartRequest } from '../../server/runner/runner.js';
import { alive, environOf, eventually } from '../support/procs.js';

let serial = 0;

describe('process runner: job runs', function () {
  this.timeout(20_000);
  let dataDir: string;
  let runner: ProcessRunner;
  let exits: { id: string; exit: ExitInfo }[];
  const started: number[] = [];

  /** A run attempt of job "j": fresh run id, its own log and exit file. */
  function aRunRequest(script: string): StartRequest & { exitFile: string; logPath: string } {
    const id = `01run${process.pid}x${++serial}`;
    return {
      kind: 'run',
      namespace: 'dev',
      service: 'j',
      instance: id,
      command: 'sh',
      args: ['-c', script],
      workingDir: '',
      env: { RUNE_ATTEMPT: '1' },
      ports: [],
      memoryLimitBytes: 0,
      logPath: join(dataDir, 'runs', 'dev', id, 'output.log'),
      exitFile: join(dataDir, 'runs', 'dev', id, 'exit-1'),
    };
  }

  async function start(request: StartRequest) {
    const result = await runner.start(request);
    started.push(result.pid);
    return result;
  }

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'runner-runs-'));
    runner = new ProcessRunner({ dataDir, pollMs: 50 });
    exits = [];
    runner.onExit((id, exit) => exits.push({ id, exit }));
  });
  afterEach(async () => {
    for (const pid of started.splice(0)) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    await runner.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('sets RUNE_JOB and RUNE_RUN (not RUNE_SERVICE/RUNE_INSTANCE), logs to the given file, writes the exit status', async () => {
    const request = aRunRequest('echo "job=$RUNE_JOB run=$RUNE_RUN service=${RUNE_SERVICE:-unset} instance=${RUNE_INSTANCE:-unset}"; exit 7');
    const result = await start(request);
    expect(result.logPath).to.equal(request.logPath);
    await eventually('the exit', () => exits.find((e) => e.id === request.instance));
    expect(exits.find((e) => e.id === request.instance)!.exit.code, 'the wrapper exits with the command status').to.equal(7);
    expect(readFileSync(request.exitFile, 'utf8').trim()).to.equal('7');
    expect(await readFile(request.logPath, 'utf8')).to.equal(`job=j run=${request.instance} service=unset instance=unset\n`);
  });

  it('a command killed by a signal is recorded as 128+N', async () => {
    const request = aRunRequest('kill -9 $$');
    await start(request);
    await eventually('the exit file', () => existsSync(request.exitFile) && readFileSync(request.exitFile, 'utf8').trim() === '137');
  });

  it('a stop signals the group; the wrapper waits for the command and records its own status', async () => {
    // The command takes its time to shut down on SIGTERM, then exits 9.
    const request = aRunRequest('trap "sleep 0.3; exit 9" TERM; sleep 30 & wait');
    const result = await start(request);
    await eventually('the command to run', () => processGroupMembers(result.pid).length >= 3);
    const exit = await runner.stop(request.instance, result, { signal: 'SIGTERM', timeoutMs: 5000 });
    expect(exit.code).to.equal(9);
    expect(readFileSync(request.exitFile, 'utf8').trim()).to.equal('9');
    await eventually('the group to be gone', () => processGroupMembers(result.pid).length === 0);
  });

  it('the command does not inherit ignored stop signals from the wrapper', async () => {
    const request = aRunRequest('sleep 30');
    const result = await start(request);
    const sleeper = await eventually('the sleep', () => processGroupMembers(result.pid).find((pid) => pid !== result.pid));
    process.kill(sleeper, 'SIGTERM'); // the command alone: it dies, the wrapper records 143
    await eventually('the exit file', () => existsSync(request.exitFile) && readFileSync(request.exitFile, 'utf8').trim() === '143');
    await eventually('the wrapper to exit', () => !alive(result.pid));
  });

  it('find({kind: run}) finds the wrapper by RUNE_RUN, with the given log path', async () => {
    const request = aRunRequest('sleep 30');
    const result = await start(request);
    expect(environOf(result.pid).RUNE_RUN).to.equal(request.instance);
    const found = runner.find('dev', request.instance, { kind: 'run', logPath: request.logPath });
    expect(found).to.deep.equal({ pid: result.pid, startTime: result.startTime, logPath: request.logPath });
    expect(runner.find('dev', request.instance), 'not an instance of that name').to.equal(undefined);
  });
});
