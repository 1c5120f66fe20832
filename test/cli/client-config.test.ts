import { expect } from 'chai';
import { mkdtemp, readFile, stat, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clientConfigPath, readClientConfig, upsertContext, writeClientConfig, type ClientConfig } from '../../shared/config/client-config.js';
import { RuneError } from '../../shared/errors.js';

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'rune-config-'));
}

describe('client config', () => {
  it('clientConfigPath: RUNE_CONFIG, else $HOME/.rune/config.yaml', () => {
    expect(clientConfigPath({ RUNE_CONFIG: '/x/c.yaml', HOME: '/h' })).to.equal('/x/c.yaml');
    expect(clientConfigPath({ HOME: '/h' })).to.equal('/h/.rune/config.yaml');
  });

  it('readClientConfig: undefined when the file is missing', async () => {
    expect(await readClientConfig(join(await tempDir(), 'nope.yaml'))).to.equal(undefined);
  });

  it('writes atomically with a 0700 directory and a 0600 file, and reads back what it wrote', async () => {
    const path = join(await tempDir(), 'sub', '.rune', 'config.yaml');
    const config: ClientConfig = { currentContext: 'default', contexts: [{ name: 'default', server: '127.0.0.1:7863', tokenFile: '/d/admin.token', namespace: 'default' }] };
    await writeClientConfig(path, config);
    expect((await stat(path)).mode & 0o777).to.equal(0o600);
    expect((await stat(join(path, '..'))).mode & 0o777).to.equal(0o700);
    expect(await readClientConfig(path)).to.deep.equal(config);
    await writeClientConfig(path, { ...config, currentContext: 'other' });
    expect((await readClientConfig(path))!.currentContext).to.equal('other');
    expect((await readdir(join(path, '..'))).filter((n) => n.endsWith('.tmp')), 'no temp files left').to.deep.equal([]);
  });

  it('leaves undefined fields out of the file', async () => {
    const path = join(await tempDir(), 'c.yaml');
    await writeClientConfig(path, { currentContext: 'a', contexts: [{ name: 'a', server: 'h:1', token: undefined, namespace: undefined }] });
    expect(await readFile(path, 'utf8')).to.not.include('token');
  });

  it('reads an empty file as no contexts', async () => {
    const path = join(await tempDir(), 'c.yaml');
    await writeFile(path, '');
    expect(await readClientConfig(path)).to.deep.equal({ currentContext: '', contexts: [] });
  });

  it('names the file on bad YAML', async () => {
    const path = join(await tempDir(), 'c.yaml');
    await writeFile(path, 'contexts: [\n');
    const err = await readClientConfig(path).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(RuneError).with.property('code', 'FAILED_PRECONDITION');
    expect((err as Error).message).to.match(new RegExp(`^client config ${path} is not valid YAML: .*; fix it or delete it and run "rune login"$`));
  });

  it('names the file and the field on a bad shape', async () => {
    const path = join(await tempDir(), 'c.yaml');
    await writeFile(path, 'currentContext: a\ncontexts:\n  - name: a\n');
    const err = await readClientConfig(path).catch((e: unknown) => e);
    expect((err as Error).message).to.include(`client config ${path} is malformed: contexts[0].server:`);
  });

  it('upsertContext replaces in place, appends new ones, and never mutates', () => {
    const config: ClientConfig = { currentContext: 'a', contexts: [{ name: 'a', server: 'h:1' }, { name: 'b', server: 'h:2' }] };
    const before = JSON.stringify(config);
    const replaced = upsertContext(config, { name: 'a', server: 'h:9' }, { makeCurrent: false });
    expect(replaced.contexts.map((c) => `${c.name}@${c.server}`)).to.deep.equal(['a@h:9', 'b@h:2']);
    expect(replaced.currentContext).to.equal('a');
    const added = upsertContext(config, { name: 'c', server: 'h:3' }, { makeCurrent: true });
    expect(added.contexts.map((c) => c.name)).to.deep.equal(['a', 'b', 'c']);
    expect(added.currentContext).to.equal('c');
    expect(JSON.stringify(config)).to.equal(before);
    expect(upsertContext(undefined, { name: 'x', server: 'h:1' }, { makeCurrent: true })).to.deep.equal({ currentContext: 'x', contexts: [{ name: 'x', server: 'h:1' }] });
  });
});
