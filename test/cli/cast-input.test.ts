import { expect } from 'chai';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCastFiles } from '../../client/cli/cast-input.js';
import { formatLintError } from '../../shared/spec/cast-file.js';
import { RuneError } from '../../shared/errors.js';
import type { Service } from '../../shared/gen/rune/v1/service.js';

/** The service of a cast document (these files hold services only). */
const service = (d: { kind: string }): Service => (d as unknown as { service: Service }).service;

const options = { defaultNamespace: 'default' };

describe('loadCastFiles', () => {
  it('reads files, directories (yaml/yml/json, in name order) and stdin', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rune-cast-'));
    await mkdir(join(dir, 'd'));
    await writeFile(join(dir, 'd', 'b.yml'), 'service: {name: b, command: x}\n');
    await writeFile(join(dir, 'd', 'a.json'), '{"service": {"name": "a", "command": "x"}}');
    await writeFile(join(dir, 'd', 'notes.txt'), 'ignored');
    await writeFile(join(dir, 'c.yaml'), 'service: {name: c, command: x}\n');
    const input = await loadCastFiles([join(dir, 'd'), join(dir, 'c.yaml'), '-'], options, async () => 'service: {name: s, command: x}\n');
    expect(input.errors).to.deep.equal([]);
    expect(input.documents.map((d) => service(d).metadata!.name)).to.deep.equal(['a', 'b', 'c', 's']);
    expect(input.files.map((f) => f.replace(dir, ''))).to.deep.equal(['/d/a.json', '/d/b.yml', '/c.yaml', '<stdin>']);
  });

  it('reports the same service in two files at the second one', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rune-cast-'));
    await writeFile(join(dir, 'one.yml'), 'service: {name: web, command: x}\n');
    await writeFile(join(dir, 'two.yml'), '# again\nservice:\n  name: web\n  command: y\n');
    const input = await loadCastFiles([join(dir, 'one.yml'), join(dir, 'two.yml')], options);
    expect(input.errors.map(formatLintError)).to.deep.equal([`${join(dir, 'two.yml')}:2:1: document 1: name: service "web" in namespace "default" is already defined in ${join(dir, 'one.yml')}:1`]);
  });

  it('names a missing file', async () => {
    const err = await loadCastFiles(['/nonexistent/web.yml'], options).catch((e: unknown) => e);
    expect(err).to.be.instanceOf(RuneError);
    expect((err as Error).message).to.equal('cannot read /nonexistent/web.yml: no such file or directory');
  });
});
