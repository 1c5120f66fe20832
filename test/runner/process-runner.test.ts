/**
 * The process runner against real processes in a temp data dir. Every wait is bounded, and
 * afterEach SIGKILLs the process group of everything a test started, even when it failed.
 */
import { expect } from 'chai';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { chmod, mkdtemp, readFile, realpath, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { logFiles, planMemoryLimit, ProcessRunner, type ProcessRunnerOptions } from '../../server/runner/process-runner.js';
import { processGroupMembers, readProcStat } from '../../server/runner/proc.js';
import type { ExitInfo, StartRequest, StartResult } from '../../server/runner/runner.js';
import { expectRuneError } from '../support/expect-rune-error.js';
import { skipUnless } from '../support/strict.js';

let serial = 0;

/** The smallest StartRequest; each call names a fresh instance. */
function aStartRequest(fixture: Partial<StartRequest> = {}): StartRequest {
  serial += 1;
  return {
    namespace: 'dev',
    service: 'web',
    instance: `web-t${process.pid}-${serial}`,
    command: 'sleep',
    args: ['30'],
    workingDir: '',
    env: {},
    ports: [],
    memoryLimitBytes: 0,
    ...fixture,
  };
}

/** Polls `check` every 10 ms until it returns a value other than undefined/false; fails after `timeoutMs`. */
async function waitFor<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The command names (/proc/<pid>/comm) of the live members of a process group. */
function groupCommands(pgid: number): string[] {
  return processGroupMembers(pgid).map((pid) => {
    try {
      return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
    } catch {
      return '?';
    }
  });
}

/** PIDs of every process whose environment says it is `instance`. */
function processesOfInstance(instance: string): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/environ`, 'latin1').split('\0').includes(`RUNE_INSTANCE=${instance}`)) found.push(Number(name));
    } catch {
      // gone, or not ours to read
    }
  }
  return found;
}

function environOf(pid: number): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0')) {
    const eq = entry.indexOf('=');
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return env;
}

/** Collects the exits a runner reports. */
class ExitRecorder {
  readonly exits: { instance: string; exit: ExitInfo }[] = [];
  constructor(runner: ProcessRunner) {
    runner.onExit((instance, exit) => this.exits.push({ instance, exit }));
  }
  of(instance: string): ExitInfo[] {
    return this.exits.filter((e) => e.instance === instance).map((e) => e.exit);
  }
  /** The first exit reported for `instance`. */
  next(instance: string, timeoutMs = 5000): Promise<ExitInfo> {
    return waitFor(`the exit of ${instance}`, () => this.of(instance)[0], timeoutMs);
  }
}

describe('ProcessRunner', function () {
  this.timeout(20_000);
  let dataDir: string;
  let runners: ProcessRunner[];
  let started: number[];

  function newRunner(options: Partial<ProcessRunnerOptions> = {}): ProcessRunner {
    const runner = new ProcessRunner({ dataDir, pollMs: 50, ...options });
    runners.push(runner);
    return runner;
  }

  async function start(runner: ProcessRunner, request: StartRequest): Promise<StartResult> {
    const result = await runner.start(request);
    started.push(result.pid);
    return result;
  }

  beforeEach(async function () {
    dataDir = await realpath(await mkdtemp(join(tmpdir(), 'rune-runner-')));
    runners = [];
    started = [];
  });

  afterEach(async function () {
    for (const runner of runners) await runner.close();
    for (const pgid of started) {
      if (processGroupMembers(pgid).length === 0) continue; // never signal a group that may be reused
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await rm(dataDir, { recursive: true, force: true });
  });

  describe('start', function () {
    it('runs the workload detached in its own process group, with the instance env and its own work dir', async function () {
      const runner = newRunner();
      const request = aStartRequest({ env: { GREETING: 'hi' }, ports: [{ name: 'http', port: 8080, protocol: 'tcp' }] });
      const result = await start(runner, request);

      const procStat = readProcStat(result.pid);
      expect(procStat, 'process exists').to.not.equal(undefined);
      expect(procStat!.pgrp, 'pgid == pid').to.equal(result.pid);
      expect(result.startTime).to.equal(procStat!.startTime);
      expect(runner.isAlive(result)).to.equal(true);
      expect(result.memoryLimit).to.equal('');

      const env = environOf(result.pid);
      expect(env).to.include({ RUNE_INSTANCE: request.instance, RUNE_SERVICE: 'web', RUNE_NAMESPACE: 'dev', RUNE_PORT_HTTP: '8080', RUNE_PORT: '8080', GREETING: 'hi' });

      const workDir = join(dataDir, 'work', 'dev', request.instance);
      expect((await stat(workDir)).isDirectory()).to.equal(true);
      expect(readlinkSync(`/proc/${result.pid}/cwd`)).to.equal(workDir);
      expect((await stat(join(dataDir, 'work', 'dev'))).mode & 0o777).to.equal(0o700);

      expect(result.logPath).to.equal(join(dataDir, 'logs', 'dev', `${request.instance}.log`));
      expect((await stat(join(dataDir, 'logs', 'dev'))).mode & 0o777).to.equal(0o700);
      // stdin is /dev/null; stdout and stderr are the log file.
      expect(readlinkSync(`/proc/${result.pid}/fd/0`)).to.equal('/dev/null');
      expect(readlinkSync(`/proc/${result.pid}/fd/1`)).to.equal(result.logPath);
      expect(readlinkSync(`/proc/${result.pid}/fd/2`)).to.equal(result.logPath);
    });

    it('runs in the requested working dir', async function () {
      const runner = newRunner();
      const result = await start(runner, aStartRequest({ workingDir: dataDir }));
      expect(readlinkSync(`/proc/${result.pid}/cwd`)).to.equal(dataDir);
    });

    it('sends stdout and stderr to the log file, appending across restarts', async function () {
      const runner = newRunner();
      const exits = new ExitRecorder(runner);
      const request = aStartRequest({ command: 'sh', args: ['-c', 'echo out; echo err >&2'] });
      const first = await start(runner, request);
      expect(await exits.next(request.instance)).to.include({ code: 0, signal: '', daemonized: false });
      expect(await readFile(first.logPath, 'utf8')).to.equal('out\nerr\n');

      await start(runner, { ...request, args: ['-c', 'echo again'] });
      await waitFor('the second exit', () => exits.of(request.instance).length === 2);
      expect(await readFile(first.logPath, 'utf8')).to.equal('out\nerr\nagain\n');
    });

    for (const spawner of ['helper', 'direct'] as const) {
      it(`makes the log folder again when it was removed after an earlier start (spawner: ${spawner})`, async function () {
        const runner = newRunner({ spawner });
        const exits = new ExitRecorder(runner);
        const request = aStartRequest({ command: 'sh', args: ['-c', 'echo one'] });
        const first = await start(runner, request);
        await exits.next(request.instance);
        await rm(join(dataDir, 'logs'), { recursive: true, force: true });
        const second = await start(runner, { ...request, args: ['-c', 'echo two'] });
        await waitFor('the second exit', () => exits.of(request.instance).length === 2);
        expect(second.logPath).to.equal(first.logPath);
        expect(await readFile(second.logPath, 'utf8')).to.equal('two\n');
      });
    }

    it('reports an exit that happens before start() returns only after it returned', async function () {
      const runner = newRunner();
      let returned = false;
      const seen: boolean[] = [];
      runner.onExit(() => seen.push(returned));
      await start(runner, aStartRequest({ command: 'true', args: [] }));
      returned = true;
      await waitFor('the exit', () => seen.length === 1);
      expect(seen).to.deep.equal([true]);
    });

    it('fails with FAILED_PRECONDITION for a command not in PATH, starting nothing', async function () {
      const runner = newRunner();
      const exits = new ExitRecorder(runner);
      const request = aStartRequest({ command: 'no-such-command-rune-test', args: [] });
      const err = await expectRuneError(runner.start(request), 'FAILED_PRECONDITION');
      expect(err.message).to.include('command "no-such-command-rune-test" not found in PATH');
      expect(processesOfInstance(request.instance)).to.deep.equal([]);
      await sleep(150);
      expect(exits.exits).to.deep.equal([]);
    });

    it('fails with FAILED_PRECONDITION for a file that is not executable, starting nothing', async function () {
      const runner = newRunner();
      const script = join(dataDir, 'script.sh');
      await writeFile(script, '#!/bin/sh\nsleep 30\n');
      await chmod(script, 0o644);
      const request = aStartRequest({ command: script, args: [] });
      const err = await expectRuneError(runner.start(request), 'FAILED_PRECONDITION');
      expect(err.message).to.include(`command "${script}" is not executable`);
      expect(processesOfInstance(request.instance)).to.deep.equal([]);
    });

    it('fails with FAILED_PRECONDITION for a missing working dir, starting nothing', async function () {
      const runner = newRunner();
      const missing = join(dataDir, 'no', 'such', 'dir');
      const request = aStartRequest({ workingDir: missing });
      const err = await expectRuneError(runner.start(request), 'FAILED_PRECONDITION');
      expect(err.message).to.include(`working dir ${missing} does not exist`);
      expect(processesOfInstance(request.instance)).to.deep.equal([]);
    });

    it('rejects names that would escape the data dir', async function () {
      const runner = newRunner();
      await expectRuneError(runner.start(aStartRequest({ instance: '../evil' })), 'INVALID_ARGUMENT');
      await expectRuneError(runner.start(aStartRequest({ namespace: '..' })), 'INVALID_ARGUMENT');
    });
  });

  describe('exits', function () {
    it('reports the exit code, once', async function () {
      const runner = newRunner();
      const exits = new ExitRecorder(runner);
      const request = aStartRequest({ command: 'sh', args: ['-c', 'exit 3'] });
      const result = await start(runner, request);
      const exit = await exits.next(request.instance);
      expect(exit).to.include({ code: 3, signal: '', daemonized: false });
      expect(exit.at).to.be.instanceOf(Date);
      expect(runner.isAlive(result)).to.equal(false);
      await sleep(200); // several poll ticks: no second report
      expect(exits.of(request.instance)).to.have.length(1);
    });

    it('reports the signal that killed it, once', async function () {
      const runner = newRunner();
      const exits = new ExitRecorder(runner);
      const request = aStartRequest();
      const result = await start(runner, request);
      process.kill(result.pid, 'SIGKILL');
      expect(await exits.next(request.instance)).to.include({ code: -1, signal: 'SIGKILL', daemonized: false });
      await sleep(200);
      expect(exits.of(request.instance)).to.have.length(1);
    });

    it('reports a workload that exits 0 but leaves processes in its group as daemonized', async function () {
      const runner = newRunner();
      const exits = new ExitRecorder(runner);
      const request = aStartRequest({ command: 'sh', args: ['-c', 'sleep 30 & exit 0'] });
      const result = await start(runner, request);
      expect(await exits.next(request.instance)).to.include({ code: 0, signal: '', daemonized: true });
      // The shell's background child may not have exec'd sleep yet when the shell's exit is reported.
      await waitFor('the one process left in the group to be the sleep', () => groupCommands(result.pid).join() === 'sleep', 2000); // afterEach kills it
    });
  });

  describe('spawner helper', function () {
    /** The command line of process `pid`, arguments joined by spaces. */
    const cmdline = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').join(' ');

    it('forks workloads from a small helper child, detached, and relays their real exit status', async function () {
      const runner = newRunner();
      const exits = new ExitRecorder(runner);
      const request = aStartRequest({ command: 'sh', args: ['-c', 'sleep 0.2; exit 7'] });
      const result = await start(runner, request);
      const stat = readProcStat(result.pid)!;
      expect(stat.pgrp, 'its own process group').to.equal(result.pid);
      expect(stat.ppid, 'not a child of runed').to.not.equal(process.pid);
      expect(readProcStat(stat.ppid)!.ppid, 'the helper is runed\'s child').to.equal(process.pid);
      expect(cmdline(stat.ppid)).to.include(' -e ');
      expect(await exits.next(request.instance)).to.include({ code: 7, signal: '', daemonized: false });
    });

    it('spawns from runed itself with spawner: direct', async function () {
      const runner = newRunner({ spawner: 'direct' });
      const result = await start(runner, aStartRequest());
      expect(readProcStat(result.pid)!.ppid).to.equal(process.pid);
    });

    it('when the helper dies, its workloads run on and are watched like adopted ones; the next start gets a new helper', async function () {
      const runner = newRunner();
      const exits = new ExitRecorder(runner);
      const first = aStartRequest();
      const result = await start(runner, first);
      const helper = readProcStat(result.pid)!.ppid;
      process.kill(helper, 'SIGKILL');
      await waitFor('the helper to go', () => readProcStat(helper) === undefined || readProcStat(helper)!.state === 'Z');
      await sleep(100);
      expect(runner.isAlive(result), 'the workload outlives the helper').to.equal(true);
      expect(exits.of(first.instance)).to.deep.equal([]);
      process.kill(result.pid, 'SIGKILL');
      expect(await exits.next(first.instance)).to.include({ code: -1, signal: '' });
      await sleep(1000); // the least time between two helper starts
      const second = await start(runner, aStartRequest());
      const newHelper = readProcStat(second.pid)!.ppid;
      expect(newHelper).to.not.equal(helper);
      expect(newHelper).to.not.equal(process.pid);
    });

    it('close() ends the helper and leaves its workloads running', async function () {
      const runner = newRunner();
      const result = await start(runner, aStartRequest());
      const helper = readProcStat(result.pid)!.ppid;
      await runner.close();
      await waitFor('the helper to exit', () => readProcStat(helper) === undefined || readProcStat(helper)!.state === 'Z');
      expect(readProcStat(result.pid)?.state).to.not.equal('Z');
      expect(readProcStat(result.pid)?.startTime).to.equal(result.startTime);
    });
  });

  describe('stop', function () {
    it('signals the whole process group and resolves with the exit, reported once', async function () {
      const runner = newRunner();
      const exits = new ExitRecorder(runner);
      const request = aStartRequest({ command: 'sh', args: ['-c', 'sleep 30 & sleep 30'] });
      const result = await start(runner, request);
      await waitFor('both sleeps', () => groupCommands(result.pid).filter((c) => c === 'sleep').length === 2);

      const exit = await runner.stop(request.instance, result, { signal: 'SIGTERM', timeoutMs: 5000 });
      expect(exit).to.include({ code: -1, signal: 'SIGTERM' });
      await waitFor('an empty process group', () => processGroupMembers(result.pid).length === 0, 2000);
      await sleep(200);
      expect(exits.of(request.instance)).to.deep.equal([exit]);
    });

    it('escalates to SIGKILL after the timeout when the workload ignores the signal', async function () {
      const runner = newRunner();
      const request = aStartRequest({ command: 'sh', args: ['-c', 'trap "" TERM; echo ready; sleep 30'] });
      const result = await start(runner, request);
      await waitFor('the trap to be set', async () => (await readFile(result.logPath, 'utf8')).includes('ready'));

      const began = Date.now();
      const exit = await runner.stop(request.instance, result, { signal: 'SIGTERM', timeoutMs: 300 });
      const took = Date.now() - began;
      expect(exit).to.include({ code: -1, signal: 'SIGKILL' });
      expect(took).to.be.within(290, 3000);
      await waitFor('an empty process group', () => processGroupMembers(result.pid).length === 0, 2000);
    });

    it('resolves at once for a workload that is already gone', async function () {
      const runner = newRunner();
      const exits = new ExitRecorder(runner);
      const request = aStartRequest({ command: 'true', args: [] });
      const result = await start(runner, request);
      const first = await exits.next(request.instance);
      const exit = await runner.stop(request.instance, result, { signal: 'SIGTERM', timeoutMs: 5000 });
      expect(exit.code).to.equal(-1);
      expect(exits.of(request.instance)).to.deep.equal([first]);
    });

    it('rejects an unknown signal name', async function () {
      const runner = newRunner();
      const request = aStartRequest();
      const result = await start(runner, request);
      await expectRuneError(runner.stop(request.instance, result, { signal: 'SIGNOPE', timeoutMs: 100 }), 'INVALID_ARGUMENT');
      expect(runner.isAlive(result)).to.equal(true);
    });
  });

  describe('adopt', function () {
    it('takes over a workload of a closed runner and reports its exit; close() leaves workloads running', async function () {
      const first = newRunner();
      const firstExits = new ExitRecorder(first);
      const request = aStartRequest();
      const result = await start(first, request);
      await first.close();
      expect(first.isAlive(result), 'close() must not kill').to.equal(true);

      const second = newRunner();
      const exits = new ExitRecorder(second);
      expect(second.adopt(request.instance, { pid: result.pid, startTime: result.startTime, logPath: result.logPath })).to.equal(true);
      process.kill(result.pid, 'SIGKILL');
      expect(await exits.next(request.instance)).to.include({ code: -1, signal: '', daemonized: false });
      await sleep(200);
      expect(exits.of(request.instance)).to.have.length(1);
      expect(firstExits.exits).to.deep.equal([]);
    });

    it('finds a live workload by its instance when no handle was recorded, and nothing for others', async function () {
      const first = newRunner();
      const request = aStartRequest();
      const result = await start(first, request);
      await first.close();
      const second = newRunner();
      const found = second.find(request.namespace, request.instance);
      expect(found).to.deep.equal({ pid: result.pid, startTime: result.startTime, logPath: result.logPath });
      expect(second.find(request.namespace, `${request.instance}x`)).to.equal(undefined);
      expect(second.find('elsewhere', request.instance)).to.equal(undefined);
    });

    it('refuses a PID whose start time differs (a reused PID) and a PID that is gone', async function () {
      const runner = newRunner();
      const request = aStartRequest();
      const result = await start(runner, request);
      const other = newRunner();
      expect(other.adopt(request.instance, { ...result, startTime: result.startTime + 1 })).to.equal(false);
      expect(other.isAlive({ ...result, startTime: result.startTime + 1 })).to.equal(false);

      const gone = aStartRequest({ command: 'true', args: [] });
      const exits = new ExitRecorder(runner);
      const goneResult = await start(runner, gone);
      await exits.next(gone.instance);
      await waitFor('the process to be reaped', () => readProcStat(goneResult.pid) === undefined);
      expect(other.adopt(gone.instance, goneResult)).to.equal(false);
    });

    it('stops an adopted workload and reports its exit once', async function () {
      const first = newRunner();
      const request = aStartRequest({ command: 'sh', args: ['-c', 'sleep 30 & sleep 30'] });
      const result = await start(first, request);
      await waitFor('both sleeps', () => groupCommands(result.pid).filter((c) => c === 'sleep').length === 2);
      await first.close();

      const second = newRunner({ pollMs: 1000 }); // stop() must not wait for a slow poll
      const exits = new ExitRecorder(second);
      expect(second.adopt(request.instance, result)).to.equal(true);
      const began = Date.now();
      const exit = await second.stop(request.instance, result, { signal: 'SIGTERM', timeoutMs: 5000 });
      expect(Date.now() - began).to.be.below(900);
      expect(exit).to.include({ code: -1, signal: '' });
      await waitFor('an empty process group', () => processGroupMembers(result.pid).length === 0, 2000);
      expect(exits.of(request.instance)).to.deep.equal([exit]);
    });
  });

  describe('memory limit', function () {
    const hasPython = ['/usr/bin/python3', '/usr/local/bin/python3'].some((p) => existsSync(p));

    it('plans the limit by platform and prlimit', function () {
      const cases = [
        { limit: 0, platform: 'linux', prlimitPath: '/usr/bin/prlimit', want: { prefix: [], memoryLimit: '' } },
        { limit: 1024, platform: 'linux', prlimitPath: '/usr/bin/prlimit', want: { prefix: ['/usr/bin/prlimit', '--as=1024', '--'], memoryLimit: 'rlimit-as' } },
        { limit: 1024, platform: 'linux', prlimitPath: undefined, want: { prefix: [], memoryLimit: 'not enforced: prlimit not found' } },
        { limit: 1024, platform: 'darwin', prlimitPath: undefined, want: { prefix: [], memoryLimit: 'not enforced on darwin' } },
      ] as const;
      for (const c of cases) {
        expect(planMemoryLimit(c.limit, { platform: c.platform, prlimitPath: c.prlimitPath }), JSON.stringify(c)).to.deep.equal(c.want);
      }
    });

    it('caps the address space: a big allocation fails, the PID stays the workload\'s', async function () {
      skipUnless(this, existsSync('/usr/bin/prlimit'), '/usr/bin/prlimit (util-linux) is missing');
      skipUnless(this, hasPython, 'python3 is missing');
      const runner = newRunner();
      const exits = new ExitRecorder(runner);
      const limit = 64 * 1024 * 1024;

      const idle = await start(runner, aStartRequest({ memoryLimitBytes: limit }));
      expect(idle.memoryLimit).to.equal('rlimit-as');
      await waitFor('prlimit to exec sleep', () => readFileSync(`/proc/${idle.pid}/comm`, 'utf8').trim() === 'sleep');
      expect(readFileSync(`/proc/${idle.pid}/limits`, 'utf8')).to.match(new RegExp(`Max address space\\s+${limit}\\s+${limit}`));

      const hungry = aStartRequest({ command: 'python3', args: ['-c', 'x = bytearray(512*1024*1024)'], memoryLimitBytes: limit });
      const result = await start(runner, hungry);
      expect(result.memoryLimit).to.equal('rlimit-as');
      const exit = await exits.next(hungry.instance, 10_000);
      expect(exit.code).to.not.equal(0);
      expect(await readFile(result.logPath, 'utf8')).to.include('MemoryError');

      const modest = aStartRequest({ command: 'python3', args: ['-c', 'x = bytearray(1024*1024); print("ok")'], memoryLimitBytes: limit });
      await start(runner, modest);
      expect(await exits.next(modest.instance, 10_000)).to.include({ code: 0 });
    });
  });

  describe('log rotation', function () {
    const writer = 'i=0; while :; do printf "line %06d %0200d\\n" $i 0; i=$((i+1)); sleep 0.01; done';
    const lineNumbers = (text: string): number[] => [...text.matchAll(/^line (\d{6}) /gm)].map((m) => Number(m[1]));

    it('copies a log past logMaxBytes to <log>.1 and truncates it; the workload keeps writing to it', async function () {
      const runner = newRunner({ logMaxBytes: 4096, pollMs: 50 });
      const result = await start(runner, aStartRequest({ command: 'sh', args: ['-c', writer] }));
      await waitFor(`${result.logPath}.1`, () => existsSync(`${result.logPath}.1`));
      const rotated = lineNumbers(await readFile(`${result.logPath}.1`, 'utf8'));
      expect(rotated.length).to.be.greaterThan(4096 / 220);

      const current = await waitFor('new lines in the truncated log', async () => {
        const text = await readFile(result.logPath, 'latin1');
        const numbers = lineNumbers(text);
        return numbers.length > 2 && numbers[numbers.length - 1]! > rotated[rotated.length - 1]! ? text : undefined;
      });
      expect(current.charCodeAt(0), 'no hole of NULs at the start').to.not.equal(0);
      expect(lineNumbers(current)[0], 'the old lines are gone').to.be.greaterThan(0);
      expect((await stat(result.logPath)).size).to.be.below(4096 * 8);
    });

    it('keeps logKeep rotated files, oldest first in logFiles()', async function () {
      const runner = newRunner({ logMaxBytes: 2048, logKeep: 2, pollMs: 50 });
      const result = await start(runner, aStartRequest({ command: 'sh', args: ['-c', writer] }));
      await waitFor(`${result.logPath}.2`, () => existsSync(`${result.logPath}.2`));
      const files = logFiles(result.logPath, 2);
      expect(files).to.deep.equal([`${result.logPath}.2`, `${result.logPath}.1`, result.logPath]);
      expect(existsSync(`${result.logPath}.3`)).to.equal(false);
      // The writer keeps writing, so a rotation may be under way (between shifting .1 to .2 and
      // copying the new .1): read again until every file is there.
      const firsts = await waitFor('every rotated file readable', async () => {
        try {
          return await Promise.all(files.map(async (file) => lineNumbers(await readFile(file, 'utf8'))[0] ?? Infinity));
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
          throw err;
        }
      });
      expect(firsts[0]).to.be.below(firsts[1]!);
    });

    it('names the log files oldest first', function () {
      expect(logFiles('/d/x.log', 0)).to.deep.equal(['/d/x.log']);
      expect(logFiles('/d/x.log', 3)).to.deep.equal(['/d/x.log.3', '/d/x.log.2', '/d/x.log.1', '/d/x.log']);
    });
  });
});

