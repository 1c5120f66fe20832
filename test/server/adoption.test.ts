/**
 * Workloads survive runed: kill -9 runed, restart it on the same data dir, and the instances
 * that kept running are adopted (same PIDs, none duplicated) while one that died meanwhile is
 * restarted.
 */
import * as grpc from '@grpc/grpc-js';
import { expect } from 'chai';
import { rm } from 'node:fs/promises';
import { Service } from '../../shared/gen/rune/v1/service.js';
import { aNamespace } from '../support/builders.js';
import { alive, eventually, runeProcesses } from '../support/procs.js';
import { startRunedProcess, type RunedProcess } from '../support/runed-process.js';
import { auth, call, clients } from '../support/test-runed.js';

describe('adoption after kill -9 of runed (real runed process)', function () {
  this.timeout(90_000);
  // Its own namespace: processes of other suites (also in 'default') are not counted.
  const ns = `adopt-${process.pid}`;
  let first: RunedProcess | undefined;
  let second: RunedProcess | undefined;

  after(async () => {
    // Whatever happened, leave no process behind.
    for (const pid of runeProcesses(ns).keys()) {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    await second?.stop();
    await first?.kill();
    if (first) {
      await rm(first.dataDir, { recursive: true, force: true });
      await rm(first.home, { recursive: true, force: true });
    }
  });

  it('adopts the instances still running, restarts the one that died, duplicates nothing', async () => {
    first = await startRunedProcess();
    const c1 = clients(first.grpcAddr);
    const md1 = auth(first.token);
    await call(c1.namespaces, c1.namespaces.createNamespace, { namespace: aNamespace({ name: ns }) }, md1);
    const service = Service.fromPartial({ metadata: { name: 'keep', namespace: ns }, spec: { runtime: 'process', command: 'sleep', args: ['300'], scale: 3 } });
    await call(c1.services, c1.services.castService, { service, dryRun: false }, md1);
    const before = await eventually('3 running instances', async () => {
      const { instances } = await call(c1.instances, c1.instances.listInstances, { namespace: ns, service: 'keep', options: undefined }, md1);
      const running = instances.filter((i) => i.status?.pid && alive(i.status.pid));
      return running.length === 3 ? new Map(running.map((i) => [i.metadata!.name, i.status!.pid])) : undefined;
    });
    c1.close();

    await first.kill(); // kill -9: no shutdown code runs
    expect([...before.values()].every(alive), 'instances outlive runed').to.equal(true);
    const [victimName, victimPid] = [...before.entries()][0]!;
    process.kill(victimPid, 'SIGKILL'); // dies while runed is down

    second = await startRunedProcess({ dataDir: first.dataDir, home: first.home });
    const c2 = clients(second.grpcAddr);
    const md2 = auth(second.token);
    const after = await eventually('adopted + restarted', async () => {
      const { instances } = await call(c2.instances, c2.instances.listInstances, { namespace: ns, service: 'keep', options: undefined }, md2);
      const running = instances.filter((i) => i.status?.pid && alive(i.status.pid) && i.status.ready);
      return running.length === 3 ? new Map(running.map((i) => [i.metadata!.name, i.status!])) : undefined;
    }, 30_000);
    for (const [name, pid] of before) {
      if (name === victimName) {
        expect(after.get(name)!.pid, 'the dead one was restarted').not.to.equal(pid);
        expect(after.get(name)!.restartCount).to.equal(1);
      } else {
        expect(after.get(name)!.pid, `${name} adopted with the same PID`).to.equal(pid);
      }
    }
    // No duplicates, and it stays that way.
    await new Promise((r) => setTimeout(r, 1500));
    expect(runeProcesses(ns).size).to.equal(3);

    // Deleting now stops the adopted processes too.
    await call(c2.services, c2.services.deleteService, { namespace: ns, name: 'keep', resourceVersion: 0 }, md2);
    await eventually('all stopped', () => runeProcesses(ns).size === 0, 20_000);
    c2.close();
    expect((await second.stop())).to.equal(0);
  });
});

void grpc;
