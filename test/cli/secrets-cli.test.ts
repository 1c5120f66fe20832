/**
 * `rune secret`, `rune configmap`, `rune admin kek` and `secret:`/`configmap:` cast documents,
 * as a user runs them: the CLI as a child process against a real runed child process.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { CliProcesses, cliEnv } from '../support/cli-process.js';
import { startRunedProcess, type RunedProcess } from '../support/runed-process.js';

describe('rune secret / configmap / admin kek (real runed)', function () {
  this.timeout(60_000);
  let runed: RunedProcess;
  let work: string;

  before(async () => {
    runed = await startRunedProcess();
    work = await mkdtemp(join(tmpdir(), 'rune-secret-cli-'));
  });
  after(async () => {
    cli.killAll();
    await runed?.stop();
    await runed?.cleanup();
    await rm(work, { recursive: true, force: true });
  });

  const cli = new CliProcesses();
  const rune = (args: string[], extraEnv: NodeJS.ProcessEnv = {}) => cli.run(args, cliEnv(runed.home, extraEnv));

  it('creates a secret from literals and files, shows keys only, reveals on request, versions, deletes', async () => {
    const keyFile = join(work, 'tls.key');
    await writeFile(keyFile, 'KEY-BYTES\n');
    const created = await rune(['secret', 'create', 'db', '--from-literal', 'password=cli-s3cret', '--from-file', keyFile, '--from-file', `cert=${keyFile}`]);
    expect(created.stderr).to.equal('');
    expect(created.stdout).to.equal('secret/db created (version 1)\n');
    expect(created.code).to.equal(0);

    const shown = await rune(['secret', 'get', 'db']);
    expect(shown.stdout).to.match(/^NAME\s+TYPE\s+KEYS\s+VERSION\s+AGE\ndb\s+opaque\s+cert,password,tls\.key\s+1\s+/);
    expect(shown.stdout).not.to.include('cli-s3cret');

    const revealed = await rune(['secret', 'get', 'db', '--reveal']);
    expect(revealed.stderr).to.equal('');
    expect(revealed.stdout).to.match(/KEY\s+VALUE\ncert\s+<10 bytes; print it with --field cert>\npassword\s+cli-s3cret\n/);
    const raw = await rune(['secret', 'get', 'db', '--reveal', '--field', 'tls.key']);
    expect(raw.stdout).to.equal('KEY-BYTES\n');

    expect((await rune(['secret', 'create', 'db', '--from-literal', 'password=cli-s3cret', '--from-file', keyFile, '--from-file', `cert=${keyFile}`])).stdout).to.equal('secret/db unchanged\n');
    expect((await rune(['secret', 'create', 'db', '--from-literal', 'password=v2'])).stdout).to.equal('secret/db updated (version 2)\n');
    const old = await rune(['secret', 'get', 'db', '--reveal', '--version', '1', '--field', 'password']);
    expect(old.stdout).to.equal('cli-s3cret');

    const listed = await rune(['secret', 'list']);
    expect(listed.stdout).to.match(/db\s+opaque\s+password\s+2\s+/);
    const json = JSON.parse((await rune(['secret', 'list', '-o', 'json'])).stdout) as { items: Array<{ data?: unknown; keys: string[] }> };
    expect(json.items[0]!.keys).to.deep.equal(['password']);
    expect(json.items[0]!.data ?? {}).to.deep.equal({});

    expect((await rune(['secret', 'delete', 'db'])).stdout).to.equal('secret/db deleted\n');
    const missing = await rune(['secret', 'get', 'db']);
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.include('secret "db" not found');
  });

  it('answers usage errors with exit 2', async () => {
    const none = await rune(['secret', 'create', 'x']);
    expect(none.code).to.equal(2);
    expect(none.stderr).to.include('--from-literal');
    const bad = await rune(['secret', 'create', 'x', '--from-literal', 'a/b=1']);
    expect(bad.code).to.equal(2);
    expect(bad.stderr).to.include('key "a/b"');
    expect((await rune(['secret', 'get', 'x', '--field', 'k'])).code).to.equal(2);
  });

  it('manages configmaps', async () => {
    expect((await rune(['configmap', 'create', 'app', '--from-literal', 'logLevel=debug'])).stdout).to.equal('configmap/app created\n');
    const got = await rune(['cm', 'get', 'app']);
    expect(got.stdout).to.match(/^NAME\s+KEYS\s+AGE\napp\s+logLevel\s+/);
    expect(got.stdout).to.include('logLevel: debug');
    expect((await rune(['configmap', 'list']).then((r) => r.stdout))).to.match(/app\s+logLevel/);
    expect((await rune(['configmap', 'delete', 'app'])).stdout).to.equal('configmap/app deleted\n');
  });

  it('casts secret: and configmap: documents, expanding ${ENV} in secrets and naming an unset variable', async () => {
    const path = join(work, 'cast.yml');
    await writeFile(path, ['secret:', '  name: api', '  data:', '    token: ${API_TOKEN}', '    literal: "a$$b"', '---', 'configmap:', '  name: cfg', '  data: {mode: fast}', ''].join('\n'));
    const unset = await rune(['cast', path, '--detach']);
    expect(unset.code).to.equal(1);
    expect(unset.stderr).to.include('data.token: environment variable API_TOKEN is not set');
    expect(unset.stderr).to.include('nothing was sent');

    const cast = await rune(['cast', path, '--detach'], { API_TOKEN: 'from-env-123' });
    expect(cast.stderr).to.equal('');
    expect(cast.stdout).to.equal('secret/api created\nconfigmap/cfg created\n');
    expect((await rune(['secret', 'get', 'api', '--reveal', '--field', 'token'])).stdout).to.equal('from-env-123');
    expect((await rune(['secret', 'get', 'api', '--reveal', '--field', 'literal'])).stdout).to.equal('a$b');
    expect((await rune(['cast', path, '--detach'], { API_TOKEN: 'from-env-123' })).stdout).to.equal('secret/api unchanged\nconfigmap/cfg unchanged\n');
  });

  it('rotates the KEK from the CLI', async () => {
    await rune(['secret', 'create', 'rot', '--from-literal', 'k=still-here']);
    const before = await rune(['admin', 'kek', 'status', '-o', 'json']);
    const { kekId } = JSON.parse(before.stdout) as { kekId: string };
    const rotated = await rune(['admin', 'kek', 'rotate']);
    expect(rotated.code).to.equal(0);
    expect(rotated.stdout).to.match(new RegExp(`^kek rotated: ${kekId} → [0-9a-f]{16}; \\d+ secret versions? of \\d+ secrets? re-wrapped; new KEK in ${runed.dataDir}/kek`));
    expect((await rune(['secret', 'get', 'rot', '--reveal', '--field', 'k'])).stdout).to.equal('still-here');
  });
});
