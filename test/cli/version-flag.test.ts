/**
 * `rune --version`: the bin (client/cli/rune.cjs, copied as is to dist/) prints the client version
 * and exits 0 without loading the CLI, so it costs about a bare Node start; main.ts gives the same
 * answer; every other command line is handed to the CLI.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { expect } from 'chai';
import { repoRoot } from '../support/runed-process.js';

const ENTRY = join(repoRoot, 'client', 'cli', 'rune.cjs');
const MAIN = join(repoRoot, 'client', 'cli', 'main.ts');

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function node(args: string[]): Promise<RunResult> {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete env.NODE_OPTIONS; // no tsx unless a test asks for it
  const child = spawn(process.execPath, args, { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

describe('rune --version', function () {
  this.timeout(30_000);
  let version: string;
  let work: string;

  before(async () => {
    version = (JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
    work = await mkdtemp(join(tmpdir(), 'rune-version-'));
  });

  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  for (const flag of ['--version', '-v']) {
    it(`the bin answers ${flag} with "rune <version>", exit 0`, async () => {
      const { code, stdout, stderr } = await node([ENTRY, flag]);
      expect(stderr).to.equal('');
      expect(code).to.equal(0);
      expect(stdout).to.equal(`rune ${version}\n`);
    });
  }

  it('the bin loads no other file for --version: no yargs, no grpc, no CLI module', async () => {
    // A preload records every CommonJS module in require.cache and, through a loader hook, every
    // ES module loaded after it; only node: builtins and the entry itself may appear.
    const hooks = join(work, 'hooks.mjs');
    const preload = join(work, 'preload.cjs');
    await writeFile(hooks, "export async function load(url, context, next) { process._rawDebug('LOADED ' + url); return next(url, context); }\n");
    await writeFile(
      preload,
      [
        `require('node:module').register(${JSON.stringify(pathToFileURL(hooks).href)});`,
        "process.on('exit', () => { for (const file of Object.keys(require.cache)) process._rawDebug('LOADED ' + file); });",
        '',
      ].join('\n'),
    );
    const { code, stdout, stderr } = await node(['--require', preload, ENTRY, '--version']);
    expect(code).to.equal(0);
    expect(stdout).to.equal(`rune ${version}\n`);
    const loaded = stderr
      .split('\n')
      .filter((line) => line.startsWith('LOADED '))
      .map((line) => line.slice('LOADED '.length))
      .filter((file) => !file.startsWith('node:') && file !== preload);
    expect(loaded.length, 'the entry itself is recorded').to.be.greaterThan(0);
    expect(loaded.filter((file) => file !== ENTRY && file !== pathToFileURL(ENTRY).href)).to.deep.equal([]);
  });

  it('main.ts gives the same answer (first argument only), without calling runed', async () => {
    const { code, stdout } = await node(['--import', 'tsx', MAIN, '--version']);
    expect(code).to.equal(0);
    expect(stdout).to.equal(`rune ${version}\n`);
  });

  it('the bin hands any other command line to the CLI: --help lists the commands', async () => {
    const { code, stdout } = await node(['--import', 'tsx', ENTRY, '--help']);
    expect(code).to.equal(0);
    expect(stdout).to.match(/^rune <command> \[options\]\nrune --version/);
    expect(stdout).to.match(/rune get <resource> \[name\]/);
  });

  it('a command that takes its own --version keeps it (rune secret get --version 2 is not the version flag)', async () => {
    const { code, stdout, stderr } = await node(['--import', 'tsx', ENTRY, 'secret', 'get', '--help']);
    expect(code).to.equal(0);
    expect(stdout).to.match(/--version +A retained older version/);
    expect(stderr).to.not.match(/reserved word/);
  });
});
