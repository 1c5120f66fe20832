/**
 * The KEK: where it comes from and what runed refuses (wrong size, group/other permissions:
 * runed exits 1 naming the problem), and rotation: every secret stays readable throughout and
 * after, the KEK file is replaced (0600), the old KEK opens nothing and runed will not start
 * with it, an interrupted rotation is completed on the next start.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { expect } from 'chai';
import { makeKek, openEnvelope } from '../../server/crypto/envelope.js';
import { Keyring } from '../../server/crypto/keyring.js';
import { KekServiceClient } from '../../shared/gen/rune/v1/kek_service.js';
import { Secret, SecretRecord } from '../../shared/gen/rune/v1/secret.js';
import { SecretServiceClient } from '../../shared/gen/rune/v1/secret_service.js';
import { expectRuneError } from '../support/expect-rune-error.js';
import { grpcError } from '../support/access.js';
import { startRunedProcess } from '../support/runed-process.js';
import { auth, call, startTestRuned, type TestRuned } from '../support/test-runed.js';

async function kekFile(dir: string, name: string, bytes: number, mode = 0o600): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, randomBytes(bytes), { mode });
  await chmod(path, mode);
  return path;
}

describe('KEK sources and checks', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rune-kek-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('generates <data-dir>/kek (32 bytes, 0600) on first start and reuses it', async () => {
    const first = await Keyring.load({ dataDir: dir });
    expect(first.source).to.equal('data-dir');
    expect(statSync(join(dir, 'kek')).size).to.equal(32);
    expect(statSync(join(dir, 'kek')).mode & 0o777).to.equal(0o600);
    const again = await Keyring.load({ dataDir: dir });
    expect(again.active.id).to.equal(first.active.id);
  });

  it('takes --kek-file before RUNE_KEK, and RUNE_KEK (base64 or hex) before the data dir', async () => {
    const key = randomBytes(32);
    const fromEnv = await Keyring.load({ dataDir: dir, envKek: key.toString('base64') });
    expect(fromEnv).to.include({ source: 'env', file: undefined });
    expect(fromEnv.active.id).to.equal(makeKek(key).id);
    expect((await Keyring.load({ dataDir: dir, envKek: key.toString('hex') })).active.id).to.equal(makeKek(key).id);
    expect(existsSync(join(dir, 'kek')), 'nothing generated').to.equal(false);
    const file = await kekFile(dir, 'my.kek', 32);
    const fromFile = await Keyring.load({ dataDir: dir, kekFile: file, envKek: key.toString('base64') });
    expect(fromFile).to.include({ source: 'file', file });
  });

  it('refuses a KEK of the wrong size or a file readable by others, saying which and how to fix it', async () => {
    const short = await kekFile(dir, 'short.kek', 31);
    const err1 = await expectRuneError(Keyring.load({ dataDir: dir, kekFile: short }), 'FAILED_PRECONDITION');
    expect(err1.message).to.include(short).and.include('holds 31 bytes').and.include('exactly 32');
    const open = await kekFile(dir, 'open.kek', 32, 0o644);
    const err2 = await expectRuneError(Keyring.load({ dataDir: dir, kekFile: open }), 'FAILED_PRECONDITION');
    expect(err2.message).to.include(open).and.include('mode 0644').and.include(`chmod 600 ${open}`);
    const err3 = await expectRuneError(Keyring.load({ dataDir: dir, envKek: randomBytes(16).toString('base64') }), 'FAILED_PRECONDITION');
    expect(err3.message).to.include('RUNE_KEK').and.include('decodes to 16 bytes');
    const err4 = await expectRuneError(Keyring.load({ dataDir: dir, kekFile: join(dir, 'missing.kek') }), 'NOT_FOUND');
    expect(err4.message).to.include('missing.kek: no such file');
    await kekFile(dir, 'kek', 32, 0o640);
    const err5 = await expectRuneError(Keyring.load({ dataDir: dir }), 'FAILED_PRECONDITION');
    expect(err5.message).to.include(join(dir, 'kek')).and.include('mode 0640');
  });

  for (const [what, setup, expected] of [
    ['a --kek-file of the wrong size', async (d: string) => ({ args: ['--kek-file', await kekFile(d, 'k', 16)] }), 'holds 16 bytes'],
    ['a --kek-file readable by group', async (d: string) => ({ args: ['--kek-file', await kekFile(d, 'k', 32, 0o640)] }), 'mode 0640'],
    ['a RUNE_KEK of the wrong size', async () => ({ env: { RUNE_KEK: randomBytes(24).toString('base64') } }), 'RUNE_KEK must be 32 random bytes'],
  ] as const) {
    it(`runed exits 1 at start with ${what}, naming it`, async function () {
      this.timeout(30_000);
      const { args, env } = { args: [] as string[], env: {}, ...(await setup(dir)) };
      const err = (await startRunedProcess({ extraArgs: [...args], env }).then(
        () => expect.fail('runed started'),
        (e: Error & { exitCode?: number }) => e,
      )) as Error & { exitCode?: number };
      expect(err.exitCode).to.equal(1);
      expect(err.message).to.include(expected);
    });
  }
});

describe('KEK rotation (real runed)', function () {
  this.timeout(60_000);
  let t: TestRuned;
  let secrets: SecretServiceClient;
  let kek: KekServiceClient;
  let md: grpc.Metadata;

  const cast = (name: string, value: string) =>
    call(secrets, secrets.castSecret, { secret: Secret.fromPartial({ metadata: { name, namespace: 'default' }, data: { v: Buffer.from(value) } }), dryRun: false }, md);
  const reveal = async (name: string, version = 0) =>
    Buffer.from((await call(secrets, secrets.getSecret, { namespace: 'default', name, reveal: true, version }, md)).secret!.data.v!).toString();

  const start = async (options: Parameters<typeof startTestRuned>[0] = {}) => {
    t = await startTestRuned({ orchestrator: { enabled: false }, ...options });
    secrets = new SecretServiceClient(t.runed.grpcAddr, grpc.credentials.createInsecure());
    kek = new KekServiceClient(t.runed.grpcAddr, grpc.credentials.createInsecure());
    md = auth(t.token);
  };
  /** Stops runed, keeping its data dir. */
  const stop = async () => {
    secrets.close();
    kek.close();
    await t.runed.stop();
  };
  afterEach(async () => {
    secrets?.close();
    kek?.close();
    await t?.stop();
  });

  it('re-wraps every version under a new KEK while serving; the old KEK opens nothing and runed refuses it', async () => {
    await start();
    const dataDir = t.runed.dataDir;
    const expected = new Map<string, string>();
    for (let i = 0; i < 20; i++) {
      for (const round of [1, 2]) {
        const value = `s${i}-r${round}-${randomBytes(4).toString('hex')}`;
        await cast(`s${i}`, value);
        expected.set(`s${i}`, value);
      }
    }
    const oldKey = await readFile(join(dataDir, 'kek'));
    const before = await call(kek, kek.getKekStatus, {}, md);
    expect(before.secretVersions).to.equal(40);

    // Reads and writes go on during the rotation, and none fails.
    let running = true;
    let reads = 0;
    const failures: unknown[] = [];
    const readers = [0, 1].map(async (r) => {
      for (let n = 0; running; n++) {
        const name = `s${(n * 7 + r) % 20}`;
        await reveal(name).then(() => reads++, (err) => failures.push(err));
      }
    });
    const writer = (async () => {
      for (let n = 0; running; n++) {
        const value = `w-${n}-${randomBytes(4).toString('hex')}`;
        await cast('written-during', value).then(() => expected.set('written-during', value), (err) => failures.push(err));
      }
    })();
    await new Promise((r) => setTimeout(r, 50));
    const rotation = await call(kek, kek.rotateKek, {}, md);
    await new Promise((r) => setTimeout(r, 50));
    running = false;
    await Promise.all([...readers, writer]);
    expect(failures).to.deep.equal([]);
    expect(reads).to.be.greaterThan(0);

    expect(rotation.previousKekId).to.equal(before.kekId);
    expect(rotation.kekId).not.to.equal(before.kekId);
    expect(rotation.versionsRewrapped).to.be.at.least(40);
    expect(rotation.kekFile).to.equal(join(dataDir, 'kek'));
    const newKey = await readFile(join(dataDir, 'kek'));
    expect(newKey.equals(oldKey)).to.equal(false);
    expect(makeKek(newKey).id).to.equal(rotation.kekId);
    expect(statSync(join(dataDir, 'kek')).mode & 0o777).to.equal(0o600);
    expect(existsSync(join(dataDir, 'kek.next'))).to.equal(false);
    for (const [name, value] of expected) expect(await reveal(name)).to.equal(value);
    expect(await reveal('s3', 1), 'older versions too').to.match(/^s3-r1-/);
    const after = await call(kek, kek.getKekStatus, {}, md);
    expect(after.versionsOnCurrentKek).to.equal(after.secretVersions);

    // The old KEK opens no stored version any more.
    const oldKek = makeKek(oldKey);
    const { items } = await t.runed.store.list<SecretRecord>('secrets', {});
    for (const record of items) {
      for (const v of record.versions) {
        const binding = { namespace: record.metadata!.namespace, name: record.metadata!.name, version: v.version };
        await expectRuneError(() => openEnvelope(v, binding, { kek: () => oldKek, ids: [oldKek.id] }), 'DATA_LOSS');
      }
    }

    // runed refuses to start with the old KEK, naming both ids; it starts with the new one.
    await stop();
    const oldDir = await mkdtemp(join(tmpdir(), 'rune-oldkek-'));
    const oldFile = await kekFile(oldDir, 'old.kek', 32);
    await writeFile(oldFile, oldKey);
    const refused = (await startRunedProcess({ dataDir, extraArgs: ['--kek-file', oldFile] })
      .then(
        () => expect.fail('runed started with the old KEK'),
        (e: Error & { exitCode?: number }) => e,
      )
      .finally(() => rm(oldDir, { recursive: true, force: true }))) as Error & { exitCode?: number };
    expect(refused.exitCode).to.equal(1);
    expect(refused.message).to.include(`wrapped by KEK ${rotation.kekId}`).and.include(`(KEK ${oldKek.id})`);
    await start({ dataDir });
    for (const [name, value] of expected) expect(await reveal(name)).to.equal(value);
  });

  it('completes a rotation that a previous runed left unfinished (kek.next present)', async () => {
    await start();
    const dataDir = t.runed.dataDir;
    await cast('a', 'alpha');
    await cast('b', 'beta');
    await stop();
    const next = randomBytes(32);
    await writeFile(join(dataDir, 'kek.next'), next, { mode: 0o600 });
    await start({ dataDir });
    expect((await readFile(join(dataDir, 'kek'))).equals(next)).to.equal(true);
    expect(existsSync(join(dataDir, 'kek.next'))).to.equal(false);
    expect(await reveal('a')).to.equal('alpha');
    expect(await reveal('b')).to.equal('beta');
    const status = await call(kek, kek.getKekStatus, {}, md);
    expect(status.kekId).to.equal(makeKek(next).id);
    expect(status.versionsOnCurrentKek).to.equal(2);
  });

  it('refuses to rotate a KEK that comes from RUNE_KEK', async () => {
    await start({ secrets: { envKek: randomBytes(32).toString('base64') } });
    await cast('a', 'alpha');
    const err = await grpcError(call(kek, kek.rotateKek, {}, md));
    expect(err.code).to.equal(grpc.status.FAILED_PRECONDITION);
    expect(err.details).to.include('RUNE_KEK').and.include('--kek-file');
    expect(await reveal('a')).to.equal('alpha');
  });
});
