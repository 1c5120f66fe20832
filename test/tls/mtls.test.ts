/**
 * TLS and mutual TLS against a real runed (in process, 127.0.0.1:0) with certificates made by
 * the real openssl binary: who is refused at the handshake, who gets in, and hot reload of the
 * three files without a restart — new material for new connections, established connections
 * untouched, unusable files ignored.
 */
import { copyFile, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { X509Certificate } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:https';
import { connect } from 'node:tls';
import { expect } from 'chai';
import { RuneClient } from '../../client/api/rune-client.js';
import type { TlsMaterial, TlsReloadEvent } from '../../server/api/tls-material.js';
import { RuneError } from '../../shared/errors.js';
import { skipUnless } from '../support/strict.js';
import { makeCa, makeCert, opensslAvailable, type Issued } from '../support/test-pki.js';
import { startTestRuned, type TestRuned } from '../support/test-runed.js';

interface Trust {
  /** CA file the client verifies runed against. */
  ca: string;
  /** Client certificate presented, if any. */
  client?: Issued;
}

describe('TLS and mutual TLS (real runed, openssl certificates)', function () {
  this.timeout(30_000);
  let dir: string;
  let ca1: Issued, server1: Issued, client1: Issued;
  let ca2: Issued, client2: Issued;
  let ca3: Issued, server3: Issued, client3: Issued;
  let runed: TestRuned | undefined;
  const clients: RuneClient[] = [];

  before(async function () {
    skipUnless(this, opensslAvailable(), 'the openssl binary is not on PATH (apt-get install -y openssl): TLS tests need it to make certificates');
    dir = await mkdtemp(join(tmpdir(), 'rune-tls-'));
    ca1 = await makeCa(dir, 'ca1');
    server1 = await makeCert(dir, ca1, 'server1', 'server');
    client1 = await makeCert(dir, ca1, 'client1', 'client');
    ca2 = await makeCa(dir, 'ca2'); // another CA: its clients are strangers
    client2 = await makeCert(dir, ca2, 'client2', 'client');
    ca3 = await makeCa(dir, 'ca3'); // the CA rotated to
    server3 = await makeCert(dir, ca3, 'server3', 'server');
    client3 = await makeCert(dir, ca3, 'client3', 'client');
  });

  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await runed?.stop();
    runed = undefined;
  });

  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** runed serving the files in a fresh `live` dir (copies of `server` and, for mTLS, `clientCa`), which tests then rewrite. */
  async function serve(server: Issued, clientCa?: Issued): Promise<{ live: { cert: string; key: string; clientCa: string }; tls: TlsMaterial; addr: string; httpAddr: string; token: string }> {
    const liveDir = await mkdtemp(join(dir, 'live-'));
    const live = { cert: join(liveDir, 'server.crt'), key: join(liveDir, 'server.key'), clientCa: join(liveDir, 'client-ca.crt') };
    await copyFile(server.cert, live.cert);
    await copyFile(server.key, live.key);
    if (clientCa) await copyFile(clientCa.cert, live.clientCa);
    runed = await startTestRuned({
      orchestrator: { enabled: false },
      tls: { certFile: live.cert, keyFile: live.key, clientCaFile: clientCa ? live.clientCa : undefined, debounceMs: 50, pollMs: 0 },
    });
    return { live, tls: runed.runed.tls!, addr: runed.runed.grpcAddr, httpAddr: runed.runed.httpAddr, token: runed.token };
  }

  async function client(addr: string, token: string, trust: Trust | undefined): Promise<RuneClient> {
    const tls = trust && { ca: await readFile(trust.ca), ...(trust.client ? { cert: await readFile(trust.client.cert), key: await readFile(trust.client.key) } : {}) };
    const c = new RuneClient({ server: addr, token, timeoutSeconds: 5, tls });
    clients.push(c);
    return c;
  }

  /** One authenticated call on a new connection: resolves when it works, rejects with the RuneError otherwise. */
  async function callWith(addr: string, token: string, trust: Trust | undefined): Promise<void> {
    await (await client(addr, token, trust)).listNamespaces({});
  }

  async function refused(addr: string, token: string, trust: Trust | undefined): Promise<RuneError> {
    try {
      await callWith(addr, token, trust);
    } catch (err) {
      expect(err).to.be.instanceOf(RuneError);
      expect((err as RuneError).code).to.equal('UNAVAILABLE');
      return err as RuneError;
    }
    throw new Error('the call succeeded, but the connection should have been refused');
  }

  /**
   * A bare TLS handshake (ALPN h2, no gRPC): 'accepted' once runed sends its first HTTP/2 bytes
   * (it only does after accepting the handshake), else the TLS error the handshake ended with,
   * or 'closed' when runed closed the connection without a byte of HTTP/2 (Node's TLS server
   * does that, without an alert, to a client certificate that does not verify).
   */
  async function handshake(addr: string, trust: Trust): Promise<'accepted' | 'closed' | Error> {
    const [host, port] = [addr.replace(/:\d+$/, ''), Number(addr.replace(/^.*:/, ''))];
    const ca = await readFile(trust.ca);
    const cert = trust.client ? await readFile(trust.client.cert) : undefined;
    const key = trust.client ? await readFile(trust.client.key) : undefined;
    return new Promise((resolve) => {
      const socket = connect({ host, port, ca, cert, key, ALPNProtocols: ['h2'], checkServerIdentity: () => undefined });
      const timer = setTimeout(() => finish(new Error('no answer within 5 s')), 5000);
      const finish = (outcome: 'accepted' | 'closed' | Error) => {
        clearTimeout(timer);
        socket.destroy();
        resolve(outcome);
      };
      socket.once('data', () => finish('accepted'));
      socket.once('error', (err) => finish(err));
      socket.once('close', () => finish('closed'));
    });
  }

  /** GET https://<httpAddr>/healthz: the status code, or the error the connection ended with. */
  async function restHealth(httpAddr: string, trust: Trust): Promise<number | Error> {
    const ca = await readFile(trust.ca);
    const cert = trust.client ? await readFile(trust.client.cert) : undefined;
    const key = trust.client ? await readFile(trust.client.key) : undefined;
    return new Promise((resolve) => {
      const req = request(`https://${httpAddr}/healthz`, { ca, cert, key, agent: false, timeout: 5000 }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', (err) => resolve(err));
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.end();
    });
  }

  function nextReload(tls: TlsMaterial, matches: (event: TlsReloadEvent) => boolean, ms = 5000): Promise<TlsReloadEvent> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        stop();
        reject(new Error(`no matching TLS reload within ${ms} ms`));
      }, ms);
      const stop = tls.onReload((event) => {
        if (!matches(event)) return;
        clearTimeout(timer);
        stop();
        resolve(event);
      });
    });
  }

  /** Replaces `path` the way most tools do: write a temp file beside it, rename it over. */
  async function replaceAtomically(path: string, source: string): Promise<void> {
    await copyFile(source, `${path}.tmp`);
    await rename(`${path}.tmp`, path);
  }

  function fingerprint(cert: Issued): Promise<string> {
    return readFile(cert.cert).then((pem) => new X509Certificate(pem).fingerprint256);
  }

  describe('server TLS (no --client-ca)', () => {
    it('serves a client that trusts its CA, without a client certificate', async () => {
      const { addr, token } = await serve(server1);
      await callWith(addr, token, { ca: ca1.cert });
      expect(await handshake(addr, { ca: ca1.cert })).to.equal('accepted');
    });

    it('is refused by a client trusting another CA, and refuses plaintext', async () => {
      const { addr, token } = await serve(server1);
      const untrusted = await refused(addr, token, { ca: ca2.cert });
      expect(untrusted.message).to.match(/self[- ]signed certificate|unable to verify/i);
      await refused(addr, token, undefined);
    });
  });

  describe('mutual TLS (--client-ca)', () => {
    it('refuses a connection without a client certificate at the handshake', async () => {
      const { addr, token } = await serve(server1, ca1);
      const outcome = await handshake(addr, { ca: ca1.cert });
      expect(outcome).to.be.instanceOf(Error);
      expect((outcome as Error).message).to.match(/certificate required/);
      await refused(addr, token, { ca: ca1.cert });
    });

    it('refuses a client certificate from another CA at the handshake', async () => {
      const { addr, token } = await serve(server1, ca1);
      expect(await handshake(addr, { ca: ca1.cert, client: client2 })).to.equal('closed');
      await refused(addr, token, { ca: ca1.cert, client: client2 });
    });

    it('accepts a client certificate from the client CA', async () => {
      const { addr, token } = await serve(server1, ca1);
      expect(await handshake(addr, { ca: ca1.cert, client: client1 })).to.equal('accepted');
      await callWith(addr, token, { ca: ca1.cert, client: client1 });
    });

    it('still authenticates the call: a good certificate with a bad token is UNAUTHENTICATED', async () => {
      const { addr } = await serve(server1, ca1);
      const err = await callWith(addr, 'not-a-token', { ca: ca1.cert, client: client1 }).then(
        () => undefined,
        (e: unknown) => e as RuneError,
      );
      expect(err?.code).to.equal('UNAUTHENTICATED');
    });
  });

  describe('hot reload, without restarting runed', () => {
    it('rotated CA and server certificate: the new CA is honoured, the old refused, an established connection keeps working', async () => {
      const { live, tls, addr, token } = await serve(server1, ca1);
      const established = await client(addr, token, { ca: ca1.cert, client: client1 });
      await established.listNamespaces({});

      const expected = await fingerprint(server3);
      const done = nextReload(tls, (e) => e.ok && e.snapshot.summary.fingerprint256 === expected && e.snapshot.summary.clientCas?.join() === 'CN=ca3');
      await replaceAtomically(live.cert, server3.cert);
      await replaceAtomically(live.key, server3.key);
      await writeFile(live.clientCa, await readFile(ca3.cert)); // rewritten in place
      await done;

      // New connections: runed presents server3 and accepts only ca3's clients.
      expect(await handshake(addr, { ca: ca3.cert, client: client3 })).to.equal('accepted');
      await callWith(addr, token, { ca: ca3.cert, client: client3 });
      expect(await handshake(addr, { ca: ca3.cert, client: client1 })).to.equal('closed');
      await refused(addr, token, { ca: ca1.cert, client: client1 }); // nor does a client that still trusts only ca1 connect anew

      // The connection made before the reload is still open and still works.
      await established.listNamespaces({});
      expect(tls.current.summary.fingerprint256).to.equal(expected);
    });

    it('a TLS session from before a client-CA rotation cannot be resumed past it', async () => {
      const { live, tls, addr } = await serve(server1, ca1);
      const [host, port] = [addr.replace(/:\d+$/, ''), Number(addr.replace(/^.*:/, ''))];
      const ca = await readFile(ca1.cert);
      /** A handshake offering `session` (and no certificate) or presenting client1; the session runed issued, and whether it was a resumption. */
      const attempt = (options: { session?: Buffer; withCert: boolean }) =>
        new Promise<{ outcome: 'accepted' | 'refused'; session?: Buffer; resumed?: boolean }>((resolve) => {
          let session: Buffer | undefined;
          void Promise.all([readFile(client1.cert), readFile(client1.key)]).then(([cert, key]) => {
            const socket = connect({ host, port, ca, ALPNProtocols: ['h2'], checkServerIdentity: () => undefined, session: options.session, ...(options.withCert ? { cert, key } : {}) });
            socket.on('session', (s: Buffer) => (session = s));
            socket.once('data', () => {
              const resumed = socket.isSessionReused();
              setTimeout(() => (socket.destroy(), resolve({ outcome: 'accepted', session, resumed })), 50); // let the ticket arrive
            });
            socket.once('error', () => resolve({ outcome: 'refused' }));
            socket.once('close', () => resolve({ outcome: 'refused' }));
          });
        });
      const first = await attempt({ withCert: true });
      expect(first.outcome).to.equal('accepted');
      expect(first.session).to.be.instanceOf(Buffer);
      const resumedBefore = await attempt({ session: first.session, withCert: false });
      expect(resumedBefore).to.include({ outcome: 'accepted', resumed: true }); // resumption works, so the next check means something

      const reloaded = nextReload(tls, (e) => e.ok);
      await writeFile(live.clientCa, await readFile(ca3.cert));
      await reloaded;
      expect((await attempt({ session: first.session, withCert: false })).outcome).to.equal('refused');
    });

    it('the REST listener (--http-addr) serves the same material and follows the same reloads', async () => {
      const { live, tls, httpAddr } = await serve(server1, ca1);
      expect(await restHealth(httpAddr, { ca: ca1.cert, client: client1 })).to.equal(200);
      expect(await restHealth(httpAddr, { ca: ca1.cert })).to.be.instanceOf(Error); // no client certificate
      expect(await restHealth(httpAddr, { ca: ca1.cert, client: client2 })).to.be.instanceOf(Error); // another CA

      const expected = await fingerprint(server3);
      const done = nextReload(tls, (e) => e.ok && e.snapshot.summary.fingerprint256 === expected && e.snapshot.summary.clientCas?.join() === 'CN=ca3');
      await replaceAtomically(live.key, server3.key);
      await replaceAtomically(live.cert, server3.cert);
      await replaceAtomically(live.clientCa, ca3.cert);
      await done;
      expect(await restHealth(httpAddr, { ca: ca3.cert, client: client3 })).to.equal(200);
      expect(await restHealth(httpAddr, { ca: ca3.cert, client: client1 })).to.be.instanceOf(Error);
    });

    it('a broken or mismatched file on disk is rejected and the previous material stays in use', async () => {
      const { live, tls, addr, token } = await serve(server1, ca1);
      const before = tls.current.summary.fingerprint256;

      let rejected = nextReload(tls, (e) => !e.ok);
      await writeFile(live.cert, '-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n');
      let event = await rejected;
      expect(!event.ok && event.error.message).to.match(/--tls-cert .*server\.crt: certificate 1 cannot be parsed/);
      await callWith(addr, token, { ca: ca1.cert, client: client1 });

      rejected = nextReload(tls, (e) => !e.ok);
      await copyFile(server1.cert, live.cert);
      await copyFile(server3.key, live.key); // a key of another certificate
      event = await rejected;
      expect(!event.ok && event.error.message).to.match(/--tls-key .*server\.key does not belong to the first certificate/);
      await callWith(addr, token, { ca: ca1.cert, client: client1 });

      rejected = nextReload(tls, (e) => !e.ok);
      await copyFile(server1.key, live.key);
      await writeFile(live.clientCa, 'garbage\n');
      event = await rejected;
      expect(!event.ok && event.error.message).to.match(/--client-ca .*client-ca\.crt: no PEM certificate/);
      await callWith(addr, token, { ca: ca1.cert, client: client1 });
      expect(tls.current.summary.fingerprint256).to.equal(before);

      // Fixing the files is picked up like any change.
      const fixed = nextReload(tls, (e) => e.ok);
      await copyFile(ca2.cert, live.clientCa);
      await fixed;
      await callWith(addr, token, { ca: ca1.cert, client: client2 });
      await refused(addr, token, { ca: ca1.cert, client: client1 });
    });
  });
});
