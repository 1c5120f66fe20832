/**
 * Readiness: ready while the store answers and the controllers run; not ready once stopping,
 * with a closed store, or with stopped controllers; the checks say which.
 */
import { expect } from 'chai';
import { checkReadiness } from '../../server/readiness.js';
import { openMemoryStore } from '../../server/store/level-store.js';

describe('readiness', () => {
  it('is ready with an open store and running controllers (or none)', async () => {
    const store = await openMemoryStore({ compactEveryMs: 0 });
    try {
      expect(await checkReadiness({ store, controllers: { running: true }, stopping: false })).to.deep.equal({ ready: true, checks: { store: { ok: true }, controllers: { ok: true } } });
      expect((await checkReadiness({ store, controllers: undefined, stopping: false })).checks.controllers).to.deep.equal({ ok: true, message: 'disabled' });
    } finally {
      await store.close();
    }
  });

  it('is not ready with stopped controllers, while stopping, or with a closed store', async () => {
    const store = await openMemoryStore({ compactEveryMs: 0 });
    const stopped = await checkReadiness({ store, controllers: { running: false }, stopping: false });
    expect(stopped.ready).to.equal(false);
    expect(stopped.checks.controllers!.ok).to.equal(false);
    const stopping = await checkReadiness({ store, controllers: { running: true }, stopping: true });
    expect(stopping.ready).to.equal(false);
    expect(stopping.checks.store!.message).to.match(/stopping/);
    await store.close();
    const closed = await checkReadiness({ store, controllers: undefined, stopping: false });
    expect(closed.ready).to.equal(false);
    expect(closed.checks.store!.message).to.match(/^store: /);
  });
});
