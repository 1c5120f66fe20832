import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import { removeLogFiles } from '../../server/logs/log-files.js';
import { LogIndex } from '../../server/logs/log-index.js';
import { LogIndexer } from '../../server/logs/log-indexer.js';
import { LogReader } from '../../server/logs/log-reader.js';
import { append, numbered, readAll, rotate, sequence, writer } from './log-fixtures.js';

describe('LogIndexer (real files)', function () {
  let dir: string;
  let log: string;
  let indexer: LogIndexer | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rune-logidx-'));
    log = join(dir, 'web-1.log');
  });
  afterEach(async () => {
    await indexer?.close();
    indexer = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  const checkpoints = async (path: string) => {
    const index = await LogIndex.load(path);
    return Array.from({ length: index.length }, (_, i) => index.at(i));
  };
  const snapshot = async (options: { now?: () => number } = {}) => {
    const reader = await LogReader.open(log, { snapshot: true, ...options });
    try {
      return await readAll(reader);
    } finally {
      await reader.close();
    }
  };

  it('appends a checkpoint only when the file grew', async () => {
    let clock = 1000;
    indexer = new LogIndexer({ pollMs: 60_000, now: () => clock });
    indexer.track(log);
    await indexer.poll(); // no file yet: nothing
    append(log, numbered(0, 2));
    await indexer.poll();
    clock = 2000;
    await indexer.poll(); // unchanged
    append(log, numbered(2, 3));
    clock = 3000;
    await indexer.poll();
    expect(await checkpoints(`${log}.idx`)).to.deep.equal([
      { offset: 14, timeMs: 1000 },
      { offset: 21, timeMs: 3000 },
    ]);
  });

  it('stamps lines within about pollMs of when they were written, with times that never go back', async function () {
    this.timeout(15_000);
    const pollMs = 100;
    indexer = new LogIndexer({ pollMs });
    indexer.track(log);
    const count = 150;
    const started = Date.now();
    const workload = writer(log, count, { intervalSeconds: 0.01 });
    await workload.done;
    const finished = Date.now();
    await sleep(pollMs * 3);
    const lines = await snapshot({ now: () => 0 });
    expect(sequence(lines)).to.have.length(count);
    for (let i = 1; i < lines.length; i++) expect(lines[i]!.time.getTime()).to.be.at.least(lines[i - 1]!.time.getTime());
    // Each line was written between `started` and `finished`; seen by the next poll at most.
    expect(lines[0]!.time.getTime()).to.be.within(started, started + pollMs + 500);
    expect(lines.at(-1)!.time.getTime()).to.be.within(finished - 200, finished + pollMs + 200);
    // Spread over the run, not all at one time.
    const distinct = new Set(lines.map((l) => l.time.getTime())).size;
    expect(distinct, 'distinct line times').to.be.at.least(5);
  });

  it('follows a rotation: closes the index with the copy size, shifts indexes like the copies, starts again at 0', async () => {
    let clock = 1000;
    indexer = new LogIndexer({ pollMs: 60_000, now: () => clock });
    indexer.track(log);
    append(log, numbered(0, 3)); // 21 bytes
    await indexer.poll();
    append(log, numbered(3, 4)); // 28: copied before the indexer saw it
    await rotate(log, 2);
    clock = 2000;
    append(log, numbered(4, 5));
    await indexer.poll();
    expect(await checkpoints(`${log}.1.idx`)).to.deep.equal([
      { offset: 21, timeMs: 1000 },
      { offset: 28, timeMs: 2000 },
    ]);
    expect(await checkpoints(`${log}.idx`)).to.deep.equal([{ offset: 7, timeMs: 2000 }]);

    await rotate(log, 2);
    clock = 3000;
    append(log, numbered(5, 6));
    await indexer.poll();
    expect((await checkpoints(`${log}.2.idx`)).map((c) => c.timeMs)).to.deep.equal([1000, 2000]);
    expect(await checkpoints(`${log}.1.idx`)).to.deep.equal([{ offset: 7, timeMs: 2000 }]);
    expect(await checkpoints(`${log}.idx`)).to.deep.equal([{ offset: 7, timeMs: 3000 }]);

    // A third rotation drops the oldest copy (keep 2), and its index with it.
    await rotate(log, 2);
    clock = 4000;
    append(log, numbered(6, 7));
    await indexer.poll();
    expect((await readdir(dir)).sort()).to.deep.equal(['web-1.log', 'web-1.log.1', 'web-1.log.1.idx', 'web-1.log.2', 'web-1.log.2.idx', 'web-1.log.idx']);
    const lines = await snapshot({ now: () => 9999 });
    expect(lines.map((l) => `${l.text}@${l.time.getTime()}`)).to.deep.equal(['line 4@2000', 'line 5@3000', 'line 6@4000']);
  });

  it('notices a rotation after which the log regrew past the last checkpoint', async () => {
    let clock = 1000;
    indexer = new LogIndexer({ pollMs: 60_000, now: () => clock });
    indexer.track(log);
    append(log, numbered(0, 2));
    await indexer.poll();
    await rotate(log);
    append(log, numbered(10, 20, 'other'));
    clock = 2000;
    await indexer.poll();
    expect(await checkpoints(`${log}.1.idx`)).to.deep.equal([{ offset: 14, timeMs: 1000 }]);
    expect((await checkpoints(`${log}.idx`)).map((c) => c.timeMs)).to.deep.equal([2000]);
  });

  it('after a restart, gives lines written while it was down the time of its first poll', async () => {
    let clock = 1000;
    indexer = new LogIndexer({ pollMs: 60_000, now: () => clock });
    indexer.track(log);
    append(log, numbered(0, 2));
    await indexer.poll();
    await indexer.close();
    append(log, numbered(2, 4)); // while "runed" is down
    clock = 5000;
    indexer = new LogIndexer({ pollMs: 60_000, now: () => clock });
    indexer.track(log);
    await indexer.poll();
    const lines = await snapshot({ now: () => 9999 });
    expect(lines.map((l) => l.time.getTime())).to.deep.equal([1000, 1000, 5000, 5000]);
    expect(await checkpoints(`${log}.idx`)).to.have.length(2);
  });

  it('removeLogFiles removes the log, its copies and every index, and nothing else', async () => {
    indexer = new LogIndexer({ pollMs: 60_000 });
    indexer.track(log);
    for (let i = 0; i < 3; i++) {
      append(log, numbered(i * 10, i * 10 + 3));
      await indexer.poll();
      await rotate(log, 2);
    }
    append(log, 'last\n');
    await indexer.poll();
    append(join(dir, 'web-2.log'), 'other instance\n');
    expect((await readdir(dir)).length).to.equal(7);
    await removeLogFiles(log);
    expect(await readdir(dir)).to.deep.equal(['web-2.log']);
  });

  it('stops indexing an untracked file', async () => {
    indexer = new LogIndexer({ pollMs: 60_000 });
    indexer.track(log);
    append(log, 'a\n');
    await indexer.poll();
    indexer.untrack(log);
    append(log, 'b\n');
    await indexer.poll();
    expect(await checkpoints(`${log}.idx`)).to.have.length(1);
    expect(indexer.tracked()).to.deep.equal([]);
  });
});
