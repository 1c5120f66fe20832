import { expect } from 'chai';
import { Instance } from '../../shared/gen/rune/v1/instance.js';
import { Service } from '../../shared/gen/rune/v1/service.js';
import { HOST_PORT_ROLLOUT, computeServicePlan, isServiceAtRest, templateHash } from '../../server/orchestrator/service-plan.js';
import { canonicalJson } from '../../server/store/kinds.js';

function aService(scale: number, options: { command?: string; epoch?: number; deleting?: boolean } = {}): Service {
  return Service.fromPartial({
    metadata: { name: 'web', namespace: 'default', generation: 3, deletionTimestamp: options.deleting ? new Date() : undefined },
    spec: { runtime: 'process', command: options.command ?? 'sleep', scale },
    restartEpoch: options.epoch ?? 0,
  });
}

let seq = 0;
/** An instance of `service`'s template (or an old one), ready or not. */
function anInstance(service: Service, state: { ready?: boolean; old?: boolean; phase?: string; deleting?: boolean } = {}): Instance {
  seq++;
  return Instance.fromPartial({
    metadata: { name: `web-${seq}`, namespace: 'default', createdAt: new Date(1_000_000 + seq * 1000), deletionTimestamp: state.deleting ? new Date() : undefined },
    spec: { service: 'web', templateHash: state.old ? 'old-template' : templateHash(service) },
    status: { phase: state.phase ?? (state.ready === false ? 'running' : 'ready'), ready: state.ready ?? true },
  });
}

const times = <T>(n: number, f: () => T): T[] => Array.from({ length: n }, f);

describe('computeServicePlan', () => {
  const svc = aService(3);
  const rows: { name: string; service: Service; instances: Instance[]; create: number; deletes: number; phase: string }[] = [
    { name: 'fresh service: create scale instances', service: svc, instances: [], create: 3, deletes: 0, phase: 'Pending' },
    { name: 'converged: nothing to do', service: svc, instances: times(3, () => anInstance(svc)), create: 0, deletes: 0, phase: 'Running' },
    { name: 'scale up 3 → 5', service: aService(5), instances: times(3, () => anInstance(aService(5))), create: 2, deletes: 0, phase: 'Degraded' },
    { name: 'scale down 3 → 1', service: aService(1), instances: times(3, () => anInstance(aService(1))), create: 0, deletes: 2, phase: 'Running' },
    { name: 'scale to 0 deletes all', service: aService(0), instances: times(2, () => anInstance(aService(0))), create: 0, deletes: 2, phase: 'Stopped' },
    { name: 'deleting service deletes all', service: aService(2, { deleting: true }), instances: times(2, () => anInstance(aService(2))), create: 0, deletes: 2, phase: 'Deleting' },
    { name: 'instances already deleting are not counted', service: svc, instances: [...times(3, () => anInstance(svc)), anInstance(svc, { deleting: true })], create: 0, deletes: 0, phase: 'Running' },
    { name: 'rolling update starts: one surge instance, old ones kept', service: svc, instances: times(3, () => anInstance(svc, { old: true })), create: 1, deletes: 0, phase: 'Degraded' },
    {
      name: 'rolling: new one not ready yet → wait',
      service: svc,
      instances: [...times(3, () => anInstance(svc, { old: true })), anInstance(svc, { ready: false })],
      create: 0,
      deletes: 0,
      phase: 'Degraded',
    },
    {
      name: 'rolling: new one ready → one old goes',
      service: svc,
      instances: [...times(3, () => anInstance(svc, { old: true })), anInstance(svc)],
      create: 0,
      deletes: 1,
      phase: 'Degraded',
    },
    {
      name: 'rolling: a crash-looping old instance may go at once',
      service: svc,
      instances: [anInstance(svc, { old: true, ready: false, phase: 'failed' }), ...times(2, () => anInstance(svc, { old: true }))],
      create: 1,
      deletes: 1,
      phase: 'Degraded',
    },
  ];
  for (const row of rows) {
    it(row.name, () => {
      const plan = computeServicePlan(row.service, row.instances);
      expect(plan.create, 'create').to.equal(row.create);
      expect(plan.delete, 'delete').to.have.length(row.deletes);
      expect(plan.status.phase).to.equal(row.phase);
    });
  }

  it('scales down the not-ready and newest instances first', () => {
    const s = aService(1);
    const oldest = anInstance(s);
    const notReady = anInstance(s, { ready: false });
    const newest = anInstance(s);
    const plan = computeServicePlan(s, [oldest, notReady, newest]);
    expect(plan.delete).to.deep.equal([notReady.metadata!.name, newest.metadata!.name]);
  });

  it('never lets ready instances drop below scale while rolling (simulated to the end)', () => {
    // Play the plan forward: created instances become ready one step later; deletions are immediate.
    const s = aService(3, { command: 'new' });
    let instances = times(3, () => anInstance(s, { old: true }));
    let minReady = Infinity;
    for (let step = 0; step < 50; step++) {
      instances = instances.map((i) => (i.status!.ready ? i : { ...i, status: { ...i.status!, ready: true, phase: 'ready' } }));
      const plan = computeServicePlan(s, instances);
      instances = instances.filter((i) => !plan.delete.includes(i.metadata!.name));
      minReady = Math.min(minReady, instances.filter((i) => i.status!.ready).length);
      instances.push(...times(plan.create, () => anInstance(s, { ready: false })));
      if (plan.create === 0 && plan.delete.length === 0 && instances.every((i) => i.spec!.templateHash === templateHash(s))) break;
    }
    expect(instances.every((i) => i.spec!.templateHash === templateHash(s)), 'all replaced').to.equal(true);
    expect(instances).to.have.length(3);
    expect(minReady).to.be.at.least(3);
  });

  it('with host ports, replaces in place: an old instance stops before a new one starts', () => {
    const s = aService(2, { command: 'new' });
    const old = times(2, () => anInstance(s, { old: true }));
    const first = computeServicePlan(s, old, HOST_PORT_ROLLOUT);
    expect(first.create).to.equal(0);
    expect(first.delete).to.have.length(1);
    const second = computeServicePlan(s, old.filter((i) => !first.delete.includes(i.metadata!.name)), HOST_PORT_ROLLOUT);
    expect(second.create).to.equal(1);
    expect(second.delete).to.have.length(0);
  });

  it('the template hash ignores scale but not the command or the restart epoch', () => {
    expect(templateHash(aService(1))).to.equal(templateHash(aService(7)));
    expect(templateHash(aService(1))).not.to.equal(templateHash(aService(1, { command: 'other' })));
    expect(templateHash(aService(1))).not.to.equal(templateHash(aService(1, { epoch: 1 })));
  });

  it('reports counts in the status', () => {
    const plan = computeServicePlan(svc, [anInstance(svc), anInstance(svc, { ready: false }), anInstance(svc, { old: true })]);
    expect(plan.status).to.include({ desiredInstances: 3, readyInstances: 2, runningInstances: 3, updatedInstances: 2, observedGeneration: 3 });
  });
});

describe('isServiceAtRest', () => {
  /** The service with the status its controller writes when it has no instances. */
  const settled = (service: Service): Service => ({ ...service, status: computeServicePlan(service, []).status });
  const cases: { name: string; service: Service; atRest: boolean }[] = [
    { name: 'scale 0 with its status written', service: settled(aService(0)), atRest: true },
    { name: 'scale 0 without a status', service: aService(0), atRest: false },
    { name: 'scale 0, status of an older generation', service: { ...settled(aService(0)), metadata: { ...aService(0).metadata!, generation: 4 } }, atRest: false },
    { name: 'scale 0, status still counting a running instance', service: { ...settled(aService(0)), status: { ...settled(aService(0)).status!, runningInstances: 1 } }, atRest: false },
    { name: 'scale 2 (instances to create)', service: settled(aService(2)), atRest: false },
    { name: 'being deleted (finalizer to remove)', service: settled(aService(0, { deleting: true })), atRest: false },
  ];
  for (const c of cases) {
    it(`${c.name}: ${c.atRest ? 'at rest' : 'needs a look'}`, () => {
      expect(isServiceAtRest(c.service)).to.equal(c.atRest);
    });
  }

  it('at rest means the controller would write nothing: no instance to create or delete, the same status', () => {
    for (const { service } of cases.filter((c) => c.atRest)) {
      const plan = computeServicePlan(service, []);
      expect(plan.create).to.equal(0);
      expect(plan.delete).to.deep.equal([]);
      expect(canonicalJson(plan.status)).to.equal(canonicalJson(service.status));
    }
  });
});
