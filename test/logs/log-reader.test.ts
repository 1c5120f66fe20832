import { copyFile, mkdtemp, rename, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { LogIndexer } from '../../server/logs/log-indexer.js';
import { LogReader } from '../../server/logs/log-reader.js';
import { append, numbered, readAll, readUntil, rotate, sequence, texts, writer } from './log-fixtures.js';

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

describe('LogReader (real files)', function () {
  let dir: string;
  let log: string;
  const readers: LogReader[] = [];

  const open = async (options: Parameters<typeof LogReader.open>[1] = {}) => {
    const reader = await LogReader.open(log, options);
    readers.push(reader);
    return reader;
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rune-logs-'));
    log = join(dir, 'web-1.log');
  });
  afterEach(async () => {
    for (const reader of readers.splice(0)) await reader.close();
    await rm(dir, { recursive: true, force: true });
  });

  describe('reading what is there', () => {
    it('reads every line of the copies then the log, oldest first', async () => {
      append(log, numbered(0, 3));
      await rotate(log, 2);
      append(log, numbered(3, 6));
      await rotate(log, 2);
      append(log, numbered(6, 9));
      expect(sequence(await readAll(await open({ snapshot: true })))).to.deep.equal(range(0, 9));
    });

    it('tail N gives the last N lines, reaching into the copies', async () => {
      append(log, numbered(0, 10));
      await rotate(log);
      append(log, numbered(10, 13));
      expect(sequence(await readAll(await open({ tail: 5, snapshot: true })))).to.deep.equal(range(8, 13));
      expect(sequence(await readAll(await open({ tail: 2, snapshot: true })))).to.deep.equal([11, 12]);
      expect(sequence(await readAll(await open({ tail: 3, snapshot: true })))).to.deep.equal([10, 11, 12]);
      expect(sequence(await readAll(await open({ tail: 100, snapshot: true })))).to.deep.equal(range(0, 13));
    });

    it('tail -1 gives nothing of the past', async () => {
      append(log, numbered(0, 10));
      expect(await readAll(await open({ tail: -1 }))).to.deep.equal([]);
    });

    it('reads a log larger than one read chunk, in bounded batches', async () => {
      append(log, numbered(0, 20_000));
      const reader = await open({ snapshot: true });
      const first = await reader.read({ maxBytes: 1024 });
      expect(first.length).to.be.greaterThan(0);
      expect(first.reduce((n, l) => n + l.text.length, 0), 'text bytes in a batch of about 1 KiB').to.be.at.most(2048);
      const rest = await readAll(reader);
      expect(sequence([...first, ...rest])).to.deep.equal(range(0, 20_000));
    });

    it('holds an incomplete last line until flush (a snapshot) or its newline (follow)', async () => {
      append(log, 'one\ntw');
      const snapshot = await open({ snapshot: true });
      expect(texts(await readAll(snapshot))).to.deep.equal(['one']);
      expect(snapshot.flush()?.text).to.equal('tw');
      expect(snapshot.flush()).to.equal(undefined);

      const following = await open();
      expect(texts(await readAll(following))).to.deep.equal(['one']);
      append(log, 'o\nthree\n');
      expect(texts(await readAll(following))).to.deep.equal(['two', 'three']);
    });

    it('joins a line that a rotation cut in two', async () => {
      append(log, 'first\nsec');
      await rotate(log);
      append(log, 'ond\n');
      expect(texts(await readAll(await open({ snapshot: true })))).to.deep.equal(['first', 'second']);
    });

    it('splits endless lines into pieces of maxLineBytes', async () => {
      append(log, 'x'.repeat(25) + '\nshort\n');
      expect(texts(await readAll(await open({ maxLineBytes: 10, snapshot: true })))).to.deep.equal(['x'.repeat(10), 'x'.repeat(10), 'x'.repeat(5), 'short']);
    });

    it('reads a log that does not exist yet as empty, and follows it once it appears', async () => {
      const reader = await open();
      expect(await readAll(reader)).to.deep.equal([]);
      append(log, numbered(0, 2));
      expect(sequence(await readAll(reader))).to.deep.equal([0, 1]);
    });
  });

  describe('times', () => {
    it('gives lines the time of the first checkpoint at or after their end, and since picks lines by it', async () => {
      // Checkpoints written by hand through a fake clock: 0-2 seen at t=1000, 3-5 at t=2000, 6-8 at t=3000.
      let clock = 1000;
      const indexer = new LogIndexer({ pollMs: 60_000, now: () => clock });
      try {
        indexer.track(log);
        append(log, numbered(0, 3));
        await indexer.poll();
        clock = 2000;
        append(log, numbered(3, 6));
        await indexer.poll();
        await rotate(log);
        clock = 3000;
        append(log, numbered(6, 9));
        await indexer.poll();
      } finally {
        await indexer.close();
      }
      const all = await readAll(await open({ snapshot: true, now: () => 9999 }));
      expect(all.map((l) => l.time.getTime())).to.deep.equal([1000, 1000, 1000, 2000, 2000, 2000, 3000, 3000, 3000]);
      const since = await readAll(await open({ since: new Date(2000), snapshot: true }));
      expect(sequence(since)).to.deep.equal(range(3, 9));
      const sinceLast = await readAll(await open({ since: new Date(2500), snapshot: true }));
      expect(sequence(sinceLast)).to.deep.equal(range(6, 9));
      // tail and since together: the later start wins.
      expect(sequence(await readAll(await open({ since: new Date(2000), tail: 2, snapshot: true })))).to.deep.equal([7, 8]);
      expect(sequence(await readAll(await open({ since: new Date(2500), tail: 5, snapshot: true })))).to.deep.equal(range(6, 9));
    });

    it('gives lines not indexed yet the time they are read, never going back', async () => {
      let clock = 5000;
      const indexer = new LogIndexer({ pollMs: 60_000, now: () => clock });
      try {
        indexer.track(log);
        append(log, numbered(0, 2));
        await indexer.poll();
      } finally {
        await indexer.close();
      }
      append(log, numbered(2, 4));
      clock = 7000;
      const lines = await readAll(await open({ now: () => 6000 }));
      expect(lines.map((l) => l.time.getTime())).to.deep.equal([5000, 5000, 6000, 6000]);
      const early = await readAll(await open({ now: () => 100 }));
      expect(early.map((l) => l.time.getTime()), 'never before an earlier line').to.deep.equal([5000, 5000, 5000, 5000]);
    });
  });

  describe('follow', () => {
    it('sees lines appended after it reached the end', async () => {
      append(log, numbered(0, 3));
      const reader = await open({ tail: 1 });
      expect(sequence(await readAll(reader))).to.deep.equal([2]);
      append(log, numbered(3, 5));
      expect(sequence(await readAll(reader))).to.deep.equal([3, 4]);
      expect(await reader.read()).to.deep.equal([]);
    });

    it('survives a copy-and-truncate: finishes the copy from its offset, then reads the new log from 0', async () => {
      append(log, numbered(0, 10));
      const reader = await open();
      expect(sequence(await readAll(reader))).to.deep.equal(range(0, 10));
      append(log, numbered(10, 15)); // written but not read yet when the rotation happens
      await rotate(log);
      append(log, numbered(15, 18));
      expect(sequence(await readAll(reader))).to.deep.equal(range(10, 18));
    });

    it('survives a rotation after which the log regrew past its offset', async () => {
      append(log, numbered(0, 5));
      const reader = await open();
      expect(sequence(await readAll(reader))).to.deep.equal(range(0, 5));
      append(log, numbered(5, 7));
      await rotate(log);
      append(log, numbered(7, 40)); // larger than what the reader had read
      expect(sequence(await readAll(reader))).to.deep.equal(range(5, 40));
    });

    it('survives several rotations between two reads', async () => {
      append(log, numbered(0, 5));
      const reader = await open();
      expect(sequence(await readAll(reader))).to.deep.equal(range(0, 5));
      append(log, numbered(5, 8));
      await rotate(log, 3);
      append(log, numbered(8, 12));
      await rotate(log, 3);
      append(log, numbered(12, 14));
      expect(sequence(await readAll(reader))).to.deep.equal(range(5, 14));
    });

    it('survives a rotation that happened between open and the first read of the log', async () => {
      append(log, numbered(0, 5));
      await rotate(log, 2);
      append(log, numbered(5, 9));
      const reader = await open();
      await rotate(log, 2);
      append(log, numbered(9, 11));
      expect(sequence(await readAll(reader))).to.deep.equal(range(0, 11));
    });

    it('never repeats lines when a single kept copy is rewritten in place before it was read', async () => {
      append(log, numbered(0, 5));
      await rotate(log, 1);
      append(log, numbered(5, 9));
      const reader = await open();
      await rotate(log, 1); // `<log>.1` now holds 5-8; 0-4 are gone
      append(log, numbered(9, 11));
      expect(sequence(await readAll(reader))).to.deep.equal(range(5, 11));
    });

    it('finds its copy while the next rotation has renamed it and not yet made the new one', async () => {
      append(log, numbered(0, 5));
      const reader = await open();
      expect(sequence(await readAll(reader))).to.deep.equal(range(0, 5));
      append(log, numbered(5, 7));
      await rotate(log, 2);
      append(log, numbered(7, 9));
      await rename(`${log}.1`, `${log}.2`); // the next rotation, half done: no `<log>.1` for now
      expect(sequence(await readAll(reader))).to.deep.equal(range(5, 9));
      await copyFile(log, `${log}.1`);
      await truncate(log, 0);
      append(log, numbered(9, 10));
      expect(sequence(await readAll(reader))).to.deep.equal([9]);
    });

    it('does not mistake a copy not yet followed by the truncate for a rotation', async () => {
      append(log, numbered(0, 5));
      const reader = await open();
      expect(sequence(await readAll(reader))).to.deep.equal(range(0, 5));
      append(log, numbered(5, 7));
      await writeFile(`${log}.1`, numbered(0, 7)); // the copy, the truncate not done yet
      append(log, numbered(7, 8));
      expect(sequence(await readAll(reader))).to.deep.equal(range(5, 8));
      await rotate(log); // now for real
      append(log, numbered(8, 10));
      expect(sequence(await readAll(reader))).to.deep.equal(range(8, 10));
    });

    it('loses and repeats nothing when a rotation races with a read', async function () {
      this.timeout(30_000);
      append(log, numbered(0, 3));
      const reader = await open();
      const lines: number[] = sequence(await readAll(reader));
      let next = 3;
      for (let round = 0; round < 200; round++) {
        append(log, numbered(next, next + 1 + (round % 7)));
        next += 1 + (round % 7);
        // The read and the rotation run at the same time (their fs calls interleave).
        const reading = reader.read();
        if (round % 3 !== 2) await rotate(log, 1 + (round % 2));
        lines.push(...sequence(await reading));
        // One rotation per read at most: a read ends before the next rotation may begin.
        lines.push(...sequence(await reader.read()));
      }
      lines.push(...sequence(await readAll(reader)));
      expect(lines).to.deep.equal(range(0, next));
    });

    it('follows a real workload across rotations without repeating or reordering a line', async function () {
      this.timeout(30_000);
      const count = 600;
      const workload = writer(log, count, { intervalSeconds: 0.004 });
      const reader = await open();
      const lines: number[] = [];
      let rotations = 0;
      // Rotate every ~80 lines while the workload writes, reading in between.
      const deadline = Date.now() + 20_000;
      let finished = false;
      void workload.done.then(() => (finished = true));
      while (Date.now() < deadline) {
        lines.push(...sequence(await reader.read()));
        if (lines.length >= (rotations + 1) * 80 && rotations < 5) {
          // Let the workload write lines the reader has not read, then rotate them away.
          await new Promise((r) => setTimeout(r, 60));
          await rotate(log, 2);
          rotations++;
        }
        if (finished && lines.at(-1) === count - 1) break;
        await new Promise((r) => setTimeout(r, 15));
      }
      await workload.done;
      lines.push(...sequence(await readAll(reader)));
      expect(rotations).to.equal(5);
      for (let i = 1; i < lines.length; i++) expect(lines[i], `line after ${lines[i - 1]}`).to.be.greaterThan(lines[i - 1]!);
      expect(lines.at(-1)).to.equal(count - 1);
      // copy-and-truncate itself may drop what the workload writes between the copy and the
      // truncate (at most a line or so per rotation at this pace); the reader loses nothing more.
      expect(count - lines.length, `missing: ${range(0, count).filter((n) => !lines.includes(n))}`).to.be.at.most(rotations);
    });
  });
});
