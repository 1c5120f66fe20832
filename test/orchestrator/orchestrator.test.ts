/**
 * The orchestrator end to end: a real runed (in-process) with a real LevelDB, starting real
 * processes. Every claim is checked against /proc, not only the API. The restart backoff is
 * shortened (base 300 ms) so crash loops show up within a test's time.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { expect } from 'chai';
import type { Instance } from '../../shared/gen/rune/v1/instance.js';
import { Service } from '../../shared/gen/rune/v1/service.js';
import { aNamespace } from '../support/builders.js';
import { alive, environOf, eventually, runeProcesses } from '../support/procs.js';
import { auth, call, clients, startTestRuned, type TestRuned } from '../support/test-runed.js';

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

describe('orchestrator (real runed, real processes)', function () {
  this.timeout(60_000);
  let t: TestRuned;
  let c: ReturnType<typeof clients>;
  let md: grpc.Metadata;
  let ns: string;
  let scratch: string;
  let nsCount = 0;

  before(async () => {
    t = await startTestRuned({ orchestrator: { backoff: { baseMs: 300, maxMs: 2000 }, pollMs: 100 } });
    c = clients(t.runed.grpcAddr);
    md = auth(t.token);
    scratch = await mkdtemp(join(tmpdir(), 'rune-orch-'));
  });
  beforeEach(async () => {
    ns = `o${process.pid}-${++nsCount}`;
    await call(c.namespaces, c.namespaces.createNamespace, { namespace: aNamespace({ name: ns }) }, md);
  });
  afterEach(async () => {
    // Delete everything this test started, and make sure the processes are gone.
    await call(c.namespaces, c.namespaces.deleteNamespace, { name: ns, cascade: true }, md).catch(() => undefined);
    await eventually(`processes of ${ns} to stop`, () => runeProcesses(ns).size === 0, 20_000);
  });
  after(async () => {
    c.close();
    await t.stop();
    await rm(scratch, { recursive: true, force: true });
  });

  const cast = (spec: Partial<NonNullable<Service['spec']>> & { name: string }) => {
    const { name, ...rest } = spec;
    const service = Service.fromPartial({ metadata: { name, namespace: ns }, spec: { runtime: 'process', scale: 1, ...rest } });
    return call(c.services, c.services.castService, { service, dryRun: false }, md);
  };
  const instances = async (service?: string): Promise<Instance[]> =>
    (await call(c.instances, c.instances.listInstances, { namespace: ns, service: service ?? '', options: undefined }, md)).instances;
  const readyPids = async (service: string, n: number) =>
    eventually(`${n} ready instances of ${service}`, async () => {
      const list = (await instances(service)).filter((i) => i.status?.ready && !i.metadata?.deletionTimestamp);
      return list.length === n && list.every((i) => alive(i.status!.pid)) ? list.map((i) => i.status!.pid) : undefined;
    });

  it('cast → N real processes, each in its own process group with Rune env', async () => {
    await cast({ name: 'web', command: 'sleep', args: ['300'], scale: 3, env: { GREETING: 'hi' } });
    const pids = await readyPids('web', 3);
    const procs = runeProcesses(ns);
    expect([...procs.keys()].sort()).to.deep.equal([...pids].sort());
    for (const pid of pids) {
      const env = environOf(pid);
      expect(env.GREETING).to.equal('hi');
      expect(env.RUNE_SERVICE).to.equal('web');
      expect(env.RUNE_INSTANCE).to.match(/^web-[a-z0-9]{5}$/);
    }
    const service = (await call(c.services, c.services.getService, { namespace: ns, name: 'web' }, md)).service!;
    await eventually('service status', async () => {
      const s = (await call(c.services, c.services.getService, { namespace: ns, name: 'web' }, md)).service!;
      return s.status?.readyInstances === 3 && s.status.phase === 'Running';
    });
    expect(service.metadata!.finalizers).to.include('rune.dev/instances');
  });

  it('scales 3 → 1 → 5, stopping and starting real processes', async () => {
    await cast({ name: 'web', command: 'sleep', args: ['300'], scale: 3 });
    const three = await readyPids('web', 3);
    await call(c.services, c.services.scaleService, { namespace: ns, name: 'web', scale: 1 }, md);
    const one = await readyPids('web', 1);
    await eventually('2 processes to stop', () => runeProcesses(ns).size === 1);
    expect(three).to.include(one[0]);
    await call(c.services, c.services.scaleService, { namespace: ns, name: 'web', scale: 5 }, md);
    await readyPids('web', 5);
    expect(runeProcesses(ns).size).to.equal(5);
    expect(alive(one[0]!), 'scaling up keeps the instance that was there').to.equal(true);
  });

  it('restarts an instance killed with -9, counting restarts and backing off a crash loop', async () => {
    await cast({ name: 'web', command: 'sleep', args: ['300'] });
    const [first] = await readyPids('web', 1);
    process.kill(first!, 'SIGKILL');
    const second = await eventually('a replacement process', async () => {
      const [i] = await instances('web');
      return i?.status?.pid && i.status.pid !== first && alive(i.status.pid) ? i : undefined;
    });
    expect(second.status!.restartCount).to.equal(1);
    expect(second.status!.lastExitSignal).to.equal('SIGKILL');
    process.kill(second.status!.pid, 'SIGKILL');
    // The second crash in a row waits for the backoff and says so.
    const backingOff = await eventually('CrashLoopBackOff', async () => {
      const [i] = await instances('web');
      return i?.status?.reason === 'CrashLoopBackOff' ? i : undefined;
    });
    expect(backingOff.status!.nextRestartAt).to.be.instanceOf(Date);
    const third = await eventually('the restart after the backoff', async () => {
      const [i] = await instances('web');
      return i?.status?.pid && i.status.pid !== second.status!.pid && alive(i.status.pid) ? i : undefined;
    });
    expect(third.status!.restartCount).to.equal(2);
    expect(runeProcesses(ns).size).to.equal(1);
  });

  it('restarts an instance whose HTTP liveness probe starts failing', async () => {
    const port = await freePort();
    const flag = join(scratch, `sick-${ns}`);
    const server = `require('http').createServer((q, r) => { r.statusCode = require('fs').existsSync(${JSON.stringify(flag)}) ? 500 : 200; r.end(); }).listen(${port}, '127.0.0.1')`;
    await cast({
      name: 'api',
      command: process.execPath,
      args: ['-e', server],
      ports: [{ name: 'http', port, protocol: 'tcp' }],
      health: { liveness: { type: 'http', path: '/healthz', port, initialDelaySeconds: 0, periodSeconds: 1, timeoutSeconds: 1, failureThreshold: 2, successThreshold: 1 } },
    } as never);
    const [pid] = await readyPids('api', 1);
    await writeFile(flag, 'x');
    const restarted = await eventually('a restart after liveness failures', async () => {
      const [i] = await instances('api');
      return (i?.status?.restartCount ?? 0) >= 1 ? i : undefined;
    }, 20_000);
    expect(restarted.status!.message + restarted.status!.reason).to.match(/liveness|LivenessFailed/i);
    expect(alive(pid!)).to.equal(false);
    await rm(flag, { force: true });
  });

  it('starts a dependent only once its dependency has a ready instance', async () => {
    const ready = join(scratch, `db-ready-${ns}`);
    await cast({
      name: 'db',
      command: 'sleep',
      args: ['300'],
      health: { readiness: { type: 'exec', command: ['test', '-f', ready], initialDelaySeconds: 0, periodSeconds: 1, timeoutSeconds: 1, failureThreshold: 1, successThreshold: 1 } },
    } as never);
    await cast({ name: 'app', command: 'sleep', args: ['300'], dependencies: ['db'] });
    const waiting = await eventually('app waiting', async () => {
      const [i] = await instances('app');
      return i?.status?.reason === 'WaitingForDependencies' ? i : undefined;
    });
    expect(waiting.status!.message).to.include('db');
    expect(waiting.status!.pid).to.equal(0);
    await new Promise((r) => setTimeout(r, 1500));
    expect((await instances('app'))[0]!.status!.pid, 'still not started while db is not ready').to.equal(0);
    await writeFile(ready, 'x');
    await readyPids('db', 1);
    await readyPids('app', 1);
    await rm(ready, { force: true });
  });

  it('rejects a dependency cycle with the cycle in the message', async () => {
    await cast({ name: 'a', command: 'sleep', args: ['300'], dependencies: ['b'] });
    const err = await cast({ name: 'b', command: 'sleep', args: ['300'], dependencies: ['a'] }).then(
      () => undefined,
      (e: grpc.ServiceError) => e,
    );
    expect(err?.code).to.equal(grpc.status.INVALID_ARGUMENT);
    expect(err?.details).to.include('b → a → b');
  });

  it('rolls an env change over every instance with never a moment below the ready count', async () => {
    const readiness = { type: 'exec', command: ['true'], initialDelaySeconds: 0, periodSeconds: 1, timeoutSeconds: 1, failureThreshold: 1, successThreshold: 1 };
    await cast({ name: 'web', command: 'sleep', args: ['300'], scale: 2, env: { VERSION: '1' }, health: { readiness } } as never);
    const before = await readyPids('web', 2);
    let minReady = Infinity;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const list = await instances('web');
        minReady = Math.min(minReady, list.filter((i) => i.status?.ready && !i.metadata?.deletionTimestamp && alive(i.status.pid)).length);
        await new Promise((r) => setTimeout(r, 25));
      }
    })();
    await cast({ name: 'web', command: 'sleep', args: ['300'], scale: 2, env: { VERSION: '2' }, health: { readiness } } as never);
    const after = await eventually('every instance on VERSION=2', async () => {
      const list = (await instances('web')).filter((i) => !i.metadata?.deletionTimestamp);
      const pids = list.map((i) => i.status!.pid);
      return list.length === 2 && list.every((i) => i.status?.ready) && pids.every((p) => environOf(p).VERSION === '2') && runeProcesses(ns).size === 2 ? pids : undefined;
    }, 30_000);
    sampling = false;
    await sampler;
    expect(after.filter((p) => before.includes(p))).to.deep.equal([]);
    expect(minReady, 'ready instances during the rolling update').to.be.at.least(2);
  });

  it('restart replaces every instance by a rolling update', async () => {
    await cast({ name: 'web', command: 'sleep', args: ['300'], scale: 2 });
    const before = await readyPids('web', 2);
    await call(c.services, c.services.restartService, { namespace: ns, name: 'web' }, md);
    await eventually('new processes', async () => {
      const list = (await instances('web')).filter((i) => !i.metadata?.deletionTimestamp && i.status?.ready);
      return list.length === 2 && list.every((i) => !before.includes(i.status!.pid)) && runeProcesses(ns).size === 2;
    });
  });

  it('a command that does not exist fails that instance with the reason, others unaffected', async () => {
    await cast({ name: 'good', command: 'sleep', args: ['300'] });
    await cast({ name: 'bad', command: 'no-such-command-xyz' });
    const failed = await eventually('bad to fail', async () => {
      const [i] = await instances('bad');
      return i?.status?.reason === 'StartFailed' ? i : undefined;
    });
    expect(failed.status!.message).to.include('no-such-command-xyz');
    await readyPids('good', 1);
  });

  it('a port already taken by another process fails the instance with that reason', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      await cast({ name: 'web', command: 'sleep', args: ['300'], ports: [{ name: 'http', port, protocol: 'tcp' }] });
      const failed = await eventually('StartFailed', async () => {
        const [i] = await instances('web');
        return i?.status?.reason === 'StartFailed' ? i : undefined;
      });
      expect(failed.status!.message).to.include(`port ${port} is already in use`);
      expect(failed.status!.phase).to.equal('failed');
    } finally {
      blocker.close();
    }
  });

  it('deleting a service stops its processes before the record goes', async () => {
    await cast({ name: 'web', command: 'sleep', args: ['300'], scale: 2 });
    const pids = await readyPids('web', 2);
    const logPaths = (await instances('web')).map((i) => i.status!.logPath);
    expect(logPaths.every((p) => existsSync(p))).to.equal(true);
    await call(c.services, c.services.deleteService, { namespace: ns, name: 'web', resourceVersion: 0 }, md);
    await eventually('service record gone', async () => {
      try {
        await call(c.services, c.services.getService, { namespace: ns, name: 'web' }, md);
        return false;
      } catch (err) {
        return (err as grpc.ServiceError).code === grpc.status.NOT_FOUND;
      }
    });
    expect(pids.filter(alive), 'processes still running after the service went').to.deep.equal([]);
    expect(await instances()).to.deep.equal([]);
    await eventually('the logs of deleted instances removed', () => logPaths.every((p) => !existsSync(p)));
  });

  it('deleting a namespace with --cascade stops everything in it, then removes it', async () => {
    await cast({ name: 'a', command: 'sleep', args: ['300'], scale: 2 });
    await cast({ name: 'b', command: 'sleep', args: ['300'] });
    const pids = [...(await readyPids('a', 2)), ...(await readyPids('b', 1))];
    await call(c.namespaces, c.namespaces.deleteNamespace, { name: ns, cascade: true }, md);
    await eventually('namespace gone', async () => {
      try {
        await call(c.namespaces, c.namespaces.getNamespace, { name: ns }, md);
        return false;
      } catch (err) {
        return (err as grpc.ServiceError).code === grpc.status.NOT_FOUND;
      }
    });
    expect(pids.filter(alive)).to.deep.equal([]);
  });

  it('stops a process that ignores SIGTERM with SIGKILL after stopTimeoutSeconds', async () => {
    await cast({ name: 'stubborn', command: 'sh', args: ['-c', 'trap "" TERM; while true; do sleep 0.1; done'], stopTimeoutSeconds: 1 });
    const [pid] = await readyPids('stubborn', 1);
    const started = Date.now();
    await call(c.services, c.services.scaleService, { namespace: ns, name: 'stubborn', scale: 0 }, md);
    await eventually('stubborn process gone', () => !alive(pid!));
    expect(Date.now() - started).to.be.at.least(900);
  });
});
