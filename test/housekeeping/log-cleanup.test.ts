/**
 * Log-file cleanup on a real directory tree and a memory store: the logs of instances and runs
 * that no longer exist go (with their rotated copies and indexes); logs still named by an
 * instance or a run, logs changed within the grace period, and whatever a symbolic link points
 * to stay.
 */
import { mkdir, mkdtemp, readdir, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { Instance } from '../../shared/gen/rune/v1/instance.js';
import { Run } from '../../shared/gen/rune/v1/run.js';
import { cleanUpLogFiles, cleanUpRunDirs, logOf } from '../../server/housekeeping/log-cleanup.js';
import { openMemoryStore, type LevelStore } from '../../server/store/level-store.js';

describe('housekeeping: log-file cleanup', () => {
  let dir: string;
  let logs: string;
  let store: LevelStore;
  const hourAgo = new Date(Date.now() - 3_600_000);

  /** Writes files under logs/, an hour old unless `fresh`. */
  async function files(names: string[], options: { fresh?: boolean } = {}): Promise<void> {
    for (const name of names) {
      const path = join(logs, name);
      await mkdir(join(path, '..'), { recursive: true });
      await writeFile(path, 'line\n');
      if (!options.fresh) await utimes(path, hourAgo, hourAgo);
    }
  }

  async function remaining(sub: string): Promise<string[]> {
    return (await readdir(join(logs, sub))).sort();
  }

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rune-log-cleanup-'));
    logs = join(dir, 'logs');
    store = await openMemoryStore({ compactEveryMs: 0 });
  });
  afterEach(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('groups a log with its rotated copies and indexes', () => {
    for (const f of ['/l/web-1.log', '/l/web-1.log.1', '/l/web-1.log.idx', '/l/web-1.log.12.idx']) expect(logOf(f)).to.equal('/l/web-1.log');
    expect(logOf('/l/01jabc.log')).to.equal('/l/01jabc.log');
  });

  it('removes the logs of deleted instances and runs, keeps those still referenced and those changed within the grace period', async () => {
    await files(['dev/web-1.log', 'dev/web-1.log.1', 'dev/web-1.log.idx', 'dev/web-1.log.1.idx']); // live instance
    await files(['dev/web-2.log', 'dev/web-2.log.1', 'dev/web-2.log.idx']); // deleted instance
    await files(['dev/web-3.log'], { fresh: true }); // no owner yet, but just written
    await files(['ops/01jrun.log', 'ops/01jrun.log.idx']); // live run
    await files(['ops/01jgone.log']); // deleted run
    await store.create('instances', Instance.fromPartial({ metadata: { name: 'web-1', namespace: 'dev' }, spec: { service: 'web' }, status: { phase: 'running', logPath: join(logs, 'dev/web-1.log') } }));
    await store.create('runs', Run.fromPartial({ metadata: { name: '01jrun', namespace: 'ops' }, spec: { job: 'etl' }, status: { phase: 'finished', logPath: join(logs, 'ops/01jrun.log') } }));

    const result = await cleanUpLogFiles({ store, roots: [logs] });
    expect(result.removed.sort()).to.deep.equal([join(logs, 'dev/web-2.log'), join(logs, 'ops/01jgone.log')]);
    expect(result.scanned).to.equal(11);
    expect(await remaining('dev')).to.deep.equal(['web-1.log', 'web-1.log.1', 'web-1.log.1.idx', 'web-1.log.idx', 'web-3.log']);
    expect(await remaining('ops')).to.deep.equal(['01jrun.log', '01jrun.log.idx']);

    // The run is deleted: its log goes at the next sweep.
    await store.delete('runs', 'ops', '01jrun');
    expect((await cleanUpLogFiles({ store, roots: [logs] })).removed).to.deep.equal([join(logs, 'ops/01jrun.log')]);
    expect(await remaining('ops')).to.deep.equal([]);
  });

  it('a grace period of 0 removes a fresh unreferenced log; a missing root is fine', async () => {
    await files(['dev/new.log'], { fresh: true });
    expect((await cleanUpLogFiles({ store, roots: [logs], graceMs: 60_000 })).removed).to.deep.equal([]);
    expect((await cleanUpLogFiles({ store, roots: [logs, join(dir, 'nowhere')], graceMs: 0 })).removed).to.deep.equal([join(logs, 'dev/new.log')]);
  });

  it('never follows a symbolic link nor removes one', async () => {
    const outside = join(dir, 'precious');
    await mkdir(outside);
    await writeFile(join(outside, 'keep.log'), 'data\n');
    await utimes(join(outside, 'keep.log'), hourAgo, hourAgo);
    await mkdir(join(logs, 'dev'), { recursive: true });
    await symlink(outside, join(logs, 'dev', 'linked-dir'));
    await symlink(join(outside, 'keep.log'), join(logs, 'dev', 'linked.log'));
    const result = await cleanUpLogFiles({ store, roots: [logs], graceMs: 0 });
    expect(result.removed).to.deep.equal([]);
    expect(await readdir(outside)).to.deep.equal(['keep.log']);
    expect(await remaining('dev')).to.deep.equal(['linked-dir', 'linked.log']);
  });

  it('removes the folders of deleted runs (log, status and exit files, work dir), keeps live and fresh ones and links', async () => {
    const runs = join(dir, 'runs');
    const folder = async (ns: string, id: string, fresh = false) => {
      const path = join(runs, ns, id);
      await mkdir(join(path, 'work'), { recursive: true });
      for (const f of ['output.log', 'status.json', 'exit-1', 'work/data.csv']) await writeFile(join(path, f), 'x');
      if (!fresh) for (const f of ['output.log', 'status.json', 'exit-1', 'work', '']) await utimes(join(path, f), hourAgo, hourAgo);
      return path;
    };
    await folder('ops', '01jlive');
    const gone = await folder('ops', '01jgone');
    await folder('ops', '01jfresh', true);
    const outside = join(dir, 'precious');
    await mkdir(outside);
    await writeFile(join(outside, 'keep'), 'data');
    await symlink(outside, join(runs, 'ops', '01jlink'));
    await symlink(outside, join(gone, 'work', 'link'));
    await utimes(join(gone, 'work'), hourAgo, hourAgo);
    await store.create('runs', Run.fromPartial({ metadata: { name: '01jlive', namespace: 'ops' }, spec: { job: 'etl' }, status: { phase: 'finished' } }));

    expect(await cleanUpRunDirs({ store, root: runs })).to.deep.equal([gone]);
    expect((await readdir(join(runs, 'ops'))).sort()).to.deep.equal(['01jfresh', '01jlink', '01jlive']);
    expect(await readdir(outside)).to.deep.equal(['keep']);
    expect(await cleanUpRunDirs({ store, root: join(dir, 'nowhere') })).to.deep.equal([]);
  });
});
