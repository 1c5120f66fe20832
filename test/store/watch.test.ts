/**
 * Watch: every event after `fromRevision`, in revision order, no gaps, no duplicates, or an
 * error that says what to do (OUT_OF_RANGE: relist; RESOURCE_EXHAUSTED: resume from revision N;
 * UNAVAILABLE: the store closed). Runs against every backend in backends.ts.
 */
import { expect } from 'chai';
import { RuneError } from '../../shared/errors.js';
import { Service } from '../../shared/gen/rune/v1/service.js';
import type { LevelStoreOptions } from '../../server/store/level-store.js';
import type { Store, StoreEvent, WatchOptions, Watcher } from '../../server/store/store.js';
import { aNamespace, aService } from '../support/builders.js';
import { expectRuneError } from '../support/expect-rune-error.js';
import { storeBackends } from './backends.js';

/** The watcher's next result; fails after `ms` rather than hanging when nothing comes. */
async function nextWithin(watcher: Watcher, ms: number): Promise<IteratorResult<StoreEvent>> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no event and no end within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([watcher[Symbol.asyncIterator]().next(), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** The next `count` events, each within `ms`. */
async function take(watcher: Watcher, count: number, ms = 5000): Promise<StoreEvent[]> {
  const events: StoreEvent[] = [];
  while (events.length < count) {
    const result = await nextWithin(watcher, ms);
    if (result.done) throw new Error(`the watch ended after ${events.length} of ${count} events`);
    events.push(result.value);
  }
  return events;
}

/** Reads until the watch throws (at most `limit` events); returns what was delivered and the error. */
async function drainUntilError(watcher: Watcher, limit: number): Promise<{ events: StoreEvent[]; error: unknown }> {
  const events: StoreEvent[] = [];
  for (let i = 0; i <= limit; i++) {
    try {
      const result = await nextWithin(watcher, 5000);
      if (result.done) break;
      events.push(result.value);
    } catch (error) {
      return { events, error };
    }
  }
  return expect.fail(`expected the watch to fail within ${limit} events; got ${events.length} and no error`);
}

/** What a watcher must see identically whether the event was replayed or live. */
function fingerprint(e: StoreEvent): string {
  return `${e.revision} ${e.type} ${e.kind} ${e.namespace}/${e.name} ${Buffer.from(e.encoded).toString('hex')}`;
}

function revisionsOf(events: readonly StoreEvent[]): number[] {
  return events.map((e) => e.revision);
}

/** [from, from+1, ..., to] */
function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
}

/** The revision a RESOURCE_EXHAUSTED message tells the watcher to resume from. */
function resumeRevisionIn(err: RuneError): number {
  const match = /resume from revision (\d+)/.exec(err.message);
  expect(match, `"${err.message}" should name the revision to resume from`).to.not.equal(null);
  return Number(match![1]);
}

/** `count` creates of services s0..s{count-1} in `namespace`, one commit each. */
async function createServices(store: Store, count: number, namespace = 'dev'): Promise<void> {
  for (let i = 0; i < count; i++) await store.create('services', aService({ name: `s${i}`, namespace }));
}

for (const backend of storeBackends) {
  describe(`Store watch: ${backend.name}`, function () {
    let store: Store;
    let cleanups: (() => Promise<void>)[] = [];
    const watchers: Watcher[] = [];

    async function openStore(options?: LevelStoreOptions): Promise<Store> {
      const opened = await backend.open(options);
      cleanups.push(opened.cleanup);
      return opened.store;
    }

    function watch(s: Store, options: WatchOptions): Watcher {
      const watcher = s.watch(options);
      watchers.push(watcher);
      return watcher;
    }

    beforeEach(async function () {
      store = await openStore();
    });

    afterEach(async function () {
      for (const watcher of watchers.splice(0)) watcher.close();
      for (const cleanup of cleanups.reverse()) await cleanup();
      cleanups = [];
    });

    it('from revision 0 sees only new events, each with its object and its encoding', async function () {
      await createServices(store, 3);
      const fromNow = watch(store, {});
      const fromZero = watch(store, { fromRevision: 0 });
      expect(fromNow.startRevision).to.equal(3);
      expect(fromZero.startRevision).to.equal(3);

      const added = await store.create('services', aService({ name: 'new', scale: 1 }));
      const modified = await store.update('services', aService({ name: 's0', scale: 2 }));
      const deleted = await store.delete('services', 'dev', 's1');

      for (const watcher of [fromNow, fromZero]) {
        const events = await take(watcher, 3);
        expect(events.map((e) => [e.revision, e.type, e.kind, e.namespace, e.name])).to.deep.equal([
          [4, 'ADDED', 'services', 'dev', 'new'],
          [5, 'MODIFIED', 'services', 'dev', 's0'],
          [6, 'DELETED', 'services', 'dev', 's1'],
        ]);
        expect(events.map((e) => e.object)).to.deep.equal([added, modified, deleted]);
        for (const e of events) expect(Service.decode(e.encoded)).to.deep.equal(e.object);
      }
    });

    it('resumes from a revision: replays exactly the events after it, then live ones, in order', async function () {
      await createServices(store, 4); // revisions 1-4
      await store.update('services', aService({ name: 's0', scale: 5 })); // 5
      await store.delete('services', 'dev', 's1'); // 6

      const watcher = watch(store, { fromRevision: 2 });
      expect(watcher.startRevision).to.equal(2);
      const replayed = await take(watcher, 4);
      expect(replayed.map((e) => [e.revision, e.type, e.name])).to.deep.equal([
        [3, 'ADDED', 's2'],
        [4, 'ADDED', 's3'],
        [5, 'MODIFIED', 's0'],
        [6, 'DELETED', 's1'],
      ]);
      expect((replayed[2]!.object as Service).spec!.scale).to.equal(5);

      await store.create('namespaces', aNamespace({ name: 'dev' })); // 7
      await store.update('services', aService({ name: 's2', scale: 3 })); // 8
      const live = await take(watcher, 2);
      expect(live.map((e) => [e.revision, e.type, e.kind, e.name])).to.deep.equal([
        [7, 'ADDED', 'namespaces', 'dev'],
        [8, 'MODIFIED', 'services', 's2'],
      ]);
    });

    it('delivers every revision exactly once, in order, under 8 concurrent writers', async function () {
      this.timeout(20_000);
      const writers = 8;
      const writesEach = 100;
      await store.create('namespaces', aNamespace({ name: 'dev' }));
      const start = store.revision;
      const end = start + writers * writesEach;

      const fromStart = watch(store, { fromRevision: start });
      const collectedFromStart = take(fromStart, writers * writesEach, 15_000);
      collectedFromStart.catch(() => undefined); // awaited below; not unhandled if a writer fails first
      let midway: Watcher | undefined;

      await Promise.all(
        Array.from({ length: writers }, async (_, w) => {
          await store.create('services', aService({ name: `w${w}`, scale: 0 }));
          for (let i = 1; i < writesEach; i++) {
            await store.update('services', aService({ name: `w${w}`, scale: i }));
            if (!midway && store.revision - start >= 400) {
              // A second watcher joins while the writers are busy, from 300 revisions back (more
              // than one replay chunk), and is not read until they are done: its replay and the
              // live events arriving meanwhile must still come out in order.
              midway = watch(store, { fromRevision: store.revision - 300, maxQueue: 2000 });
            }
          }
        }),
      );
      expect(store.revision).to.equal(end);

      const all = await collectedFromStart;
      expect(revisionsOf(all)).to.deep.equal(range(start + 1, end));
      for (let w = 0; w < writers; w++) {
        const mine = all.filter((e) => e.name === `w${w}`);
        expect(mine.map((e) => (e.object as Service).spec!.scale), `writer ${w}`).to.deep.equal(range(0, writesEach - 1));
        expect(mine.map((e) => e.type)).to.deep.equal(['ADDED', ...Array<string>(writesEach - 1).fill('MODIFIED')]);
      }

      expect(midway, 'the midway watcher was started').to.not.equal(undefined);
      const from = midway!.startRevision;
      expect(from).to.be.within(start + 100, end - 300);
      const fromMidway = await take(midway!, end - from, 15_000);
      expect(revisionsOf(fromMidway)).to.deep.equal(range(from + 1, end));
      expect(fromMidway.map(fingerprint)).to.deep.equal(all.slice(from - start).map(fingerprint));
    });

    it('a watch started while an event is being published sees that event exactly once', async function () {
      await createServices(store, 3);
      let inner: Watcher | undefined;
      const outer = store.subscribe(
        {},
        {
          // Joins from the past at the moment revision 4 is handed out, so revision 4 is both
          // in the log being replayed and in the live batch.
          events: () => void (inner ??= watch(store, { fromRevision: 2 })),
          error: () => undefined,
        },
      );
      try {
        await store.create('services', aService({ name: 'fourth' }));
        await store.create('services', aService({ name: 'fifth' }));
        expect(inner, 'the inner watch was started').to.not.equal(undefined);
        expect(revisionsOf(await take(inner!, 3))).to.deep.equal([3, 4, 5]);
        await store.create('services', aService({ name: 'sixth' }));
        expect(revisionsOf(await take(inner!, 1))).to.deep.equal([6]);
      } finally {
        outer.close();
      }
    });

    it('filters by kind and by namespace', async function () {
      const devServices = watch(store, { kind: 'services', namespace: 'dev' });
      const namespaces = watch(store, { kind: 'namespaces' });
      const inDev = watch(store, { namespace: 'dev' });
      const everything = watch(store, { namespace: '*' });

      await store.create('namespaces', aNamespace({ name: 'dev' })); // 1
      await store.create('services', aService({ name: 'web', namespace: 'dev2' })); // 2
      await store.create('services', aService({ name: 'web', namespace: 'dev' })); // 3
      await store.create('services', aService({ name: 'x', namespace: 'de' })); // 4
      await store.update('services', aService({ name: 'web', namespace: 'dev', scale: 2 })); // 5
      await store.delete('namespaces', '', 'dev'); // 6
      await store.delete('services', 'dev', 'web'); // 7

      const summary = (events: StoreEvent[]) => events.map((e) => `${e.revision} ${e.kind} ${e.namespace}/${e.name}`);
      expect(summary(await take(devServices, 3))).to.deep.equal(['3 services dev/web', '5 services dev/web', '7 services dev/web']);
      expect(summary(await take(inDev, 3))).to.deep.equal(['3 services dev/web', '5 services dev/web', '7 services dev/web']);
      expect(summary(await take(namespaces, 2))).to.deep.equal(['1 namespaces /dev', '6 namespaces /dev']);
      expect(revisionsOf(await take(everything, 7))).to.deep.equal(range(1, 7));
    });

    it('applies the filters to replayed events too', async function () {
      await store.create('namespaces', aNamespace({ name: 'dev' })); // 1
      await store.create('services', aService({ name: 'a', namespace: 'dev2' })); // 2
      await store.create('services', aService({ name: 'b', namespace: 'dev' })); // 3
      const watcher = watch(store, { fromRevision: 1, kind: 'services', namespace: 'dev2' });
      await store.create('services', aService({ name: 'c', namespace: 'dev2' })); // 4
      expect(revisionsOf(await take(watcher, 2))).to.deep.equal([2, 4]);
    });

    it('rejects an unknown kind in the filter with INVALID_ARGUMENT', async function () {
      await expectRuneError(() => store.watch({ kind: 'gizmos' }), 'INVALID_ARGUMENT');
    });

    it('a DELETED event carries the last state of the object', async function () {
      const created = await store.create('services', aService({ name: 'web', scale: 1 }));
      const last = await store.update('services', aService({ name: 'web', scale: 3, labels: { tier: 'front' }, env: { A: '1' } }));
      const watcher = watch(store, {});
      await store.delete('services', 'dev', 'web');
      const [event] = await take(watcher, 1);
      expect(event!.type).to.equal('DELETED');
      expect(event!.revision).to.equal(3);
      expect(event!.object).to.deep.equal(last);
      expect(event!.object).to.not.deep.equal(created);
      expect(Service.decode(event!.encoded)).to.deep.equal(last);
    });

    describe('recent (history first, then live)', function () {
      it('returns the newest matching events oldest first, and a revision to continue from without gap or repeat', async function () {
        for (let i = 0; i < 6; i++) await store.create('services', aService({ name: `s${i}`, namespace: i % 2 === 0 ? 'dev' : 'prod' }));
        await store.create('namespaces', aNamespace({ name: 'dev' }));
        const recent = await store.recent({ kind: 'services', namespace: 'dev', limit: 2 });
        expect(recent.events.map((e) => e.name)).to.deep.equal(['s2', 's4']);
        expect(recent.revision).to.equal(7);
        const matched = await store.recent({ kind: 'services', limit: 10, match: (e) => e.name !== 's3' });
        expect(matched.events.map((e) => e.name)).to.deep.equal(['s0', 's1', 's2', 's4', 's5']);
        expect((await store.recent({ limit: 0 })).events).to.deep.equal([]);

        const watcher = watch(store, { kind: 'services', fromRevision: recent.revision });
        await store.create('services', aService({ name: 'later' }));
        const [next] = await take(watcher, 1);
        expect([next!.revision, next!.name]).to.deep.equal([8, 'later']);
      });

      it('stops at the retained log', async function () {
        const small = await openStore({ retainEvents: 5, retainMs: 0, compactEveryMs: 0 });
        await createServices(small, 20);
        await small.compact();
        const recent = await small.recent({ limit: 100 });
        expect(revisionsOf(recent.events)).to.deep.equal(range(16, 20));
      });
    });

    describe('too old', function () {
      it('a watch from a compacted revision fails with OUT_OF_RANGE telling to list again', async function () {
        const small = await openStore({ retainEvents: 5, retainMs: 0, compactEveryMs: 0 });
        await createServices(small, 20);
        await small.compact();
        expect(small.compactedRevision).to.equal(15);

        const err = await expectRuneError(() => small.watch({ fromRevision: 1 }), 'OUT_OF_RANGE');
        expect(err.message).to.match(/list again/);
        const sink = { events: () => expect.fail('no events expected'), error: () => expect.fail('no error callback expected') };
        const subErr = await expectRuneError(() => small.subscribe({ fromRevision: 14 }, sink), 'OUT_OF_RANGE');
        expect(subErr.message).to.match(/list again/);

        const retained = watch(small, { fromRevision: 15 });
        expect(revisionsOf(await take(retained, 5))).to.deep.equal([16, 17, 18, 19, 20]);
        await small.create('services', aService({ name: 'after' }));
        const [live] = await take(retained, 1);
        expect([live!.revision, live!.name]).to.deep.equal([21, 'after']);
      });

      it('keeps events younger than retainMs even beyond retainEvents', async function () {
        const small = await openStore({ retainEvents: 5, retainMs: 3_600_000, compactEveryMs: 0 });
        await createServices(small, 20);
        await small.compact();
        expect(small.compactedRevision).to.equal(0);
        expect(revisionsOf(await take(watch(small, { fromRevision: 1 }), 19))).to.deep.equal(range(2, 20));
      });
    });

    describe('slow consumer', function () {
      it('is cut off with RESOURCE_EXHAUSTED naming the revision to resume from, and resumes without loss', async function () {
        await store.create('namespaces', aNamespace({ name: 'dev' }));
        const start = store.revision;
        const slow = watch(store, { maxQueue: 50 });
        await createServices(store, 10);
        const read = await take(slow, 10);
        expect(revisionsOf(read)).to.deep.equal(range(start + 1, start + 10));

        for (let i = 0; i < 200; i++) await store.update('services', aService({ name: `s${i % 10}`, scale: i }));
        const end = store.revision;
        expect(end).to.equal(start + 210);

        const { events: late, error } = await drainUntilError(slow, 300);
        expect(error).to.be.instanceOf(RuneError);
        expect((error as RuneError).code).to.equal('RESOURCE_EXHAUSTED');
        const seen = [...read, ...late];
        expect(revisionsOf(seen)).to.deep.equal(range(start + 1, start + seen.length));
        const resumeFrom = resumeRevisionIn(error as RuneError);
        expect(resumeFrom, 'resume from the last revision delivered').to.equal(seen[seen.length - 1]!.revision);
        expect(end - resumeFrom, 'the cut-off happened before the end').to.be.greaterThan(50);

        // Resuming with the same small queue must catch up, not be cut off again.
        const resumed = watch(store, { fromRevision: resumeFrom, maxQueue: 50 });
        const rest = await take(resumed, end - resumeFrom);
        expect(revisionsOf([...seen, ...rest])).to.deep.equal(range(start + 1, end));
        await store.delete('services', 'dev', 's0');
        expect(revisionsOf(await take(resumed, 1))).to.deep.equal([end + 1]);
      });

      it('is cut off the same way when live events pile up while it is not reading the replay', async function () {
        await store.create('namespaces', aNamespace({ name: 'dev' }));
        await createServices(store, 200);
        const slow = watch(store, { fromRevision: 1, maxQueue: 50 });
        for (let i = 0; i < 100; i++) await store.update('services', aService({ name: `s${i}`, scale: 2 }));
        const end = store.revision;

        const { events: seen, error } = await drainUntilError(slow, 400);
        expect(error).to.be.instanceOf(RuneError);
        expect((error as RuneError).code).to.equal('RESOURCE_EXHAUSTED');
        expect(revisionsOf(seen)).to.deep.equal(range(2, 1 + seen.length));
        const resumeFrom = resumeRevisionIn(error as RuneError);
        expect(resumeFrom).to.equal(1 + seen.length);
        const rest = await take(watch(store, { fromRevision: resumeFrom, maxQueue: 50 }), end - resumeFrom);
        expect(revisionsOf([...seen, ...rest])).to.deep.equal(range(2, end));
      });

      it('is not cut off while it keeps reading, even when the replayed backlog is larger than maxQueue', async function () {
        await store.create('namespaces', aNamespace({ name: 'dev' }));
        for (let c = 0; c < 3; c++) {
          await store.commit(Array.from({ length: 100 }, (_, i) => ({ op: 'create' as const, kind: 'services', object: aService({ name: `s${c}-${i}` }) })));
        }
        const end = store.revision;
        const reader = watch(store, { fromRevision: 1, maxQueue: 50 });
        expect(revisionsOf(await take(reader, end - 1))).to.deep.equal(range(2, end));
        await store.create('services', aService({ name: 'live' }));
        expect(revisionsOf(await take(reader, 1))).to.deep.equal([end + 1]);
      });
    });

    describe('ending', function () {
      it('close() on a watcher ends its iteration without an error', async function () {
        const watcher = watch(store, {});
        const pending = watcher[Symbol.asyncIterator]().next();
        watcher.close();
        expect(await pending).to.deep.equal({ value: undefined, done: true });
        await store.create('services', aService({ name: 'web' }));
        expect(await watcher[Symbol.asyncIterator]().next()).to.deep.equal({ value: undefined, done: true });
      });

      it('store.close() ends open watchers with UNAVAILABLE, after what was already queued', async function () {
        const waiting = watch(store, {});
        const pending = waiting[Symbol.asyncIterator]().next();
        const behind = watch(store, {});
        const errors: Error[] = [];
        const delivered: number[] = [];
        store.subscribe(
          {},
          {
            events: (batch) => void delivered.push(...revisionsOf(batch)),
            error: (err) => void errors.push(err),
          },
        );

        await store.create('services', aService({ name: 'web' }));
        expect((await pending).value?.revision).to.equal(1);
        const stillWaiting = expectRuneError(waiting[Symbol.asyncIterator]().next(), 'UNAVAILABLE');
        await store.close();

        await stillWaiting;
        expect(revisionsOf(await take(behind, 1))).to.deep.equal([1]);
        await expectRuneError(behind[Symbol.asyncIterator]().next(), 'UNAVAILABLE');
        expect(delivered).to.deep.equal([1]);
        expect(errors).to.have.length(1);
        expect(errors[0]).to.be.instanceOf(RuneError).with.property('code', 'UNAVAILABLE');

        await expectRuneError(() => store.watch({}), 'UNAVAILABLE');
        await expectRuneError(() => store.create('services', aService({ name: 'late' })), 'UNAVAILABLE');
      });
    });
  });
}
