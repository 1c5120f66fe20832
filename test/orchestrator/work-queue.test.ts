import { expect } from 'chai';
import { WorkQueue } from '../../server/orchestrator/work-queue.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('WorkQueue', () => {
  it('runs a key queued many times once', async () => {
    const runs: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const q = new WorkQueue('t', async (k) => {
      await gate;
      runs.push(k);
    }, { concurrency: 1 });
    q.add('blocker');
    for (let i = 0; i < 10; i++) q.add('a');
    release();
    await q.drained();
    expect(runs).to.deep.equal(['blocker', 'a']);
    await q.stop();
  });

  it('runs a key again when it is added while being reconciled, never concurrently', async () => {
    let active = 0;
    let maxActive = 0;
    let runs = 0;
    const q = new WorkQueue('t', async () => {
      active++;
      maxActive = Math.max(maxActive, active);
      runs++;
      if (runs === 1) q.add('k');
      await sleep(10);
      active--;
    }, { concurrency: 4 });
    q.add('k');
    await sleep(100);
    expect(runs).to.equal(2);
    expect(maxActive).to.equal(1);
    await q.stop();
  });

  it('retries a failing key with growing delays', async () => {
    const at: number[] = [];
    const q = new WorkQueue('t', async () => {
      at.push(Date.now());
      if (at.length < 4) throw new Error('transient');
    }, { baseDelayMs: 20, maxDelayMs: 1000 });
    q.add('k');
    const deadline = Date.now() + 3000;
    while (at.length < 4 && Date.now() < deadline) await sleep(10);
    expect(at).to.have.length(4);
    const gaps = at.slice(1).map((t, i) => t - at[i]!);
    expect(gaps[0]).to.be.at.least(15);
    expect(gaps[2]).to.be.at.least(gaps[0]! * 2 - 10);
    await q.stop();
  });

  it('requeues after the time a reconcile asks for', async () => {
    let runs = 0;
    const q = new WorkQueue('t', async () => {
      runs++;
      return runs === 1 ? { requeueAfterMs: 50 } : undefined;
    });
    q.add('k');
    await sleep(20);
    expect(runs).to.equal(1);
    await sleep(100);
    expect(runs).to.equal(2);
    await q.stop();
  });

  it('stops taking work after stop()', async () => {
    let runs = 0;
    const q = new WorkQueue('t', async () => {
      runs++;
    });
    await q.stop();
    q.add('k');
    await sleep(20);
    expect(runs).to.equal(0);
  });
});
