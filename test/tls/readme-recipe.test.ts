/**
 * The README's TLS recipe is not prose to trust: its openssl block (between the
 * `tls-recipe:start` / `tls-recipe:end` markers) runs here as written, with HOME in a temp dir,
 * and runed then serves mutual TLS with the files it made: alice's certificate gets in, a
 * connection without one does not.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { RuneClient } from '../../client/api/rune-client.js';
import { RuneError } from '../../shared/errors.js';
import { repoRoot } from '../support/runed-process.js';
import { skipUnless } from '../support/strict.js';
import { opensslAvailable } from '../support/test-pki.js';
import { startTestRuned, type TestRuned } from '../support/test-runed.js';

const run = promisify(execFile);

/** The shell block between the recipe markers of the README. */
async function readmeRecipe(): Promise<string> {
  const readme = await readFile(join(repoRoot, 'README.md'), 'utf8');
  const section = /<!-- tls-recipe:start -->\s*```sh\n([\s\S]*?)```\s*<!-- tls-recipe:end -->/.exec(readme);
  if (!section) throw new Error('README.md has no ```sh block between <!-- tls-recipe:start --> and <!-- tls-recipe:end -->');
  return section[1]!;
}

describe("the README's TLS recipe, run as written", function () {
  this.timeout(30_000);
  let home: string;
  let runed: TestRuned | undefined;

  before(async function () {
    skipUnless(this, opensslAvailable(), 'the openssl binary is not on PATH (apt-get install -y openssl): the README recipe needs it');
    home = await mkdtemp(join(tmpdir(), 'rune-recipe-'));
  });

  after(async () => {
    await runed?.stop();
    if (home) await rm(home, { recursive: true, force: true });
  });

  it('makes a CA, a server and a client certificate that verify, and runed serves mutual TLS with them', async () => {
    const { stdout } = await run('bash', ['-euo', 'pipefail', '-c', await readmeRecipe()], { cwd: home, env: { ...process.env, HOME: home } });
    expect(stdout).to.include('server.crt: OK').and.to.include('alice.crt: OK');

    const dir = join(home, 'rune-tls');
    runed = await startTestRuned({
      orchestrator: { enabled: false },
      tls: { certFile: join(dir, 'server.crt'), keyFile: join(dir, 'server.key'), clientCaFile: join(dir, 'ca.crt'), pollMs: 0 },
    });
    const ca = await readFile(join(dir, 'ca.crt'));
    const alice = new RuneClient({ server: runed.runed.grpcAddr, token: runed.token, tls: { ca, cert: await readFile(join(dir, 'alice.crt')), key: await readFile(join(dir, 'alice.key')) } });
    const nobody = new RuneClient({ server: runed.runed.grpcAddr, token: runed.token, timeoutSeconds: 5, tls: { ca } });
    try {
      expect((await alice.listNamespaces({})).namespaces.map((n) => n.metadata?.name)).to.include('default');
      const refused = await nobody.listNamespaces({}).then(
        () => undefined,
        (err: unknown) => err as RuneError,
      );
      expect(refused?.code).to.equal('UNAVAILABLE');
      expect(refused?.message).to.match(/certificate required/);
    } finally {
      alice.close();
      nobody.close();
    }
  });
});
