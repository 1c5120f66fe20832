/**
 * runed start/stop/restart/status as real processes on 127.0.0.1 with temp data dirs and HOME:
 * the pidfile (PID + start time), a stale pidfile, a PID reused by another process (never
 * signalled), two concurrent starts (one server), a start that fails on a taken port (exit 2).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { readProcStat } from '../../server/runner/proc.js';
import { killProcessesUnder } from '../support/procs.js';
import { runRuned } from './runed-cli.js';

interface Status {
  state: string;
  pid?: number;
  grpcAddr?: string;
  httpAddr?: string;
  version?: string;
  uptimeSeconds?: number;
  reason?: string;
}

/** PIDs of live `runed serve` processes whose command line names `dataDir`. */
function servesFor(dataDir: string): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      const stat = readProcStat(Number(name));
      if (stat && stat.state !== 'Z' && cmd.includes('serve') && cmd.includes(dataDir)) pids.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

describe('runed start/stop/status/restart', function () {
  this.timeout(90_000);
  let dataDir: string;
  let home: string;
  const flags = () => ['--data-dir', dataDir, '--grpc-addr', '127.0.0.1:0', '--http-addr', '127.0.0.1:0'];
  const runed = (...args: string[]) => runRuned([...args, ...flags()], { home });
  const status = async () => {
    const r = await runed('status', '-o', 'json');
    return { code: r.code, status: JSON.parse(r.stdout) as Status };
  };

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'runed-daemon-data-'));
    home = await mkdtemp(join(tmpdir(), 'runed-daemon-home-'));
  });
  afterEach(async () => {
    await runed('stop', '--timeout', '20s');
    for (const pid of servesFor(dataDir)) process.kill(pid, 'SIGKILL');
    killProcessesUnder(dataDir);
    await rm(dataDir, { recursive: true, force: true });
    await rm(home, { recursive: true, force: true });
  });

  it('start → status running (addresses, version, uptime) → stop → status stopped', async () => {
    const started = await runed('start');
    expect(started.code, started.stderr).to.equal(0);
    expect(started.stdout).to.match(/runed started \(pid \d+\): gRPC 127\.0\.0\.1:\d+, REST 127\.0\.0\.1:\d+/);

    const pidfile = JSON.parse(readFileSync(join(dataDir, 'runed.pid'), 'utf8')) as { pid: number; startTime: number };
    expect(pidfile.startTime).to.equal(readProcStat(pidfile.pid)!.startTime);
    expect(servesFor(dataDir)).to.deep.equal([pidfile.pid]);
    // Detached: its own session, so a terminal's hangup does not reach it.
    expect(readFileSync(`/proc/${pidfile.pid}/stat`, 'latin1').split(') ')[1]!.split(' ')[3]).to.equal(String(pidfile.pid));

    const running = await status();
    expect(running.code).to.equal(0);
    expect(running.status).to.include({ state: 'running', pid: pidfile.pid, version: '0.1.0' });
    expect(running.status.grpcAddr).to.match(/^127\.0\.0\.1:\d+$/);
    expect(running.status.uptimeSeconds).to.be.a('number');
    const text = await runed('status');
    expect(text.stdout).to.contain('runed is running').and.contain(running.status.grpcAddr!);

    // It serves: REST /readyz answers at the address status reports.
    const ready = await fetch(`http://${running.status.httpAddr}/readyz`);
    expect(ready.status).to.equal(200);

    const stopped = await runed('stop');
    expect(stopped.code, stopped.stderr).to.equal(0);
    expect(stopped.stdout).to.contain(`runed stopped (pid ${pidfile.pid}`);
    expect(readProcStat(pidfile.pid)?.state ?? 'gone').to.be.oneOf(['gone', 'Z']);
    expect(existsSync(join(dataDir, 'runed.pid'))).to.equal(false);
    expect(readFileSync(join(dataDir, 'runed.log'), 'utf8')).to.contain('runed is serving').and.contain('shutting down');

    const after = await status();
    expect(after.code).to.equal(3);
    expect(after.status.state).to.equal('stopped');
    const again = await runed('stop');
    expect(again.code).to.equal(0);
    expect(again.stdout).to.contain('not running');
  });

  it('restart replaces the running runed with a new one', async () => {
    expect((await runed('start')).code).to.equal(0);
    const before = (await status()).status.pid!;
    const restarted = await runed('restart');
    expect(restarted.code, restarted.stderr).to.equal(0);
    expect(restarted.stdout).to.contain(`runed stopped (pid ${before}`).and.contain('runed started');
    const after = await status();
    expect(after.status.state).to.equal('running');
    expect(after.status.pid).to.not.equal(before);
    expect(servesFor(dataDir)).to.deep.equal([after.status.pid]);
  });

  it('two concurrent starts give one server; the other fails with exit 1 saying why', async () => {
    const [a, b] = await Promise.all([runed('start'), runed('start')]);
    const codes = [a.code, b.code].sort();
    expect(codes, `${a.stderr}\n${b.stderr}`).to.deep.equal([0, 1]);
    const loser = a.code === 1 ? a : b;
    expect(loser.stderr).to.match(/already running|held by another runed|lock/i);
    const s = await status();
    expect(s.status.state).to.equal('running');
    // Give a losing child time to die, then count: exactly one runed serves this data dir.
    await new Promise((r) => setTimeout(r, 500));
    expect(servesFor(dataDir)).to.deep.equal([s.status.pid]);
  });

  it('a stale pidfile (its PID no longer runs) shows as stale; start removes it and starts', async () => {
    const gone = spawn('true');
    await new Promise((r) => gone.once('exit', r));
    await writeFile(join(dataDir, 'runed.pid'), JSON.stringify({ pid: gone.pid, startTime: 1, grpcAddr: '127.0.0.1:1', httpAddr: '127.0.0.1:2', version: '0.0.0', startedAt: new Date().toISOString() }));
    const s = await status();
    expect(s.code).to.equal(3);
    expect(s.status).to.include({ state: 'stale', pid: gone.pid });
    expect((await runed('status')).stdout).to.contain('stale pidfile');

    const started = await runed('start');
    expect(started.code, started.stderr).to.equal(0);
    expect(started.stderr).to.contain('removing stale pidfile');
    expect((await status()).status.state).to.equal('running');
  });

  describe('a pidfile whose PID another process now has', () => {
    let sleeper: ChildProcess;
    afterEach(() => {
      sleeper?.kill('SIGKILL');
    });

    it('stop never signals it: says the pidfile is stale, removes it, and the process lives on', async () => {
      sleeper = spawn('sleep', ['300'], { stdio: 'ignore' });
      const stat = readProcStat(sleeper.pid!)!;
      await writeFile(join(dataDir, 'runed.pid'), JSON.stringify({ pid: sleeper.pid, startTime: stat.startTime - 1, grpcAddr: '127.0.0.1:1', httpAddr: '127.0.0.1:2', version: '0.1.0', startedAt: new Date().toISOString() }));

      const s = await status();
      expect(s.status.state).to.equal('stale');
      expect(s.status.reason).to.contain('another process');

      const stopped = await runed('stop', '--timeout', '2s');
      expect(stopped.code).to.equal(0);
      expect(stopped.stderr).to.contain('stale pidfile').and.contain('another process').and.contain('not signalling');
      await new Promise((r) => setTimeout(r, 200));
      expect(sleeper.exitCode).to.equal(null);
      expect(sleeper.signalCode).to.equal(null);
      expect(readProcStat(sleeper.pid!)?.state).to.not.equal('Z');
      expect(existsSync(join(dataDir, 'runed.pid'))).to.equal(false);
    });
  });

  describe('a start that fails', () => {
    let blocker: Server;
    afterEach(() => new Promise<void>((r) => blocker.close(() => r())));

    it('exits 2 on an address in use, printing the last lines of runed.log', async () => {
      blocker = createServer();
      await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
      const port = (blocker.address() as { port: number }).port;
      const r = await runRuned(['start', '--data-dir', dataDir, '--grpc-addr', `127.0.0.1:${port}`, '--http-addr', '127.0.0.1:0'], { home });
      expect(r.code, r.stderr).to.equal(2);
      expect(r.stderr).to.contain('failed to start').and.contain(join(dataDir, 'runed.log')).and.contain(`127.0.0.1:${port}`);
      expect(existsSync(join(dataDir, 'runed.pid'))).to.equal(false);
      expect(servesFor(dataDir)).to.deep.equal([]);
    });

    it('exits 1 on a configuration error, with the log lines', async () => {
      const r = await runRuned(['start', '--data-dir', dataDir, '--grpc-addr', '0.0.0.0:0', '--http-addr', '127.0.0.1:0'], { home });
      expect(r.code, r.stderr).to.equal(1);
      expect(r.stderr).to.contain('failed to start').and.contain('--insecure-listen');
    });
  });
});
