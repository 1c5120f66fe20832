/**
 * The local event socket of a real in-process runed (orchestrator off: runs change only when
 * the test writes them, as the run controller would), and of a bare event socket on a memory
 * store for the bounds: subscribe with history and filters, namespaces, resume without loss or
 * repeat, a slow reader cut off with its resume revision, the socket file's mode and owner, a
 * connection from another user refused, the status action, bad requests.
 */
import { execFile, spawn } from 'node:child_process';
import { chmod, lstat, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { RuneClient } from '../../client/api/rune-client.js';
import { Run } from '../../shared/gen/rune/v1/run.js';
import { startEventSocket, type EventSocket } from '../../server/events/event-socket.js';
import { openMemoryStore, type LevelStore } from '../../server/store/level-store.js';
import { aJob, aNamespace } from '../support/builders.js';
import { startTestRuned, type TestRuned } from '../support/test-runed.js';
import { SocketClient, type Line } from './socket-client.js';

const run = promisify(execFile);

describe('local event socket', function () {
  this.timeout(30_000);
  let t: TestRuned;
  let client: RuneClient;
  const open: SocketClient[] = [];
  const connectSocket = async (path = t.runed.eventSocket!) => {
    const c = await SocketClient.connect(path);
    open.push(c);
    return c;
  };

  before(async () => {
    t = await startTestRuned({ orchestrator: { enabled: false } });
    client = new RuneClient({ server: t.runed.grpcAddr, token: t.token });
  });
  afterEach(() => {
    for (const c of open.splice(0)) c.close();
  });
  after(async () => {
    client.close();
    await t.stop();
  });

  async function namespaceWithJobs(namespace: string, jobs: string[]): Promise<void> {
    await client.createNamespace({ namespace: aNamespace({ name: namespace }) });
    for (const name of jobs) await client.castJob({ job: aJob({ name, namespace }) });
  }

  async function startRun(namespace: string, job: string): Promise<Run> {
    return (await client.startRun({ namespace, job })).run!;
  }

  /** What the run controller would write: a new phase and what the change was. */
  async function setPhase(r: Run, phase: string, lastChange: string, extra: Partial<NonNullable<Run['status']>> = {}): Promise<Run> {
    const current = (await t.runed.store.get<Run>('runs', r.metadata!.namespace, r.metadata!.name))!;
    return t.runed.store.update<Run>('runs', { ...current, status: { ...current.status!, phase, lastChange, ...extra } });
  }

  const summary = (l: Line) => `${l.event} ${l.namespace}/${l.job} ${l.status} @${l.revision}`;
  const expected = (r: Run, event: string) => `${event} ${r.metadata!.namespace}/${r.spec!.job} ${r.status!.phase} @${r.metadata!.resourceVersion}`;

  it('subscribe with includeHistory and a status filter: exactly the matching history, history-end, then the matching live events', async () => {
    await namespaceWithJobs('hist-a', ['build', 'test']);
    await namespaceWithJobs('hist-b', ['etl']);
    const b1 = await setPhase(await startRun('hist-a', 'build'), 'running', 'updated');
    const t1 = await setPhase(await startRun('hist-a', 'test'), 'running', 'updated');
    const t1failed = await setPhase(t1, 'failed', 'finished', { reason: 'BackoffLimitExceeded', message: 'exit code 3' });
    const e1 = await setPhase(await startRun('hist-b', 'etl'), 'running', 'progress', { progress: { finished: 3, total: 10 }, currentTask: 'extract' });
    await startRun('hist-a', 'build'); // pending: filtered out

    const s = await connectSocket();
    s.send({ action: 'subscribe', namespaces: ['hist-a', 'hist-b'], filter: { status: ['running', 'failed'] }, includeHistory: 100 });
    const end = await s.waitFor('history-end', (l) => l.event === 'history-end');
    expect(s.lines.slice(0, -1).map(summary)).to.deep.equal([
      expected(b1, 'run:updated'),
      expected(t1, 'run:updated'),
      expected(t1failed, 'run:finished'),
      expected(e1, 'run:progress'),
    ]);
    expect(end.revision).to.be.at.least(e1.metadata!.resourceVersion);

    // Live: a change out of the filter never arrives; the matching ones do, in order.
    await setPhase(b1, 'finished', 'finished');
    const b2 = await setPhase(await startRun('hist-a', 'build'), 'running', 'updated');
    const e1failed = await setPhase(e1, 'failed', 'finished');
    await s.waitFor('the last live event', (l) => l.revision === e1failed.metadata!.resourceVersion);
    expect(s.lines.slice(5).map(summary)).to.deep.equal([expected(b2, 'run:updated'), expected(e1failed, 'run:finished')]);

    // The shape of one line.
    const progress = s.lines.find((l) => l.event === 'run:progress')!;
    expect(progress).to.include({ id: e1.metadata!.name, namespace: 'hist-b', job: 'etl', source: 'local', status: 'running', currentTask: 'extract' });
    expect(progress.progress).to.deep.equal({ finished: 3, total: 10 });
    expect(new Date(progress.time as string).toISOString()).to.equal(progress.time);
    const runJson = progress.run as { metadata: { name: string; resourceVersion: string }; status: { phase: string; progress: { finished: string } } };
    expect(runJson.metadata.name).to.equal(e1.metadata!.name);
    expect(runJson.metadata.resourceVersion).to.equal(String(e1.metadata!.resourceVersion)); // proto3 JSON: int64 as a string
    expect(runJson.status.phase).to.equal('running');
    const failed = s.lines.find((l) => l.revision === t1failed.metadata!.resourceVersion)!;
    expect(failed).to.include({ reason: 'BackoffLimitExceeded', message: 'exit code 3' });
  });

  it('the namespaces filter: one namespace, and all of them when omitted or "*"', async () => {
    await namespaceWithJobs('ns-one', ['job']);
    await namespaceWithJobs('ns-two', ['job']);
    const one = await connectSocket();
    const omitted = await connectSocket();
    const star = await connectSocket();
    one.send({ action: 'subscribe', namespaces: ['ns-one'] });
    omitted.send({ action: 'subscribe' });
    star.send({ action: 'subscribe', namespaces: ['*'] });
    for (const c of [one, omitted, star]) await c.waitFor('history-end', (l) => l.event === 'history-end');
    const a = await startRun('ns-two', 'job');
    const b = await startRun('ns-one', 'job');
    const c = await startRun('ns-two', 'job');
    const last = c.metadata!.resourceVersion;
    await one.waitFor('ns-one run', (l) => l.id === b.metadata!.name);
    for (const all of [omitted, star]) {
      await all.waitFor('the last run', (l) => l.revision === last);
      expect(all.runEvents().map((l) => l.id)).to.deep.equal([a, b, c].map((r) => r.metadata!.name));
    }
    // Everything up to `last` was delivered to the others: one saw only its namespace.
    expect(one.runEvents().map((l) => l.id)).to.deep.equal([b.metadata!.name]);
  });

  it('resume with fromRevision loses and repeats nothing', async () => {
    await namespaceWithJobs('resume', ['etl']);
    const writes: number[] = [];
    const write = async (r: Run, phase: string, change: string) => {
      const written = await setPhase(r, phase, change);
      writes.push(written.metadata!.resourceVersion);
      return written;
    };
    const first = await connectSocket();
    first.send({ action: 'subscribe', namespaces: ['resume'] });
    await first.waitFor('history-end', (l) => l.event === 'history-end');
    const runs: Run[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await startRun('resume', 'etl');
      writes.push(r.metadata!.resourceVersion);
      runs.push(await write(r, 'running', 'updated'));
    }
    await first.waitFor('the sixth event', (l) => l.revision === writes[5]);
    const seen = first.runEvents().map((l) => l.revision as number);
    first.close();
    // While nobody listens.
    for (const r of runs) await write(r, 'finished', 'finished');
    const again = await connectSocket();
    again.send({ action: 'subscribe', namespaces: ['resume'], fromRevision: seen[seen.length - 1], includeHistory: 100 });
    const end = await again.waitFor('history-end', (l) => l.event === 'history-end');
    expect(end.revision).to.equal(seen[seen.length - 1]);
    await write(await startRun('resume', 'etl').then((r) => (writes.push(r.metadata!.resourceVersion), r)), 'running', 'updated');
    await again.waitFor('the last write', (l) => l.revision === writes[writes.length - 1]);
    const all = [...seen, ...again.runEvents().map((l) => l.revision as number)];
    expect(all).to.deep.equal(writes);
  });

  it('a resume point that was compacted away gets OUT_OF_RANGE, and the connection stays usable', async () => {
    const t2 = await startTestRuned({ orchestrator: { enabled: false }, store: { retainEvents: 1, retainMs: 0, compactEveryMs: 0 } });
    try {
      for (let i = 0; i < 5; i++) await t2.runed.store.create('runs', Run.fromPartial({ metadata: { name: `r${i}`, namespace: 'default' }, spec: { job: 'j' }, status: { phase: 'pending' } }));
      await t2.runed.store.compact();
      const s = await SocketClient.connect(t2.runed.eventSocket!);
      open.push(s);
      const err = await s.request({ action: 'subscribe', fromRevision: 1 });
      expect(err).to.include({ event: 'error', code: 'OUT_OF_RANGE' });
      expect(err.message).to.match(/revision 1/);
      expect((await s.request({ action: 'subscribe', includeHistory: 1 })).event).to.equal('run:added');
    } finally {
      await t2.stop();
    }
  });

  it('the socket file is <data-dir>/runed.sock, mode 0600, owned by runed\'s user; removed on stop, a stale one replaced at start', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'runed-sock-'));
    const path = join(dataDir, 'runed.sock');
    // A stale socket: its process died without removing it.
    const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`]);
    await new Promise((resolve) => child.once('exit', resolve));
    expect((await lstat(path)).isSocket()).to.equal(true);
    const t2 = await startTestRuned({ orchestrator: { enabled: false }, dataDir });
    let stopped = false;
    try {
      expect(t2.runed.eventSocket).to.equal(path);
      const st = await stat(path);
      expect(st.isSocket()).to.equal(true);
      expect(st.mode & 0o777).to.equal(0o600);
      expect(st.uid).to.equal(process.getuid!());
      expect((await stat(dataDir)).mode & 0o077).to.equal(0);
      const s = await SocketClient.connect(path);
      open.push(s);
      expect((await s.request({ action: 'status' })).event).to.equal('status');
      await t2.runed.stop();
      stopped = true;
      await lstat(path).then(
        () => expect.fail('the socket file is still there after stop'),
        (err: NodeJS.ErrnoException) => expect(err.code).to.equal('ENOENT'),
      );
    } finally {
      if (!stopped) await t2.runed.stop();
      await t2.stop(); // idempotent stop, then the temp dirs
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('refuses to replace a file that is not a socket', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'runed-sock-'));
    await writeFile(join(dataDir, 'runed.sock'), 'not a socket');
    try {
      await startTestRuned({ orchestrator: { enabled: false }, dataDir }).then(
        (t2) => t2.stop().then(() => expect.fail('runed started over a regular file')),
        (err: Error) => expect(err.message).to.contain('is not a socket'),
      );
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  describe('another user', () => {
    let scriptDir: string;
    let script: string;
    before(async () => {
      // A client anyone can read and run: it prints "connected" and the first line, or the error code.
      scriptDir = await mkdtemp(join(tmpdir(), 'rune-socket-client-'));
      await chmod(scriptDir, 0o755);
      script = join(scriptDir, 'client.mjs');
      await writeFile(
        script,
        `import { connect } from 'node:net';
const s = connect(process.argv[2]);
s.on('connect', () => s.write('{"action":"status"}\\n'));
s.on('data', (d) => { console.log('connected ' + String(d).split('\\n')[0]); s.destroy(); });
s.on('error', (e) => { console.log(e.code); process.exitCode = 1; });
`,
        { mode: 0o644 },
      );
    });
    after(async () => rm(scriptDir, { recursive: true, force: true }));

    const asNobody = (path: string) =>
      run('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, script, path]).then(
        (r) => r.stdout.trim(),
        (err: { stdout: string }) => err.stdout.trim(),
      );

    it('is refused with EACCES (the same client as runed\'s user gets the status)', async function () {
      if (process.getuid!() !== 0) this.skip(); // switching users needs root
      const ok = await run(process.execPath, [script, t.runed.eventSocket!]);
      expect(ok.stdout).to.match(/^connected \{"event":"status"/);
      expect(await asNobody(t.runed.eventSocket!)).to.equal('EACCES');
    });

    it('is refused by the socket\'s own mode, even in a directory everyone may enter', async function () {
      if (process.getuid!() !== 0) this.skip();
      const open = await mkdtemp(join(tmpdir(), 'rune-open-dir-'));
      await chmod(open, 0o755);
      const t2 = await startTestRuned({ orchestrator: { enabled: false }, eventSocket: { path: join(open, 'events.sock') } });
      try {
        expect((await stat(join(open, 'events.sock'))).mode & 0o777).to.equal(0o600);
        expect(await asNobody(join(open, 'events.sock'))).to.equal('EACCES');
      } finally {
        await t2.stop();
        await rm(open, { recursive: true, force: true });
      }
    });
  });

  it('status: version, pid, store revision, the event socket and the housekeeping tasks', async () => {
    await t.runed.housekeeping.runNow('event-log-compaction');
    const s = await connectSocket();
    const status = await s.request({ action: 'status' });
    expect(status).to.include({ event: 'status', pid: process.pid, dataDir: t.runed.dataDir, grpcAddr: t.runed.grpcAddr });
    expect(status.revision).to.be.a('number').and.to.be.at.most(t.runed.store.revision).and.to.be.above(0);
    expect(status.eventSocket).to.deep.include({ path: t.runed.eventSocket });
    expect((status.eventSocket as { connections: number }).connections).to.be.at.least(1); // earlier tests' may still be closing
    const tasks = status.housekeeping as { name: string; nextRunAt: string; lastRun?: { result: string; message: string } }[];
    expect(tasks.map((k) => k.name)).to.include.members(['event-log-compaction', 'log-file-cleanup']);
    const compaction = tasks.find((k) => k.name === 'event-log-compaction')!;
    expect(compaction.lastRun?.result).to.equal('ok');
    expect(compaction.lastRun?.message).to.match(/log starts after revision|log now starts after/);
    expect(Date.parse(compaction.nextRunAt)).to.be.above(Date.now() - 1000);
  });

  it('bad requests get an error line naming the field, and the connection stays usable', async () => {
    const s = await connectSocket();
    const cases: [unknown, string][] = [
      ['{"action": "subscribe"', 'request'],
      ['[1, 2]', 'request'],
      [{ namespaces: ['a'] }, 'action'],
      [{ action: 'unsubscribe' }, 'action'],
      [{ action: 'subscribe', filter: { status: ['running', 'done'] } }, 'filter.status[1]'],
      [{ action: 'subscribe', filter: { status: 'running' } }, 'filter.status'],
      [{ action: 'subscribe', filter: { state: ['running'] } }, 'filter.state'],
      [{ action: 'subscribe', includHistory: 5 }, 'includHistory'],
      [{ action: 'subscribe', includeHistory: -1 }, 'includeHistory'],
      [{ action: 'subscribe', includeHistory: 100_001 }, 'includeHistory'],
      [{ action: 'subscribe', fromRevision: '12' }, 'fromRevision'],
      [{ action: 'subscribe', namespaces: 'dev' }, 'namespaces'],
      [{ action: 'subscribe', namespaces: ['dev', 3] }, 'namespaces[1]'],
    ];
    for (const [request, field] of cases) {
      const answer = await s.request(request);
      expect(answer, JSON.stringify(request)).to.include({ event: 'error', code: 'INVALID_ARGUMENT', field });
      expect(answer.message).to.be.a('string').and.to.contain(field);
    }
    expect((await s.request({ action: 'status' })).event).to.equal('status');
    expect((await s.request({ action: 'subscribe' })).event).to.equal('history-end');
    const second = await s.request({ action: 'subscribe' });
    expect(second).to.include({ event: 'error', code: 'FAILED_PRECONDITION', field: 'action' });
  });

  it('a request line longer than the limit gets an error and the connection is closed', async () => {
    const s = await connectSocket();
    s.send(`{"action":"status","pad":"${'x'.repeat(70 * 1024)}"}`);
    const err = await s.waitFor('the error', (l) => l.event === 'error');
    expect(err).to.include({ code: 'INVALID_ARGUMENT', field: 'request' });
    expect(err.message).to.contain('65536 bytes');
    await s.waitFor('close', () => false).catch(() => undefined);
    expect(s.closed).to.equal(true);
  });
});

describe('local event socket: bounds (memory store)', function () {
  this.timeout(30_000);
  let store: LevelStore;
  let dir: string;
  let socket: EventSocket;
  const open: SocketClient[] = [];

  beforeEach(async () => {
    store = await openMemoryStore({ compactEveryMs: 0 });
    dir = await mkdtemp(join(tmpdir(), 'rune-events-'));
  });
  afterEach(async () => {
    for (const c of open.splice(0)) c.close();
    await socket?.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  const aRun = (i: number) =>
    Run.fromPartial({ metadata: { name: `run-${String(i).padStart(5, '0')}`, namespace: 'dev' }, spec: { job: 'etl', source: 'local' }, status: { phase: 'running', message: 'x'.repeat(2000) } });

  it('a subscriber that stops reading is cut off with the revision to resume from, and resuming there loses and repeats nothing', async () => {
    socket = await startEventSocket({ path: join(dir, 'runed.sock'), store, status: () => ({}), maxBufferedBytes: 64 * 1024 });
    const slow = await SocketClient.connect(socket.path);
    open.push(slow);
    slow.send({ action: 'subscribe' });
    await slow.waitFor('history-end', (l) => l.event === 'history-end');
    slow.socket.pause(); // stops reading: the kernel's buffer fills, then runed's
    const written: number[] = [];
    for (let i = 0; i < 1500; i++) {
      written.push((await store.create<Run>('runs', aRun(i))).metadata!.resourceVersion);
      if (i % 100 === 99) await new Promise((r) => setImmediate(r));
    }
    slow.socket.resume();
    const cut = await slow.waitFor('the cut-off', (l) => l.event === 'error');
    expect(cut.code).to.equal('RESOURCE_EXHAUSTED');
    expect(cut.message).to.contain(`fromRevision ${cut.fromRevision}`);
    const received = slow.runEvents().map((l) => l.revision as number);
    expect(received.length).to.be.below(written.length);
    expect(cut.fromRevision).to.equal(received[received.length - 1]);
    await slow.waitFor('close', () => false).catch(() => undefined);
    expect(slow.closed).to.equal(true);

    const again = await SocketClient.connect(socket.path);
    open.push(again);
    again.send({ action: 'subscribe', fromRevision: cut.fromRevision });
    await again.waitFor('the last event', (l) => l.revision === written[written.length - 1]);
    expect([...received, ...again.runEvents().map((l) => l.revision as number)]).to.deep.equal(written);
  });

  it('an idle subscriber gets heartbeats with its resume revision, and one gone away frees its connection', async () => {
    socket = await startEventSocket({ path: join(dir, 'runed.sock'), store, status: () => ({}), heartbeatMs: 100 });
    const live = await SocketClient.connect(socket.path);
    const gone = await SocketClient.connect(socket.path);
    open.push(live);
    for (const c of [live, gone]) {
      c.send({ action: 'subscribe' });
      await c.waitFor('history-end', (l) => l.event === 'history-end');
    }
    const rev = (await store.create<Run>('runs', aRun(1))).metadata!.resourceVersion;
    const beat = await live.waitFor('a heartbeat after the event', (l) => l.event === 'heartbeat' && l.revision === rev);
    expect(beat).to.deep.equal({ event: 'heartbeat', revision: rev });
    expect(socket.connections).to.equal(2);
    // Gone without the server seeing an end of its input: only a write can tell.
    gone.socket.destroy();
    const deadline = Date.now() + 5000;
    while (socket.connections !== 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(socket.connections).to.equal(1);
  });

  it('beyond maxConnections a connection gets an error line and is closed; the others keep working', async () => {
    socket = await startEventSocket({ path: join(dir, 'runed.sock'), store, status: () => ({ ok: true }), maxConnections: 2 });
    const a = await SocketClient.connect(socket.path);
    const b = await SocketClient.connect(socket.path);
    open.push(a, b);
    await a.request({ action: 'status' });
    await b.request({ action: 'status' });
    const c = await SocketClient.connect(socket.path);
    open.push(c);
    const refused = await c.waitFor('the refusal', (l) => l.event === 'error');
    expect(refused).to.include({ code: 'RESOURCE_EXHAUSTED' });
    expect(refused.message).to.contain('at most 2 connections');
    expect(await a.request({ action: 'status' })).to.deep.equal({ event: 'status', ok: true });
    expect(socket.connections).to.equal(2);
  });

  it('close() ends subscribers with UNAVAILABLE and their resume revision, and removes the socket file', async () => {
    socket = await startEventSocket({ path: join(dir, 'runed.sock'), store, status: () => ({}) });
    const s = await SocketClient.connect(socket.path);
    open.push(s);
    s.send({ action: 'subscribe' });
    await s.waitFor('history-end', (l) => l.event === 'history-end');
    const r = await store.create<Run>('runs', aRun(1));
    await s.waitFor('the event', (l) => l.revision === r.metadata!.resourceVersion);
    await socket.close();
    const end = await s.waitFor('the last line', (l) => l.event === 'error');
    expect(end).to.include({ code: 'UNAVAILABLE', fromRevision: r.metadata!.resourceVersion });
    await lstat(socket.path).then(
      () => expect.fail('socket file left behind'),
      (err: NodeJS.ErrnoException) => expect(err.code).to.equal('ENOENT'),
    );
  });
});
