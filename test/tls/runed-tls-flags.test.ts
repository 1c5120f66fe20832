/**
 * runed's TLS flags as a user meets them: a real runed child process that refuses plaintext on a
 * non-loopback address (exit 1, saying why), refuses unusable TLS files (exit 1, naming the
 * file), rejects flag combinations that make no sense, and starts and stops cleanly with TLS.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { repoRoot, startRunedProcess } from '../support/runed-process.js';
import { skipUnless } from '../support/strict.js';
import { makeCa, makeCert, opensslAvailable, type Issued } from '../support/test-pki.js';

/** Runs runed to its exit (these starts all fail before binding anything); resolves with code, stdout and stderr. */
function runedExit(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return mkdtemp(join(tmpdir(), 'runed-flags-')).then((home) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'server', 'main.ts'), '--data-dir', join(home, 'data'), ...args], {
      cwd: repoRoot,
      env: { ...process.env, HOME: home, RUNE_CONFIG: join(home, '.rune', 'config.yaml'), NODE_EXTRA_CA_CERTS: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    return new Promise((resolve) =>
      child.on('close', (code) => {
        clearTimeout(timer);
        void rm(home, { recursive: true, force: true }).then(() => resolve({ code, stdout, stderr }));
      }),
    );
  });
}

describe('runed TLS flags (real runed process)', function () {
  this.timeout(30_000);
  let dir: string;
  let ca: Issued, server: Issued;

  before(async function () {
    skipUnless(this, opensslAvailable(), 'the openssl binary is not on PATH (apt-get install -y openssl): TLS tests need it to make certificates');
    dir = await mkdtemp(join(tmpdir(), 'runed-tls-flags-'));
    ca = await makeCa(dir, 'ca');
    server = await makeCert(dir, ca, 'server', 'server');
  });

  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('refuses plaintext on a non-loopback address: exit 1, saying why and what to pass (it never binds)', async () => {
    const result = await runedExit(['--grpc-addr', '0.0.0.0:0']);
    expect(result.code).to.equal(1);
    expect(result.stderr).to.include('runed: refusing to listen on 0.0.0.0:0 (--grpc-addr) without TLS: it is not a loopback address');
    expect(result.stderr).to.include('Pass --tls-cert and --tls-key (and --client-ca to require client certificates), or --insecure-listen');
  });

  it('refuses an unusable TLS file: exit 1, naming the flag and the file', async () => {
    const broken = join(dir, 'broken.crt');
    await writeFile(broken, 'not a certificate\n');
    const result = await runedExit(['--grpc-addr', '127.0.0.1:0', '--tls-cert', broken, '--tls-key', server.key]);
    expect(result.code).to.equal(1);
    expect(result.stderr).to.include(`runed: --tls-cert ${broken}: no PEM certificate in it`);
  });

  it('--tls-cert without --tls-key, or --client-ca without TLS: exit 1 with the reason', async () => {
    const alone = await runedExit(['--grpc-addr', '127.0.0.1:0', '--tls-cert', server.cert]);
    expect(alone.code).to.equal(1);
    expect(alone.stderr).to.include('--tls-cert and --tls-key go together');
    const caOnly = await runedExit(['--grpc-addr', '127.0.0.1:0', '--client-ca', ca.cert]);
    expect(caOnly.code).to.equal(1);
    expect(caOnly.stderr).to.include('--client-ca needs --tls-cert and --tls-key');
  });

  it('starts with --tls-cert, --tls-key and --client-ca on loopback, and stops cleanly (exit 0)', async () => {
    const runed = await startRunedProcess({ extraArgs: ['--tls-cert', server.cert, '--tls-key', server.key, '--client-ca', ca.cert] });
    try {
      expect(runed.grpcAddr).to.match(/^127\.0\.0\.1:\d+$/);
    } finally {
      expect(await runed.stop()).to.equal(0);
      await runed.cleanup();
    }
  });
});
