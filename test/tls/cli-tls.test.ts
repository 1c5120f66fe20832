/**
 * The rune CLI over mutual TLS, end to end: a real runed child process started with
 * --tls-cert/--tls-key/--client-ca (openssl-made certificates), the CLI as a child process with
 * --ca/--cert/--key, the RUNE_CA/RUNE_CERT/RUNE_KEY environment, or a context saved by
 * `rune login`; and what it says when TLS is missing or wrong.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { parse as parseYaml } from 'yaml';
import { CliProcesses, cliEnv } from '../support/cli-process.js';
import { startRunedProcess, type RunedProcess } from '../support/runed-process.js';
import { skipUnless } from '../support/strict.js';
import { makeCa, makeCert, opensslAvailable, type Issued } from '../support/test-pki.js';

describe('rune CLI over mutual TLS (real runed, openssl certificates)', function () {
  this.timeout(60_000);
  let dir: string;
  let ca: Issued, server: Issued, client: Issued;
  let runed: RunedProcess | undefined;

  before(async function () {
    skipUnless(this, opensslAvailable(), 'the openssl binary is not on PATH (apt-get install -y openssl): TLS tests need it to make certificates');
    dir = await mkdtemp(join(tmpdir(), 'rune-cli-tls-'));
    ca = await makeCa(dir, 'ca');
    server = await makeCert(dir, ca, 'server', 'server');
    client = await makeCert(dir, ca, 'alice', 'client');
    runed = await startRunedProcess({ extraArgs: ['--tls-cert', server.cert, '--tls-key', server.key, '--client-ca', ca.cert] });
  });

  after(async () => {
    await runed?.stop();
    await runed?.cleanup();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** The environment of the user whose HOME runed bootstrapped, without any RUNE_* settings unless given. */
  const userEnv = (extra: NodeJS.ProcessEnv = {}) => cliEnv(runed!.home, { NODE_EXTRA_CA_CERTS: '', ...extra });
  const cli = new CliProcesses();
  const rune = (args: string[], env: NodeJS.ProcessEnv = userEnv()) => cli.run(args, env);

  const tlsFlags = () => ['--ca', ca.cert, '--cert', client.cert, '--key', client.key];

  it('whoami with --ca, --cert and --key: answered over mutual TLS, with nothing on stderr', async () => {
    const result = await rune(['whoami', '--server', runed!.grpcAddr, ...tlsFlags()]);
    expect(result.stderr).to.equal('');
    expect(result.code).to.equal(0);
    expect(result.stdout).to.match(/^Subject:\s+root$/m);
  });

  it('takes the files from RUNE_CA, RUNE_CERT and RUNE_KEY', async () => {
    const result = await rune(['whoami', '-o', 'name', '--server', runed!.grpcAddr], userEnv({ RUNE_CA: ca.cert, RUNE_CERT: client.cert, RUNE_KEY: client.key }));
    expect(result.stderr).to.equal('');
    expect(result.stdout).to.equal('root\n');
    expect(result.code).to.equal(0);
  });

  it('without a client certificate: exit 1, and says runed requires one', async () => {
    const result = await rune(['whoami', '--server', runed!.grpcAddr, '--ca', ca.cert]);
    expect(result.code).to.equal(1);
    expect(result.stderr).to.include(`error: cannot connect to runed at ${runed!.grpcAddr} (tlsv13 alert certificate required).`);
    expect(result.stderr).to.include('runed requires a client certificate (mutual TLS): pass --cert and --key');
  });

  it('plaintext against the TLS listener (the context runed bootstrapped): exit 1, and says to connect with TLS', async () => {
    const result = await rune(['whoami']);
    expect(result.code).to.equal(1);
    expect(result.stderr).to.include('if runed serves TLS, connect with TLS: --ca FILE');
  });

  it('tls:// without --ca verifies against the system roots, which do not know this CA: exit 1, says to pass --ca', async () => {
    const result = await rune(['whoami', '--server', `tls://${runed!.grpcAddr}`, '--cert', client.cert, '--key', client.key]);
    expect(result.code).to.equal(1);
    expect(result.stderr).to.include("runed's certificate did not verify: pass the CA that signed it with --ca");
  });

  it('a --cert without --key is a usage error (exit 2)', async () => {
    const result = await rune(['whoami', '--server', runed!.grpcAddr, '--ca', ca.cert, '--cert', client.cert]);
    expect(result.code).to.equal(2);
    expect(result.stderr).to.include('a client certificate (--cert) needs its key: pass --key');
  });

  it('rune login --ca --cert --key saves the files in the context; later commands need no flags', async () => {
    const login = await rune(['login', '--server', `tls://${runed!.grpcAddr}`, '--token-file', join(runed!.dataDir, 'admin.token'), ...tlsFlags()]);
    expect(login.stderr).to.equal('');
    expect(login.code).to.equal(0);
    const config = parseYaml(await readFile(join(runed!.home, '.rune', 'config.yaml'), 'utf8')) as { currentContext: string; contexts: Array<Record<string, string>> };
    const context = config.contexts.find((c) => c.name === config.currentContext)!;
    expect(context).to.include({ server: `tls://${runed!.grpcAddr}`, ca: ca.cert, cert: client.cert, key: client.key });

    const whoami = await rune(['whoami', '-o', 'name']);
    expect(whoami.stderr).to.equal('');
    expect(whoami.stdout).to.equal('root\n');
    const namespaces = await rune(['get', 'namespaces', '-o', 'name']);
    expect(namespaces.code).to.equal(0);
    expect(namespaces.stdout).to.include('namespace/default');
  });
});
