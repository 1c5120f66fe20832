/**
 * TlsMaterial on its own (openssl-made files, no server): what counts as usable material and
 * what each rejection says; the Kubernetes-style symlink swap is seen by the watcher; and which
 * listen addresses runed may serve plaintext on.
 */
import { chmod, copyFile, mkdir, mkdtemp, readFile, rename, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { expect } from 'chai';
import { pino } from 'pino';
import { checkListenAddress, isLoopbackListenAddress } from '../../server/api/listen-address.js';
import { TlsMaterial, validateTlsMaterial, type TlsFiles, type TlsReloadEvent } from '../../server/api/tls-material.js';
import { RuneError } from '../../shared/errors.js';
import { skipUnless } from '../support/strict.js';
import { makeCa, makeCert, opensslAvailable, type Issued } from '../support/test-pki.js';

/** A pino logger whose entries land in `lines`. */
function capturingLogger(lines: Array<Record<string, unknown>>) {
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return pino({ level: 'info' }, sink);
}

describe('TLS material: validation and reload', function () {
  this.timeout(20_000);
  let dir: string;
  let ca: Issued, server: Issued, other: Issued;
  const opened: TlsMaterial[] = [];

  before(async function () {
    skipUnless(this, opensslAvailable(), 'the openssl binary is not on PATH (apt-get install -y openssl): TLS tests need it to make certificates');
    dir = await mkdtemp(join(tmpdir(), 'rune-tls-material-'));
    ca = await makeCa(dir, 'ca');
    server = await makeCert(dir, ca, 'server', 'server');
    other = await makeCert(dir, ca, 'other', 'server');
  });

  afterEach(() => {
    for (const material of opened.splice(0)) material.close();
  });

  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const files = (): TlsFiles => ({ certFile: server.cert, keyFile: server.key, clientCaFile: ca.cert });
  const bytes = async (over: Partial<Record<'cert' | 'key' | 'clientCa', string>> = {}) => ({
    cert: await readFile(over.cert ?? server.cert),
    key: await readFile(over.key ?? server.key),
    clientCa: await readFile(over.clientCa ?? ca.cert),
  });

  function rejection(fn: () => unknown): RuneError {
    try {
      fn();
    } catch (err) {
      expect(err).to.be.instanceOf(RuneError);
      expect((err as RuneError).code).to.equal('INVALID_ARGUMENT');
      return err as RuneError;
    }
    throw new Error('expected the material to be rejected');
  }

  it('accepts a matching certificate and key, and summarises them for the logs', async () => {
    const snapshot = validateTlsMaterial(files(), await bytes());
    expect(snapshot.summary.subject).to.equal('CN=server');
    expect(snapshot.summary.subjectAltName).to.equal('DNS:localhost, IP Address:127.0.0.1');
    expect(snapshot.summary.clientCas).to.deep.equal(['CN=ca']);
    expect(snapshot.summary.fingerprint256).to.match(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
  });

  it('rejects, naming flag and file: no PEM, a key of another certificate, an expired certificate, a non-PEM key, a bad CA bundle', async () => {
    expect(rejection(() => validateTlsMaterial(files(), { cert: Buffer.from('hello\n'), key: Buffer.alloc(0), clientCa: undefined })).message).to.equal(
      `--tls-cert ${server.cert}: no PEM certificate in it (expected "-----BEGIN CERTIFICATE-----")`,
    );
    const b = await bytes({ key: other.key });
    expect(rejection(() => validateTlsMaterial(files(), b)).message).to.equal(`--tls-key ${server.key} does not belong to the first certificate of --tls-cert ${server.cert} (CN=server)`);
    const later = new Date(Date.now() + 30 * 24 * 3600 * 1000); // the test certificates last 7 days
    expect(rejection(() => validateTlsMaterial(files(), { cert: b.cert, key: b.cert, clientCa: undefined }, later)).message).to.match(/^--tls-key .*: not a usable PEM private key/);
    const good = await bytes();
    expect(rejection(() => validateTlsMaterial(files(), good, later)).message).to.match(new RegExp(`^--tls-cert ${server.cert}: the certificate expired on .* GMT; issue a new one$`));
    expect(rejection(() => validateTlsMaterial(files(), { ...good, clientCa: Buffer.from('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n') })).message).to.match(
      new RegExp(`^--client-ca ${ca.cert}: certificate 1 cannot be parsed`),
    );
  });

  it('open() refuses unusable files at start (runed exits 1) and warns about a key others can read', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const err = await TlsMaterial.open({ certFile: join(dir, 'missing.crt'), keyFile: server.key, log: capturingLogger(lines) }).catch((e: unknown) => e as RuneError);
    expect(err).to.be.instanceOf(RuneError);
    expect((err as RuneError).message).to.equal(`--tls-cert ${join(dir, 'missing.crt')}: cannot read it: no such file`);

    const loose = join(dir, 'loose.key');
    await copyFile(server.key, loose);
    await chmod(loose, 0o644);
    opened.push(await TlsMaterial.open({ certFile: server.cert, keyFile: loose, log: capturingLogger(lines), pollMs: 0 }));
    expect(lines.some((l) => l.level === 40 && String(l.msg).includes('--tls-key is readable by other users'))).to.equal(true);
  });

  it('sees a Kubernetes-style atomic swap of a ..data symlink, and reloads once per change', async () => {
    // <mount>/server.crt -> ..data/server.crt, ..data -> ..v1; the kubelet swaps ..data to ..v2.
    const mount = await mkdtemp(join(dir, 'mount-'));
    for (const [version, cert] of [['..v1', server], ['..v2', other]] as const) {
      await mkdir(join(mount, version));
      await copyFile(cert.cert, join(mount, version, 'server.crt'));
      await copyFile(cert.key, join(mount, version, 'server.key'));
    }
    await symlink('..v1', join(mount, '..data'));
    await symlink('..data/server.crt', join(mount, 'server.crt'));
    await symlink('..data/server.key', join(mount, 'server.key'));
    const lines: Array<Record<string, unknown>> = [];
    const material = await TlsMaterial.open({ certFile: join(mount, 'server.crt'), keyFile: join(mount, 'server.key'), log: capturingLogger(lines), debounceMs: 50, pollMs: 0 });
    opened.push(material);
    expect(material.current.summary.subject).to.equal('CN=server');

    const events: TlsReloadEvent[] = [];
    material.onReload((e) => events.push(e));
    await symlink('..v2', join(mount, '..data_tmp'));
    await rename(join(mount, '..data_tmp'), join(mount, '..data'));
    const deadline = Date.now() + 5000;
    while (material.current.summary.subject !== 'CN=other' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(material.current.summary.subject).to.equal('CN=other');
    await new Promise((r) => setTimeout(r, 200)); // any straggling event finds the same bytes: no second reload
    expect(events.map((e) => e.ok)).to.deep.equal([true]);
    expect(lines.some((l) => l.msg === 'TLS material reloaded: new connections use it, established ones keep theirs' && l.subject === 'CN=other')).to.equal(true);
  });

  it('reports the same rejected files once, not at every re-read', async () => {
    const live = await mkdtemp(join(dir, 'live-'));
    await copyFile(server.cert, join(live, 'server.crt'));
    await copyFile(server.key, join(live, 'server.key'));
    const lines: Array<Record<string, unknown>> = [];
    const material = await TlsMaterial.open({ certFile: join(live, 'server.crt'), keyFile: join(live, 'server.key'), log: capturingLogger(lines), debounceMs: 20, pollMs: 0 });
    opened.push(material);
    const events: TlsReloadEvent[] = [];
    material.onReload((e) => events.push(e));
    await copyFile(other.key, join(live, 'next.key'));
    await rename(join(live, 'next.key'), join(live, 'server.key')); // atomically: no half-written state to report
    await material.reload();
    await material.reload();
    await new Promise((r) => setTimeout(r, 150));
    expect(events.filter((e) => !e.ok)).to.have.length(1);
    expect(lines.filter((l) => l.level === 50)).to.have.length(1);
    expect(material.current.summary.subject).to.equal('CN=server');
  });
});

describe('listen addresses: plaintext only on loopback', () => {
  it('isLoopbackListenAddress', () => {
    for (const yes of ['127.0.0.1:7863', '127.0.0.1:0', '127.9.8.7:1', '[::1]:7863', 'localhost:7863', 'LOCALHOST:1', 'unix:/run/rune.sock', 'unix:///run/rune.sock', 'ipv4:127.0.0.1:1'])
      expect(isLoopbackListenAddress(yes), yes).to.equal(true);
    for (const no of ['0.0.0.0:7863', '[::]:7863', '10.0.0.5:7863', '192.168.1.2:1', 'rune.example.internal:7863', '128.0.0.1:1', '[::2]:1'])
      expect(isLoopbackListenAddress(no), no).to.equal(false);
  });

  it('checkListenAddress refuses plaintext elsewhere, saying why and what to pass; TLS or --insecure-listen allow it', () => {
    expect(() => checkListenAddress('0.0.0.0:7863', { flag: '--grpc-addr', tls: false, insecureListen: false })).to.throw(
      RuneError,
      'refusing to listen on 0.0.0.0:7863 (--grpc-addr) without TLS: it is not a loopback address, and bearer tokens and exec sessions would cross the network in plaintext. Pass --tls-cert and --tls-key',
    );
    expect(() => checkListenAddress('0.0.0.0:7863', { flag: '--grpc-addr', tls: true, insecureListen: false })).not.to.throw();
    expect(() => checkListenAddress('0.0.0.0:7863', { flag: '--grpc-addr', tls: false, insecureListen: true })).not.to.throw();
    expect(() => checkListenAddress('127.0.0.1:7863', { flag: '--grpc-addr', tls: false, insecureListen: false })).not.to.throw();
  });
});
