/**
 * Durability of the LevelDB store across close and reopen, and its exclusive lock on the data
 * dir. (Crashes of a real runed are covered by the process tests.)
 */
import { expect } from 'chai';
import { rm } from 'node:fs/promises';
import type { Service } from '../../shared/gen/rune/v1/service.js';
import { openLevelStore, type LevelStore } from '../../server/store/level-store.js';
import type { StoreEvent } from '../../server/store/store.js';
import { aNamespace, aService } from '../support/builders.js';
import { expectRuneError } from '../support/expect-rune-error.js';
import { tempStoreDir } from './backends.js';

describe('Store durability: LevelDB', function () {
  let dir: string;
  const open: LevelStore[] = [];

  async function openStore(): Promise<LevelStore> {
    const store = await openLevelStore(dir, { compactEveryMs: 0 });
    open.push(store);
    return store;
  }

  beforeEach(async function () {
    dir = await tempStoreDir();
  });

  afterEach(async function () {
    for (const store of open.splice(0)) await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps every object and the revision across close and reopen, and never reuses a revision', async function () {
    const first = await openStore();
    await first.create('namespaces', aNamespace({ name: 'dev', labels: { team: 'a' } }));
    for (let i = 0; i < 10; i++) await first.create('services', aService({ name: `s${i}`, scale: i, env: { I: String(i) } }));
    await first.update('services', aService({ name: 's3', scale: 30 }));
    await first.delete('services', 'dev', 's7');
    await first.commit([
      { op: 'create', kind: 'services', object: aService({ name: 'api', namespace: 'prod' }) },
      { op: 'update', kind: 'namespaces', object: aNamespace({ name: 'dev', labels: { team: 'b' } }) },
    ]);
    const revision = first.revision;
    expect(revision).to.equal(15);
    const services = await first.list<Service>('services');
    const namespaces = await first.list('namespaces');
    expect(services.items).to.have.length(10);
    await first.close();

    const second = await openStore();
    expect(second.revision).to.equal(revision);
    expect(await second.list('services')).to.deep.equal(services);
    expect(await second.list('namespaces')).to.deep.equal(namespaces);
    expect((await second.get<Service>('services', 'dev', 's3'))!.spec!.scale).to.equal(30);
    expect(await second.get('services', 'dev', 's7')).to.equal(undefined);

    const next = await second.create('services', aService({ name: 'after-reopen' }));
    expect(next.metadata!.resourceVersion).to.equal(revision + 1);
    expect(second.revision).to.equal(revision + 1);
  });

  it('keeps the event log, so a watch can resume from before the restart', async function () {
    const first = await openStore();
    for (let i = 0; i < 5; i++) await first.create('services', aService({ name: `s${i}` }));
    await first.delete('services', 'dev', 's0');
    await first.close();

    const second = await openStore();
    const watcher = second.watch({ fromRevision: 3 });
    try {
      await second.create('services', aService({ name: 'live' }));
      const iterator = watcher[Symbol.asyncIterator]();
      const events: StoreEvent[] = [];
      for (let i = 0; i < 4; i++) {
        const result = await iterator.next();
        expect(result.done, `event ${i + 1} of 4`).to.equal(false);
        events.push(result.value as StoreEvent);
      }
      expect(events.map((e) => [e.revision, e.type, e.name])).to.deep.equal([
        [4, 'ADDED', 's3'],
        [5, 'ADDED', 's4'],
        [6, 'DELETED', 's0'],
        [7, 'ADDED', 'live'],
      ]);
    } finally {
      watcher.close();
    }
  });

  it('keeps the compaction floor across reopen', async function () {
    const first = await openLevelStore(dir, { retainEvents: 5, retainMs: 0, compactEveryMs: 0 });
    open.push(first);
    for (let i = 0; i < 20; i++) await first.create('services', aService({ name: `s${i}` }));
    await first.compact();
    expect(first.compactedRevision).to.equal(15);
    await first.close();

    const second = await openStore();
    expect(second.compactedRevision).to.equal(15);
    await expectRuneError(() => second.watch({ fromRevision: 10 }), 'OUT_OF_RANGE');
  });

  it('refuses a second open of the same dir with FAILED_PRECONDITION naming the dir', async function () {
    const first = await openStore();
    await first.create('services', aService({ name: 'web' }));

    const err = await expectRuneError(openLevelStore(dir, { compactEveryMs: 0 }), 'FAILED_PRECONDITION');
    expect(err.message).to.contain(dir);

    // The holder is unharmed, and the dir opens again once it lets go.
    expect(await first.get('services', 'dev', 'web')).to.not.equal(undefined);
    await first.close();
    const second = await openStore();
    expect(second.revision).to.equal(1);
  });
});
