/**
 * The REST gateway under TLS: with runed's TLS material (mutual TLS here) the gateway serves
 * HTTPS, and its calls still reach the gRPC chain (through its private socket, which needs no
 * client certificate), with the caller's token checked as usual.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:https';
import { expect } from 'chai';
import { skipUnless } from '../support/strict.js';
import { makeCa, makeCert, opensslAvailable, type Issued } from '../support/test-pki.js';
import { startTestRuned, type TestRuned } from '../support/test-runed.js';

interface Answer {
  status: number;
  body: any;
}

describe('REST gateway over mutual TLS (real runed, openssl certificates)', function () {
  this.timeout(30_000);
  let dir: string;
  let ca: Issued, server: Issued, client: Issued;
  let t: TestRuned;

  before(async function () {
    skipUnless(this, opensslAvailable(), 'the openssl binary is not on PATH (apt-get install -y openssl): TLS tests need it to make certificates');
    dir = await mkdtemp(join(tmpdir(), 'rune-gw-tls-'));
    ca = await makeCa(dir, 'ca');
    server = await makeCert(dir, ca, 'server', 'server');
    client = await makeCert(dir, ca, 'client', 'client');
    t = await startTestRuned({ orchestrator: { enabled: false }, tls: { certFile: server.cert, keyFile: server.key, clientCaFile: ca.cert, pollMs: 0 } });
  });
  after(async () => {
    await t?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function https(method: string, path: string, options: { token?: string; body?: unknown; withClientCert?: boolean } = {}): Promise<Answer> {
    const withCert = options.withClientCert ?? true;
    const tlsOptions = { ca: await readFile(ca.cert), ...(withCert ? { cert: await readFile(client.cert), key: await readFile(client.key) } : {}) };
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    return new Promise((resolve, reject) => {
      const req = request(
        `https://${t.runed.httpAddr}${path}`,
        { method, ...tlsOptions, agent: false, timeout: 5000, headers: { ...(options.token ? { authorization: `Bearer ${options.token}` } : {}), ...(payload ? { 'content-type': 'application/json' } : {}) } },
        (res) => {
          let text = '';
          res.on('data', (d: Buffer) => (text += d.toString()));
          res.on('end', () => resolve({ status: res.statusCode!, body: text ? JSON.parse(text) : undefined }));
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  it('serves the API over HTTPS to a client with a certificate, through the same chain', async () => {
    const created = await https('POST', '/v1/namespaces', { token: t.token, body: { metadata: { name: 'tls' } } });
    expect(created.status).to.equal(200);
    const list = await https('GET', '/v1/namespaces', { token: t.token });
    expect(list.body.namespaces.map((n: any) => n.metadata.name)).to.include('tls');
    const anonymous = await https('GET', '/v1/namespaces');
    expect(anonymous.status).to.equal(401);
  });

  it('refuses a client without a certificate at the handshake', async () => {
    let failed: unknown;
    try {
      await https('GET', '/healthz', { withClientCert: false });
    } catch (err) {
      failed = err;
    }
    expect(failed).to.be.instanceOf(Error);
  });
});
