import { expect } from 'chai';
import type { ClientConfig } from '../../shared/config/client-config.js';
import { isHostPort, isLoopback, loadTls, loadToken, resolveConnection, splitServerAddress } from '../../client/cli/connection.js';
import { UsageError } from '../../client/cli/global-options.js';
import { RuneError } from '../../shared/errors.js';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const config: ClientConfig = {
  currentContext: 'local',
  contexts: [
    { name: 'local', server: '127.0.0.1:7001', tokenFile: '/ctx/local.token', namespace: 'ctx-ns' },
    { name: 'lab', server: '127.0.0.1:7002', token: 'lab-token' },
  ],
};
const path = '/home/me/.rune/config.yaml';

describe('resolveConnection: flags > env > context > default', () => {
  const rows: Array<{ case: string; flags: Record<string, unknown>; env: NodeJS.ProcessEnv; config?: ClientConfig; expect: Record<string, unknown> }> = [
    { case: 'built-in defaults without config', flags: {}, env: {}, config: undefined, expect: { server: '127.0.0.1:7863', namespace: 'default', token: undefined, tokenFile: undefined, namespaceExplicit: false } },
    { case: 'the current context', flags: {}, env: {}, expect: { server: '127.0.0.1:7001', namespace: 'ctx-ns', tokenFile: '/ctx/local.token', tokenSource: 'context "local"' } },
    { case: '--context picks another context', flags: { context: 'lab' }, env: {}, expect: { server: '127.0.0.1:7002', namespace: 'default', token: 'lab-token' } },
    { case: 'RUNE_CONTEXT picks another context', flags: {}, env: { RUNE_CONTEXT: 'lab' }, expect: { server: '127.0.0.1:7002' } },
    { case: 'env beats context', flags: {}, env: { RUNE_SERVER: '127.0.0.1:7100', RUNE_TOKEN: 'env-token', RUNE_NAMESPACE: 'env-ns' }, expect: { server: '127.0.0.1:7100', token: 'env-token', tokenFile: undefined, tokenSource: 'RUNE_TOKEN', namespace: 'env-ns' } },
    { case: 'RUNE_TOKEN_FILE beats the context token', flags: { context: 'lab' }, env: { RUNE_TOKEN_FILE: '/env.token' }, expect: { tokenFile: '/env.token', token: undefined } },
    {
      case: 'flags beat env',
      flags: { server: '127.0.0.1:7200', token: 'flag-token', namespace: 'flag-ns' },
      env: { RUNE_SERVER: '127.0.0.1:7100', RUNE_TOKEN: 'env-token', RUNE_NAMESPACE: 'env-ns' },
      expect: { server: '127.0.0.1:7200', token: 'flag-token', tokenSource: '--token', namespace: 'flag-ns', namespaceExplicit: true },
    },
    { case: '--token-file beats RUNE_TOKEN', flags: { tokenFile: '/flag.token' }, env: { RUNE_TOKEN: 'env-token' }, expect: { tokenFile: '/flag.token', token: undefined, tokenSource: '--token-file' } },
    { case: '--token beats --token-file', flags: { token: 't', tokenFile: '/f' }, env: {}, expect: { token: 't', tokenFile: undefined } },
    { case: '--timeout is carried', flags: { timeout: 3 }, env: {}, expect: { timeoutSeconds: 3 } },
  ];
  for (const row of rows) {
    it(row.case, () => {
      const got = resolveConnection(row.flags, row.env, 'config' in row ? row.config : config, path);
      for (const [key, value] of Object.entries(row.expect)) expect(got[key as keyof typeof got], key).to.equal(value);
    });
  }

  it('names the flag and the known contexts when --context is unknown', () => {
    expect(() => resolveConnection({ context: 'nope' }, {}, config, path)).to.throw(UsageError, 'context "nope" (from --context) is not in /home/me/.rune/config.yaml; known contexts: local, lab');
  });

  it('names the source of a bad server address', () => {
    expect(() => resolveConnection({ server: 'http://x:1' }, {}, config, path)).to.throw(UsageError, '--server: "http://x:1" is not host:port');
    expect(() => resolveConnection({}, { RUNE_SERVER: 'nohost' }, config, path)).to.throw(UsageError, 'RUNE_SERVER: "nohost" is not host:port');
  });

  it('rejects a namespace that is not a DNS label, naming the flag', () => {
    expect(() => resolveConnection({ namespace: 'Prod' }, {}, config, path)).to.throw(UsageError, '-n/--namespace: "Prod" must be lower case: use "prod"');
  });

  it('rejects a non-positive --timeout', () => {
    expect(() => resolveConnection({ timeout: 0 }, {}, config, path)).to.throw(UsageError, '--timeout must be a positive number');
  });
});

describe('addresses', () => {
  it('isHostPort', () => {
    for (const ok of ['127.0.0.1:7863', 'localhost:1', '[::1]:7863', 'runed.internal:65535']) expect(isHostPort(ok), ok).to.equal(true);
    for (const bad of ['127.0.0.1', ':7863', 'http://127.0.0.1:7863', '127.0.0.1:0', '127.0.0.1:70000']) expect(isHostPort(bad), bad).to.equal(false);
  });
  it('isLoopback', () => {
    for (const yes of ['127.0.0.1:1', '127.1.2.3:1', 'localhost:1', '[::1]:1']) expect(isLoopback(yes), yes).to.equal(true);
    for (const no of ['10.0.0.1:1', 'example.com:1']) expect(isLoopback(no), no).to.equal(false);
  });
});

describe('loadToken', () => {
  const base = { server: '127.0.0.1:7863', namespace: 'default', namespaceExplicit: false, configPath: path, timeoutSeconds: 10 };

  it('returns an inline token', async () => {
    expect(await loadToken({ ...base, token: 'abc' })).to.equal('abc');
  });

  it('reads and trims a token file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rune-token-'));
    await writeFile(join(dir, 't'), 'secret\n');
    expect(await loadToken({ ...base, tokenFile: join(dir, 't'), tokenSource: '--token-file' })).to.equal('secret');
  });

  it('says how to log in when there is no token', async () => {
    const err = await loadToken(base).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(RuneError).with.property('code', 'UNAUTHENTICATED');
    expect((err as Error).message).to.include('rune login --server 127.0.0.1:7863 --token-file <data-dir>/admin.token');
  });

  it('names a missing token file and where it came from', async () => {
    const err = await loadToken({ ...base, tokenFile: '/nonexistent/admin.token', tokenSource: 'context "default"' }).catch((e: unknown) => e);
    expect((err as Error).message).to.include('cannot read the token file /nonexistent/admin.token (from context "default"): it does not exist; log in with');
  });
});

describe('TLS settings: --ca/--cert/--key > RUNE_CA/RUNE_CERT/RUNE_KEY > context, tls:// servers', () => {
  const tlsConfig: ClientConfig = {
    currentContext: 'prod',
    contexts: [
      { name: 'prod', server: 'rune.example.internal:7863', token: 't', ca: '/ctx/ca.crt', cert: '/ctx/me.crt', key: '/ctx/me.key' },
      { name: 'plain', server: '127.0.0.1:7863', token: 't' },
      { name: 'tls-scheme', server: 'tls://rune.example.internal:7863', token: 't' },
    ],
  };

  it('is plaintext without any TLS setting', () => {
    expect(resolveConnection({ context: 'plain' }, {}, tlsConfig, path).tls).to.equal(undefined);
  });

  it("takes the context's files, naming the context as their source", () => {
    const got = resolveConnection({}, {}, tlsConfig, path);
    expect(got.server).to.equal('rune.example.internal:7863');
    expect(got.tls).to.deep.equal({
      ca: { path: '/ctx/ca.crt', source: 'context "prod"' },
      cert: { path: '/ctx/me.crt', source: 'context "prod"' },
      key: { path: '/ctx/me.key', source: 'context "prod"' },
    });
  });

  it('env beats the context and flags beat env, each setting on its own', () => {
    const got = resolveConnection({ ca: '/flag/ca.crt' }, { RUNE_CA: '/env/ca.crt', RUNE_CERT: '/env/me.crt', RUNE_KEY: '/env/me.key' }, tlsConfig, path);
    expect(got.tls).to.deep.equal({ ca: { path: '/flag/ca.crt', source: '--ca' }, cert: { path: '/env/me.crt', source: 'RUNE_CERT' }, key: { path: '/env/me.key', source: 'RUNE_KEY' } });
  });

  it('a CA alone turns TLS on (server authentication only)', () => {
    expect(resolveConnection({ context: 'plain', ca: '/ca.crt' }, {}, tlsConfig, path).tls).to.deep.equal({ ca: { path: '/ca.crt', source: '--ca' } });
  });

  it('tls:// and https:// servers mean TLS verified against the system roots; the address is host:port', () => {
    expect(splitServerAddress('tls://rune.example.internal:7863')).to.deep.equal({ address: 'rune.example.internal:7863', tls: true });
    expect(splitServerAddress('https://10.0.0.5:7863/')).to.deep.equal({ address: '10.0.0.5:7863', tls: true });
    expect(splitServerAddress('10.0.0.5:7863')).to.deep.equal({ address: '10.0.0.5:7863', tls: false });
    const got = resolveConnection({ context: 'tls-scheme' }, {}, tlsConfig, path);
    expect(got.server).to.equal('rune.example.internal:7863');
    expect(got.tls).to.deep.equal({});
    expect(() => resolveConnection({ server: 'tls://nohost' }, {}, tlsConfig, path)).to.throw(UsageError, '--server: "tls://nohost" is not host:port');
  });

  it('a client certificate needs its key and the reverse (UsageError naming the source)', () => {
    expect(() => resolveConnection({ context: 'plain', cert: '/me.crt' }, {}, tlsConfig, path)).to.throw(UsageError, 'a client certificate (--cert) needs its key: pass --key');
    expect(() => resolveConnection({ context: 'plain' }, { RUNE_KEY: '/me.key' }, tlsConfig, path)).to.throw(UsageError, 'a client key (RUNE_KEY) needs its certificate: pass --cert');
  });

  it('loadTls reads the PEM files, and names a missing or non-PEM file with its source', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rune-tls-files-'));
    const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    await writeFile(join(dir, 'ca.crt'), pem);
    await writeFile(join(dir, 'me.key'), '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----\n');
    await writeFile(join(dir, 'junk'), 'not pem');
    expect(await loadTls({})).to.equal(undefined);
    const got = await loadTls({ tls: { ca: { path: join(dir, 'ca.crt'), source: '--ca' } } });
    expect(got?.ca?.toString()).to.equal(pem);
    expect(got?.cert).to.equal(undefined);
    const missing = await loadTls({ tls: { ca: { path: join(dir, 'nope.crt'), source: 'RUNE_CA' } } }).catch((e: unknown) => e as RuneError);
    expect(missing).to.be.instanceOf(RuneError);
    expect((missing as RuneError).message).to.equal(`cannot read the CA certificate ${join(dir, 'nope.crt')} (from RUNE_CA): it does not exist`);
    const junk = await loadTls({ tls: { cert: { path: join(dir, 'junk'), source: '--cert' }, key: { path: join(dir, 'me.key'), source: '--key' } } }).catch((e: unknown) => e as RuneError);
    expect((junk as RuneError).message).to.equal(`${join(dir, 'junk')} (from --cert) holds no PEM client certificate`);
    await rm(dir, { recursive: true, force: true });
  });
});
