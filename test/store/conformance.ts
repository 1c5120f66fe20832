/**
 * The store conformance suite: what every Store backend must do, per the contract in
 * server/store/store.ts. A backend's test file calls `storeConformance(name, open)`.
 *
 * Kinds used: `services` (namespaced, spec bumps generation) and `namespaces` (cluster-scoped).
 */
import { expect } from 'chai';
import { RuneError } from '../../shared/errors.js';
import type { Namespace } from '../../shared/gen/rune/v1/namespace.js';
import type { Service } from '../../shared/gen/rune/v1/service.js';
import type { ObjectMeta } from '../../shared/gen/rune/v1/meta.js';
import type { Store, StoredObject } from '../../server/store/store.js';
import { aNamespace, aService } from '../support/builders.js';
import { expectRuneError } from '../support/expect-rune-error.js';

/** Limits a backend must honour when the suite asks for them. */
export interface ConformanceLimits {
  /** Largest encoded object accepted. */
  maxObjectBytes?: number;
}

/** Opens a fresh, empty store; `cleanup` closes it and removes whatever it left behind. */
export type OpenStore = (limits?: ConformanceLimits) => Promise<{ store: Store; cleanup: () => Promise<void> }>;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function metaOf(object: StoredObject | undefined): ObjectMeta {
  expect(object, 'object').to.exist;
  expect(object!.metadata, 'metadata').to.exist;
  return object!.metadata!;
}

function namesOf(items: readonly StoredObject[]): string[] {
  return items.map((item) => metaOf(item).name).sort();
}

/** A copy of `service` that names `resourceVersion` (0: unconditional) and has its spec changed by `change`. */
function edited(service: Service, resourceVersion: number, change: (s: Service) => void = () => undefined): Service {
  const copy = structuredClone(service);
  copy.metadata!.resourceVersion = resourceVersion;
  change(copy);
  return copy;
}

export function storeConformance(name: string, open: OpenStore): void {
  describe(`Store conformance: ${name}`, function () {
    let store: Store;
    let cleanups: (() => Promise<void>)[] = [];

    async function openStore(limits?: ConformanceLimits): Promise<Store> {
      const opened = await open(limits);
      cleanups.push(opened.cleanup);
      return opened.store;
    }

    /** Everything in the store that a failed write must not have touched. */
    async function snapshotOf(s: Store): Promise<{ revision: number; services: StoredObject[]; namespaces: StoredObject[] }> {
      const [services, namespaces] = await Promise.all([s.list('services'), s.list('namespaces')]);
      expect(services.continueToken).to.equal('');
      expect(namespaces.continueToken).to.equal('');
      return { revision: s.revision, services: services.items, namespaces: namespaces.items };
    }

    beforeEach(async function () {
      store = await openStore();
    });

    afterEach(async function () {
      for (const cleanup of cleanups.reverse()) await cleanup();
      cleanups = [];
    });

    describe('create, get, update, delete', function () {
      it('starts empty at revision 0', async function () {
        expect(store.revision).to.equal(0);
        expect((await store.list('services')).items).to.deep.equal([]);
      });

      it('create fills in the server-owned metadata and get returns the same object', async function () {
        const input = aService({ name: 'web', scale: 2, env: { PORT: '8080' }, labels: { tier: 'front' } });
        const created = await store.create('services', input);
        const meta = metaOf(created);
        expect(meta.name).to.equal('web');
        expect(meta.namespace).to.equal('dev');
        expect(meta.uid).to.match(UUID);
        expect(meta.resourceVersion).to.equal(1);
        expect(meta.generation).to.equal(1);
        expect(meta.createdAt).to.be.instanceOf(Date);
        expect(meta.updatedAt).to.deep.equal(meta.createdAt);
        expect(meta.labels).to.deep.equal({ tier: 'front' });
        expect(created.spec).to.deep.equal(input.spec);
        expect(store.revision).to.equal(1);
        expect(await store.get<Service>('services', 'dev', 'web')).to.deep.equal(created);
      });

      it('get of a missing object returns undefined', async function () {
        await store.create('services', aService({ name: 'web', namespace: 'dev' }));
        expect(await store.get('services', 'dev', 'api')).to.equal(undefined);
        expect(await store.get('services', 'dev2', 'web')).to.equal(undefined);
        expect(await store.get('namespaces', '', 'web')).to.equal(undefined);
      });

      it('update replaces the object; delete removes it and returns its last state', async function () {
        const created = await store.create('services', aService({ name: 'web', scale: 1 }));
        const updated = await store.update('services', edited(created, metaOf(created).resourceVersion, (s) => (s.spec!.scale = 5)));
        expect(updated.spec!.scale).to.equal(5);
        expect(metaOf(updated).resourceVersion).to.equal(2);
        expect(await store.get('services', 'dev', 'web')).to.deep.equal(updated);

        const deleted = await store.delete<Service>('services', 'dev', 'web');
        expect(deleted).to.deep.equal(updated);
        expect(store.revision).to.equal(3);
        expect(await store.get('services', 'dev', 'web')).to.equal(undefined);
        expect((await store.list('services')).items).to.deep.equal([]);
      });

      it('a deleted name can be created again, as a new object', async function () {
        const first = await store.create('services', aService({ name: 'web' }));
        await store.delete('services', 'dev', 'web');
        const second = await store.create('services', aService({ name: 'web' }));
        expect(metaOf(second).uid).to.not.equal(metaOf(first).uid);
        expect(metaOf(second).generation).to.equal(1);
        expect(metaOf(second).resourceVersion).to.equal(3);
      });

      it('create of an existing object fails with ALREADY_EXISTS and changes nothing', async function () {
        await store.create('services', aService({ name: 'web', scale: 1 }));
        const before = await snapshotOf(store);
        const err = await expectRuneError(store.create('services', aService({ name: 'web', scale: 9 })), 'ALREADY_EXISTS');
        expect(err.message).to.contain('web');
        expect(await snapshotOf(store)).to.deep.equal(before);
      });

      it('update and delete of a missing object fail with NOT_FOUND and change nothing', async function () {
        await store.create('services', aService({ name: 'web' }));
        const before = await snapshotOf(store);
        await expectRuneError(store.update('services', aService({ name: 'api' })), 'NOT_FOUND');
        await expectRuneError(store.delete('services', 'dev', 'api'), 'NOT_FOUND');
        await expectRuneError(store.delete('services', 'dev2', 'web'), 'NOT_FOUND');
        expect(await snapshotOf(store)).to.deep.equal(before);
      });

      it('works the same for a cluster-scoped kind', async function () {
        const created = await store.create('namespaces', aNamespace({ name: 'dev', labels: { team: 'a' } }));
        expect(metaOf(created).namespace).to.equal('');
        expect(await store.get<Namespace>('namespaces', '', 'dev')).to.deep.equal(created);
        const updated = await store.update('namespaces', aNamespace({ name: 'dev', labels: { team: 'b' } }));
        expect(metaOf(updated).labels).to.deep.equal({ team: 'b' });
        expect(await store.delete('namespaces', '', 'dev')).to.deep.equal(updated);
        expect(await store.get('namespaces', '', 'dev')).to.equal(undefined);
      });

      it('rejects an unknown kind with INVALID_ARGUMENT', async function () {
        await expectRuneError(() => store.get('gizmos', '', 'x'), 'INVALID_ARGUMENT');
        await expectRuneError(() => store.create('gizmos', aNamespace()), 'INVALID_ARGUMENT');
        expect(store.revision).to.equal(0);
      });
    });

    describe('compare-and-set on metadata.resourceVersion', function () {
      it('update with a stale resourceVersion fails with ABORTED and changes nothing', async function () {
        const v1 = await store.create('services', aService({ name: 'web', scale: 1 }));
        await store.update('services', edited(v1, metaOf(v1).resourceVersion, (s) => (s.spec!.scale = 2)));
        const before = await snapshotOf(store);
        const err = await expectRuneError(
          store.update('services', edited(v1, metaOf(v1).resourceVersion, (s) => (s.spec!.scale = 3))),
          'ABORTED',
        );
        expect(err.message).to.contain('stale');
        expect(await snapshotOf(store)).to.deep.equal(before);
        expect((await store.get<Service>('services', 'dev', 'web'))!.spec!.scale).to.equal(2);
      });

      it('delete with a stale resourceVersion fails with ABORTED and changes nothing', async function () {
        const v1 = await store.create('services', aService({ name: 'web' }));
        await store.update('services', edited(v1, 0, (s) => (s.spec!.scale = 2)));
        const before = await snapshotOf(store);
        await expectRuneError(store.delete('services', 'dev', 'web', { resourceVersion: metaOf(v1).resourceVersion }), 'ABORTED');
        expect(await snapshotOf(store)).to.deep.equal(before);
      });

      it('update and delete with the current resourceVersion succeed', async function () {
        const v1 = await store.create('services', aService({ name: 'web' }));
        const v2 = await store.update('services', edited(v1, metaOf(v1).resourceVersion, (s) => (s.spec!.scale = 2)));
        const gone = await store.delete('services', 'dev', 'web', { resourceVersion: metaOf(v2).resourceVersion });
        expect(gone).to.deep.equal(v2);
        expect(await store.get('services', 'dev', 'web')).to.equal(undefined);
      });

      it('update without a resourceVersion is unconditional', async function () {
        const v1 = await store.create('services', aService({ name: 'web', scale: 1 }));
        await store.update('services', edited(v1, 0, (s) => (s.spec!.scale = 2)));
        const v3 = await store.update('services', edited(v1, 0, (s) => (s.spec!.scale = 3)));
        expect(v3.spec!.scale).to.equal(3);
        expect(metaOf(v3).resourceVersion).to.equal(3);
        expect((await store.get<Service>('services', 'dev', 'web'))!.spec!.scale).to.equal(3);
      });
    });

    describe('generation and server-owned metadata', function () {
      it('generation starts at 1 and bumps by one each time the spec changes', async function () {
        const v1 = await store.create('services', aService({ name: 'web', scale: 1, env: { A: '1' } }));
        expect(metaOf(v1).generation).to.equal(1);
        const v2 = await store.update('services', edited(v1, 0, (s) => (s.spec!.scale = 2)));
        expect(metaOf(v2).generation).to.equal(2);
        const v3 = await store.update('services', edited(v2, 0, (s) => (s.spec!.env = { A: '2' })));
        expect(metaOf(v3).generation).to.equal(3);
        expect(metaOf((await store.get('services', 'dev', 'web'))!).generation).to.equal(3);
      });

      it('a labels-only change is written but does not bump generation', async function () {
        const v1 = await store.create('services', aService({ name: 'web', labels: { tier: 'a' } }));
        const v2 = await store.update('services', edited(v1, 0, (s) => (s.metadata!.labels = { tier: 'b' })));
        expect(metaOf(v2).labels).to.deep.equal({ tier: 'b' });
        expect(metaOf(v2).resourceVersion).to.equal(2);
        expect(metaOf(v2).generation).to.equal(1);
      });

      it('the same env in another insertion order does not bump generation', async function () {
        const v1 = await store.create('services', aService({ name: 'web', env: { A: '1', B: '2', C: '3' } }));
        const v2 = await store.update('services', aService({ name: 'web', env: { C: '3', A: '1', B: '2' } }));
        expect(metaOf(v2).generation).to.equal(1);
        expect(metaOf(v2).resourceVersion).to.be.greaterThan(metaOf(v1).resourceVersion);
        // ...while a real change still does, so the comparison is not simply switched off.
        const v3 = await store.update('services', aService({ name: 'web', env: { C: '3', A: '1', B: '9' } }));
        expect(metaOf(v3).generation).to.equal(2);
      });

      it('a status-only change does not bump generation', async function () {
        const v1 = await store.create('services', aService({ name: 'web' }));
        const v2 = await store.update('services', edited(v1, 0, (s) => (s.status = { observedGeneration: 1, desiredInstances: 1, runningInstances: 1, readyInstances: 1, phase: 'Running', message: '', updatedInstances: 1 })));
        expect(v2.status!.phase).to.equal('Running');
        expect(metaOf(v2).generation).to.equal(1);
      });

      it('uid and createdAt survive an update, even when the caller sends others', async function () {
        const v1 = await store.create('services', aService({ name: 'web' }));
        const forged = edited(v1, 0, (s) => {
          s.metadata!.uid = 'forged';
          s.metadata!.createdAt = new Date(0);
          s.metadata!.generation = 42;
          s.spec!.scale = 7;
        });
        const v2 = await store.update('services', forged);
        expect(metaOf(v2).uid).to.equal(metaOf(v1).uid);
        expect(metaOf(v2).createdAt).to.deep.equal(metaOf(v1).createdAt);
        expect(metaOf(v2).generation).to.equal(2);
        expect(await store.get('services', 'dev', 'web')).to.deep.equal(v2);
      });

      it('create ignores a caller-sent uid, resourceVersion and generation', async function () {
        const input = aService({ name: 'web', resourceVersion: 99 });
        input.metadata!.uid = 'forged';
        input.metadata!.generation = 42;
        const created = await store.create('services', input);
        expect(metaOf(created).uid).to.match(UUID);
        expect(metaOf(created).resourceVersion).to.equal(1);
        expect(metaOf(created).generation).to.equal(1);
      });
    });

    describe('revision', function () {
      it('adds exactly one per changed object; resourceVersion is the revision of its write', async function () {
        const a = await store.create('services', aService({ name: 'a' }));
        expect(metaOf(a).resourceVersion).to.equal(1);
        expect(store.revision).to.equal(1);

        const a2 = await store.update('services', edited(a, 0, (s) => (s.spec!.scale = 2)));
        expect(metaOf(a2).resourceVersion).to.equal(2);
        expect(store.revision).to.equal(2);

        const result = await store.commit([
          { op: 'create', kind: 'services', object: aService({ name: 'b' }) },
          { op: 'create', kind: 'services', object: aService({ name: 'c' }) },
          { op: 'create', kind: 'namespaces', object: aNamespace({ name: 'dev' }) },
        ]);
        expect(result.revision).to.equal(5);
        expect(result.objects.map((o) => metaOf(o).resourceVersion)).to.deep.equal([3, 4, 5]);
        expect(store.revision).to.equal(5);

        await store.delete('services', 'dev', 'a');
        expect(store.revision).to.equal(6);
        expect(metaOf(await store.get('services', 'dev', 'b')).resourceVersion).to.equal(3);
      });

      it('stays put when a commit has only checks', async function () {
        await store.create('services', aService({ name: 'a' }));
        const result = await store.commit([
          { op: 'check', kind: 'services', namespace: 'dev', name: 'a', exists: true, error: () => new Error('must exist') },
        ]);
        expect(result.revision).to.equal(1);
        expect(result.objects).to.deep.equal([undefined]);
        expect(store.revision).to.equal(1);
      });
    });

    describe('commit', function () {
      it('applies creates, updates and deletes together', async function () {
        await store.create('services', aService({ name: 'old' }));
        await store.create('services', aService({ name: 'keep', scale: 1 }));
        const result = await store.commit([
          { op: 'check', kind: 'namespaces', namespace: '', name: 'dev', exists: false, error: () => new Error('namespace exists') },
          { op: 'create', kind: 'namespaces', object: aNamespace({ name: 'dev' }) },
          { op: 'update', kind: 'services', object: aService({ name: 'keep', scale: 4 }) },
          { op: 'delete', kind: 'services', namespace: 'dev', name: 'old' },
        ]);
        expect(result.revision).to.equal(5);
        expect(result.objects[0]).to.equal(undefined);
        expect(metaOf(result.objects[3]).name).to.equal('old');
        expect(await store.get('namespaces', '', 'dev')).to.deep.equal(result.objects[1]);
        expect((await store.get<Service>('services', 'dev', 'keep'))!.spec!.scale).to.equal(4);
        expect(await store.get('services', 'dev', 'old')).to.equal(undefined);
      });

      it('a failing check fails the commit with its error and leaves the store unchanged', async function () {
        await store.create('services', aService({ name: 'web' }));
        const before = await snapshotOf(store);
        const refusal = new RuneError('FAILED_PRECONDITION', 'namespace "dev" does not exist; create it first');
        let thrown: unknown;
        try {
          await store.commit([
            { op: 'update', kind: 'services', object: aService({ name: 'web', scale: 9 }) },
            { op: 'create', kind: 'services', object: aService({ name: 'api' }) },
            { op: 'check', kind: 'namespaces', namespace: '', name: 'dev', exists: true, error: () => refusal },
          ]);
        } catch (err) {
          thrown = err;
        }
        expect(thrown).to.equal(refusal);
        expect(await snapshotOf(store)).to.deep.equal(before);
      });

      it('a failing second op leaves the first undone', async function () {
        await store.create('services', aService({ name: 'web' }));
        const before = await snapshotOf(store);
        await expectRuneError(
          store.commit([
            { op: 'create', kind: 'services', object: aService({ name: 'api' }) },
            { op: 'create', kind: 'services', object: aService({ name: 'web' }) },
          ]),
          'ALREADY_EXISTS',
        );
        await expectRuneError(
          store.commit([
            { op: 'update', kind: 'services', object: aService({ name: 'web', scale: 3 }) },
            { op: 'delete', kind: 'services', namespace: 'dev', name: 'missing' },
          ]),
          'NOT_FOUND',
        );
        expect(await snapshotOf(store)).to.deep.equal(before);
        expect(await store.get('services', 'dev', 'api')).to.equal(undefined);
      });

      it('later ops see the earlier ops of the same commit', async function () {
        const result = await store.commit([
          { op: 'create', kind: 'services', object: aService({ name: 'web', scale: 1 }) },
          { op: 'update', kind: 'services', object: aService({ name: 'web', scale: 2 }) },
          { op: 'check', kind: 'services', namespace: 'dev', name: 'web', exists: true, error: () => new Error('web must exist') },
        ]);
        expect(result.revision).to.equal(2);
        const web = await store.get<Service>('services', 'dev', 'web');
        expect(web!.spec!.scale).to.equal(2);
        expect(metaOf(web).generation).to.equal(2);
        expect(metaOf(web).uid).to.equal(metaOf(result.objects[0]).uid);
      });

      it('a failing commit does not affect commits submitted at the same time', async function () {
        await store.create('services', aService({ name: 'web' }));
        const [first, bad, last] = await Promise.allSettled([
          store.create('services', aService({ name: 'a' })),
          store.commit([
            { op: 'create', kind: 'services', object: aService({ name: 'half' }) },
            { op: 'create', kind: 'services', object: aService({ name: 'web' }) },
          ]),
          store.create('services', aService({ name: 'b' })),
        ]);
        expect(first.status).to.equal('fulfilled');
        expect(bad.status).to.equal('rejected');
        expect((bad as PromiseRejectedResult).reason).to.be.instanceOf(RuneError).with.property('code', 'ALREADY_EXISTS');
        expect(last.status).to.equal('fulfilled');
        expect(store.revision).to.equal(3);
        expect(namesOf((await store.list('services')).items)).to.deep.equal(['a', 'b', 'web']);
      });

      it('modify changes the object as the commit sees it, with no version to go stale', async function () {
        const created = await store.create<Service>('services', aService({ name: 'web', scale: 1 }));
        const seen: (number | undefined)[] = [];
        // Two modifies in flight at once: each sees the other's write, neither is ABORTED.
        const bump = () =>
          store.commit([
            {
              op: 'modify',
              kind: 'services',
              namespace: 'dev',
              name: 'web',
              change: (current) => {
                const service = current as Service;
                seen.push(service.spec!.scale);
                return { ...service, spec: { ...service.spec!, scale: service.spec!.scale + 1 } };
              },
            },
          ]);
        const [first, second] = await Promise.all([bump(), bump()]);
        expect(seen).to.deep.equal([1, 2]);
        const web = await store.get<Service>('services', 'dev', 'web');
        expect(web!.spec!.scale).to.equal(3);
        expect(metaOf(web).uid).to.equal(metaOf(created).uid);
        expect(metaOf(web).generation).to.equal(3);
        expect(metaOf(second.objects[0]).resourceVersion).to.equal(metaOf(first.objects[0]).resourceVersion + 1);
      });

      it('modify writes nothing when change returns undefined, creates when absent, and fails alone when change throws', async function () {
        await store.create('services', aService({ name: 'web' }));
        const unchanged = await store.commit([{ op: 'modify', kind: 'services', namespace: 'dev', name: 'web', change: () => undefined }]);
        expect(store.revision).to.equal(1);
        expect(metaOf(unchanged.objects[0]).name).to.equal('web');

        const absent: (StoredObject | undefined)[] = [];
        const created = await store.commit([
          { op: 'modify', kind: 'services', namespace: 'dev', name: 'api', change: (current) => (absent.push(current), aService({ name: 'api' })) },
        ]);
        expect(absent).to.deep.equal([undefined]);
        expect(metaOf(created.objects[0]).generation).to.equal(1);
        expect(store.revision).to.equal(2);

        const refusal = new RuneError('FAILED_PRECONDITION', 'no');
        const [bad, good] = await Promise.allSettled([
          store.commit([
            { op: 'create', kind: 'services', object: aService({ name: 'half' }) },
            { op: 'modify', kind: 'services', namespace: 'dev', name: 'web', change: () => { throw refusal; } },
          ]),
          store.create('services', aService({ name: 'b' })),
        ]);
        expect((bad as PromiseRejectedResult).reason).to.equal(refusal);
        expect(good.status).to.equal('fulfilled');
        expect(await store.get('services', 'dev', 'half')).to.equal(undefined);

        await expectRuneError(
          store.commit([{ op: 'modify', kind: 'services', namespace: 'dev', name: 'web', change: () => aService({ name: 'other' }) }]),
          'INVALID_ARGUMENT',
        );
      });
    });

    describe('list', function () {
      it('lists one namespace without its prefix-sharing neighbours, or all namespaces', async function () {
        for (const n of ['a', 'b', 'c']) await store.create('services', aService({ name: n, namespace: 'dev' }));
        for (const n of ['a', 'x']) await store.create('services', aService({ name: n, namespace: 'dev2' }));
        await store.create('services', aService({ name: 'z', namespace: 'de' }));

        const dev = await store.list('services', { namespace: 'dev' });
        expect(namesOf(dev.items)).to.deep.equal(['a', 'b', 'c']);
        expect(dev.items.every((s) => metaOf(s).namespace === 'dev')).to.equal(true);
        expect(namesOf((await store.list('services', { namespace: 'dev2' })).items)).to.deep.equal(['a', 'x']);
        expect(namesOf((await store.list('services', { namespace: 'de' })).items)).to.deep.equal(['z']);

        const all = await store.list('services');
        expect(all.items.map((s) => `${metaOf(s).namespace}/${metaOf(s).name}`).sort()).to.deep.equal(
          ['de/z', 'dev/a', 'dev/b', 'dev/c', 'dev2/a', 'dev2/x'],
        );
        expect((await store.list('services', { namespace: '' })).items).to.have.length(6);
        expect((await store.list('services', { namespace: 'prod' })).items).to.deep.equal([]);
      });

      it('lists only the asked kind', async function () {
        await store.create('namespaces', aNamespace({ name: 'dev' }));
        await store.create('services', aService({ name: 'web' }));
        expect(namesOf((await store.list('namespaces')).items)).to.deep.equal(['dev']);
        expect(namesOf((await store.list('services')).items)).to.deep.equal(['web']);
      });

      it('pages with limit and continueToken: every item exactly once', async function () {
        const expected: string[] = [];
        for (let i = 0; i < 25; i++) {
          const n = `svc-${String(i).padStart(2, '0')}`;
          expected.push(n);
          await store.create('services', aService({ name: n, namespace: 'dev' }));
        }
        await store.create('services', aService({ name: 'other', namespace: 'dev2' }));

        const seen: string[] = [];
        const pageSizes: number[] = [];
        let token = '';
        for (let page = 0; page < 10; page++) {
          const result = await store.list('services', { namespace: 'dev', limit: 10, continueToken: token });
          pageSizes.push(result.items.length);
          seen.push(...result.items.map((s) => metaOf(s).name));
          token = result.continueToken;
          if (!token) break;
        }
        expect(token, 'the walk must end').to.equal('');
        expect(pageSizes).to.deep.equal([10, 10, 5]);
        expect(seen).to.have.length(25);
        expect(new Set(seen).size).to.equal(25);
        expect([...seen].sort()).to.deep.equal(expected);
      });

      it('an exact last page ends with an empty continueToken', async function () {
        for (let i = 0; i < 4; i++) await store.create('services', aService({ name: `s${i}` }));
        const first = await store.list('services', { limit: 2 });
        expect(first.continueToken).to.not.equal('');
        const second = await store.list('services', { limit: 2, continueToken: first.continueToken });
        expect(second.items).to.have.length(2);
        expect(second.continueToken).to.equal('');
      });

      it('rejects a bogus continue token, or one from another list, with INVALID_ARGUMENT', async function () {
        for (let i = 0; i < 3; i++) await store.create('services', aService({ name: `s${i}`, namespace: 'dev' }));
        await expectRuneError(store.list('services', { continueToken: 'bogus' }), 'INVALID_ARGUMENT');
        await expectRuneError(store.list('services', { continueToken: 'not base64 at all!' }), 'INVALID_ARGUMENT');
        const page = await store.list('services', { namespace: 'dev', limit: 1 });
        expect(page.continueToken).to.not.equal('');
        await expectRuneError(store.list('services', { namespace: 'dev2', continueToken: page.continueToken }), 'INVALID_ARGUMENT');
        await expectRuneError(store.list('namespaces', { continueToken: page.continueToken }), 'INVALID_ARGUMENT');
      });

      it('filters on labels, every entry matching, across pages', async function () {
        for (let i = 0; i < 12; i++) {
          await store.create('services', aService({ name: `s${String(i).padStart(2, '0')}`, labels: { tier: i % 2 === 0 ? 'web' : 'db', zone: i < 6 ? 'a' : 'b' } }));
        }
        const web = await store.list('services', { labels: { tier: 'web' } });
        expect(namesOf(web.items)).to.deep.equal(['s00', 's02', 's04', 's06', 's08', 's10']);
        const webB = await store.list('services', { labels: { tier: 'web', zone: 'b' } });
        expect(namesOf(webB.items)).to.deep.equal(['s06', 's08', 's10']);
        expect((await store.list('services', { labels: { tier: 'cache' } })).items).to.deep.equal([]);

        const paged: string[] = [];
        let token = '';
        for (let page = 0; page < 10; page++) {
          const result = await store.list('services', { labels: { tier: 'db' }, limit: 4, continueToken: token });
          paged.push(...namesOf(result.items));
          token = result.continueToken;
          if (!token) break;
        }
        expect(token).to.equal('');
        expect(paged.sort()).to.deep.equal(['s01', 's03', 's05', 's07', 's09', 's11']);
      });

      it('lists newest key first with reverse, paging backwards through every item once', async function () {
        for (let i = 0; i < 7; i++) await store.create('services', aService({ name: `s${i}`, namespace: 'dev' }));
        await store.create('services', aService({ name: 'zz', namespace: 'dev2' }));
        const seen: string[] = [];
        let token = '';
        for (let page = 0; page < 10; page++) {
          const result = await store.list('services', { namespace: 'dev', limit: 3, continueToken: token, reverse: true });
          seen.push(...result.items.map((o) => metaOf(o).name));
          token = result.continueToken;
          if (!token) break;
        }
        expect(seen).to.deep.equal(['s6', 's5', 's4', 's3', 's2', 's1', 's0']);
      });

      it('fills pages with only the objects a match function accepts', async function () {
        for (let i = 0; i < 10; i++) await store.create('services', aService({ name: `s${i}`, scale: i }));
        const even = (o: StoredObject) => ((o as ReturnType<typeof aService>).spec!.scale % 2 === 0);
        const first = await store.list('services', { limit: 2, match: even });
        expect(namesOf(first.items)).to.deep.equal(['s0', 's2']);
        const rest = await store.list('services', { limit: 10, match: even, continueToken: first.continueToken });
        expect(namesOf(rest.items)).to.deep.equal(['s4', 's6', 's8']);
        expect(rest.continueToken).to.equal('');
      });

      it("returns the store revision at read time", async function () {
        expect((await store.list('services')).revision).to.equal(0);
        await store.create('services', aService({ name: 'a' }));
        await store.create('namespaces', aNamespace({ name: 'dev' }));
        expect(store.revision).to.equal(2);
        expect((await store.list('services')).revision).to.equal(2);
        expect((await store.list('services', { namespace: 'nowhere' })).revision).to.equal(2);
        await store.delete('namespaces', '', 'dev');
        expect((await store.list('services', { limit: 1 })).revision).to.equal(3);
      });

      it('rejects a negative or fractional limit with INVALID_ARGUMENT', async function () {
        await expectRuneError(store.list('services', { limit: -1 }), 'INVALID_ARGUMENT');
        await expectRuneError(store.list('services', { limit: 1.5 }), 'INVALID_ARGUMENT');
      });
    });

    describe('validation', function () {
      it('rejects an oversized object with INVALID_ARGUMENT and changes nothing', async function () {
        const small = await openStore({ maxObjectBytes: 512 });
        const fits = await small.create('services', aService({ name: 'web', env: { A: 'x'.repeat(50) } }));
        const before = await snapshotOf(small);
        const huge = { BLOB: 'x'.repeat(2000) };
        const err = await expectRuneError(small.create('services', aService({ name: 'big', env: huge })), 'INVALID_ARGUMENT');
        expect(err.message).to.match(/512/);
        await expectRuneError(small.update('services', aService({ name: 'web', env: huge })), 'INVALID_ARGUMENT');
        expect(await snapshotOf(small)).to.deep.equal(before);
        expect(await small.get('services', 'dev', 'web')).to.deep.equal(fits);
        expect(await small.get('services', 'dev', 'big')).to.equal(undefined);
      });

      it('rejects a namespace on a cluster-scoped kind, and none on a namespaced kind', async function () {
        await store.create('namespaces', aNamespace({ name: 'dev' }));
        const before = await snapshotOf(store);
        const stray = aNamespace({ name: 'prod' });
        stray.metadata!.namespace = 'dev';
        await expectRuneError(store.create('namespaces', stray), 'INVALID_ARGUMENT');
        const strayUpdate = aNamespace({ name: 'dev', labels: { changed: 'yes' } });
        strayUpdate.metadata!.namespace = 'dev';
        await expectRuneError(store.update('namespaces', strayUpdate), 'INVALID_ARGUMENT');
        await expectRuneError(store.create('services', aService({ name: 'web', namespace: '' })), 'INVALID_ARGUMENT');
        await expectRuneError(() => store.delete('namespaces', 'dev', 'dev'), 'INVALID_ARGUMENT');
        await expectRuneError(() => store.get('namespaces', 'dev', 'dev'), 'INVALID_ARGUMENT');
        await expectRuneError(() => store.get('services', '', 'web'), 'INVALID_ARGUMENT');
        await expectRuneError(
          () => store.commit([{ op: 'check', kind: 'namespaces', namespace: 'dev', name: 'dev', exists: true, error: () => new Error('gone') }]),
          'INVALID_ARGUMENT',
        );
        expect(await snapshotOf(store)).to.deep.equal(before);
      });

      it('rejects an object without a name with INVALID_ARGUMENT', async function () {
        await expectRuneError(store.create('services', aService({ name: '' })), 'INVALID_ARGUMENT');
        expect(store.revision).to.equal(0);
      });
    });

    describe("the caller's objects", function () {
      it('are not mutated by create, update, delete or commit', async function () {
        const input = aService({ name: 'web', scale: 2, env: { B: '2', A: '1' }, labels: { tier: 'web' } });
        const inputCopy = structuredClone(input);
        const created = await store.create('services', input);
        expect(input).to.deep.equal(inputCopy);
        expect(created).to.not.equal(input);

        const change = edited(created, metaOf(created).resourceVersion, (s) => (s.spec!.scale = 3));
        const changeCopy = structuredClone(change);
        await store.update('services', change);
        expect(change).to.deep.equal(changeCopy);

        const ops = [
          { op: 'create' as const, kind: 'services', object: aService({ name: 'api' }) },
          { op: 'update' as const, kind: 'services', object: aService({ name: 'web', scale: 4 }) },
        ];
        const opsCopy = structuredClone(ops);
        await store.commit(ops);
        expect(ops).to.deep.equal(opsCopy);
      });

      it('changing an object after writing it does not change what was stored', async function () {
        const input = aService({ name: 'web', env: { A: '1' }, labels: { tier: 'web' } });
        const created = await store.create('services', input);
        const stored = structuredClone(created);
        input.spec!.env.A = 'changed';
        input.metadata!.labels.tier = 'changed';
        expect(await store.get('services', 'dev', 'web')).to.deep.equal(stored);
      });
    });
  });
}
