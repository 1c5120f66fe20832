/**
 * The rune CLI as a real child process (node + tsx on the sources) against a real runed child
 * process, each with a temp HOME. runed's first start writes the CLI context, so plain `rune`
 * commands are authenticated exactly as a user's would be.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { CliProcesses, cliEnv } from '../support/cli-process.js';
import { startRunedProcess, type RunedProcess } from '../support/runed-process.js';

describe('rune CLI end to end (real runed)', function () {
  this.timeout(60_000);
  let runed: RunedProcess;
  let work: string;
  const cli = new CliProcesses();

  before(async () => {
    runed = await startRunedProcess();
    work = await mkdtemp(join(tmpdir(), 'rune-cli-e2e-'));
  });

  after(async () => {
    cli.killAll();
    await runed?.stop();
    await runed?.cleanup();
    await rm(work, { recursive: true, force: true });
  });

  /** The environment of a user whose HOME runed bootstrapped (so the CLI has a context). */
  const userEnv = (extra: NodeJS.ProcessEnv = {}) => cliEnv(runed.home, extra);
  const start = (args: string[], env: NodeJS.ProcessEnv = userEnv()) => cli.start(args, env).child;
  const rune = (args: string[], options: { env?: NodeJS.ProcessEnv; input?: string } = {}) => cli.run(args, options.env ?? userEnv(), options.input);

  async function file(name: string, text: string): Promise<string> {
    const path = join(work, name);
    await writeFile(path, text);
    return path;
  }

  async function until(what: string, check: () => boolean, ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it('casts a two-document file: both services exist', async () => {
    const path = await file('app.yml', ['service:', '  name: web', '  command: node', '  args: [server.js]', '  scale: 2', '---', 'service:', '  name: db', '  command: postgres', ''].join('\n'));
    const cast = await rune(['cast', path]);
    expect(cast.stderr).to.equal('');
    expect(cast.code).to.equal(0);
    expect(cast.stdout).to.equal('service/web created\nservice/db created\n');

    const again = await rune(['cast', path]);
    expect(again.stdout).to.equal('service/web unchanged\nservice/db unchanged\n');
  });

  it('get services -o json parses and holds both, with defaults applied', async () => {
    const { code, stdout } = await rune(['get', 'services', '-o', 'json']);
    expect(code).to.equal(0);
    const list = JSON.parse(stdout) as { items: Array<{ metadata: { name: string }; spec: Record<string, unknown> }> };
    expect(list.items.map((s) => s.metadata.name).sort()).to.deep.equal(['db', 'web']);
    const web = list.items.find((s) => s.metadata.name === 'web')!;
    expect(web.spec).to.include({ runtime: 'process', command: 'node', scale: 2, restartPolicy: 'Always', stopSignal: 'SIGTERM', stopTimeoutSeconds: 10 });
  });

  it('get services prints a table; -o name prints kind/name', async () => {
    const table = await rune(['get', 'svc']);
    expect(table.stdout.split('\n')[0]).to.match(/^NAME +SCALE +READY +STATUS +AGE$/);
    expect(table.stdout).to.match(/^web +2 +0\/2 /m);
    const names = await rune(['get', 'svc', '-o', 'name']);
    expect(names.stdout.split('\n').filter(Boolean).sort()).to.deep.equal(['service/db', 'service/web']);
  });

  it('get services -w sees a cast made afterwards', async () => {
    const watcher = start(['get', 'services', '-w']);
    let out = '';
    watcher.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await until('the initial list', () => /^web /m.test(out));
    const path = await file('late.yml', 'service: {name: late, command: node}\n');
    expect((await rune(['cast', path])).code).to.equal(0);
    await until('a row for the new service', () => /^late +1 +0\/1 /m.test(out));
    const exited = new Promise<number | null>((resolve) => watcher.on('close', (code) => resolve(code)));
    watcher.kill('SIGINT');
    expect(await exited).to.equal(0);
  });

  it('get services -w -o json prints one event per line', async () => {
    const watcher = start(['get', 'services', '-w', '-o', 'json']);
    let out = '';
    watcher.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await until('the initial list', () => out.split('\n').filter(Boolean).length >= 3);
    const path = await file('json-late.yml', 'service: {name: jsonlate, command: node}\n');
    await rune(['cast', path]);
    await until('the event', () => out.includes('"jsonlate"'));
    watcher.kill('SIGINT');
    const events = out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; service: { metadata: { name: string } } });
    // Its first event is the ADDED one (status updates from the controllers follow).
    const first = events.find((e) => e.service?.metadata?.name === 'jsonlate')!;
    expect(first).to.deep.include({ type: 'EVENT_TYPE_ADDED' });
  });

  it('describe service shows spec and metadata', async () => {
    const { code, stdout } = await rune(['describe', 'service', 'web']);
    expect(code).to.equal(0);
    expect(stdout).to.match(/^Name: +web$/m);
    expect(stdout).to.match(/^ {2}Args: +server\.js$/m);
    expect(stdout).to.match(/^ {2}Scale: +2$/m);
  });

  it('delete service removes it; getting it then fails with exit 1', async () => {
    const del = await rune(['delete', 'service', 'web']);
    expect(del.code).to.equal(0);
    expect(del.stdout).to.equal('service/web deleted\n');
    const get = await rune(['get', 'service', 'web']);
    expect(get.code).to.equal(1);
    expect(get.stderr).to.match(/^error: .*web.*not found/);
  });

  it('lint errors exit 1, name file:line:field, and send nothing', async () => {
    const path = await file('bad.yml', ['service:', '  name: bad', '  command: node', '  ports:', '    - port: 70000', ''].join('\n'));
    const cast = await rune(['cast', path]);
    expect(cast.code).to.equal(1);
    expect(cast.stdout).to.equal('');
    expect(cast.stderr).to.include(`${path}:5:7: document 1: ports[0].port: must be between 1 and 65535`);
    expect(cast.stderr).to.include('nothing was sent');
    const names = await rune(['get', 'svc', '-o', 'name']);
    expect(names.stdout).to.not.include('service/bad');

    const lint = await rune(['lint', path]);
    expect(lint.code).to.equal(1);
    expect(lint.stderr).to.include(`${path}:5:7: document 1: ports[0].port: must be between 1 and 65535`);
  });

  it('cast --dry-run reports without writing; -o json prints the resulting objects', async () => {
    const path = await file('dry.yml', 'service: {name: dry, command: node}\n');
    const dry = await rune(['cast', '--dry-run', path]);
    expect(dry.stdout).to.equal('service/dry created (dry run)\n');
    expect((await rune(['get', 'svc', '-o', 'name'])).stdout).to.not.include('service/dry');
    const json = await rune(['cast', path, '-o', 'json']);
    expect(JSON.parse(json.stdout).items[0].metadata.name).to.equal('dry');
  });

  it('casts from stdin', async () => {
    const { code, stdout } = await rune(['cast', '-'], { input: 'service: {name: piped, command: node}\n' });
    expect(code).to.equal(0);
    expect(stdout).to.equal('service/piped created\n');
  });

  it('without a token: says how to log in, exit 1', async () => {
    const home = await mkdtemp(join(tmpdir(), 'rune-nohome-'));
    const { code, stderr } = await rune(['get', 'svc', '--server', runed.grpcAddr], { env: userEnv({ HOME: home, RUNE_CONFIG: join(home, '.rune', 'config.yaml') }) });
    expect(code).to.equal(1);
    expect(stderr).to.include(`rune login --server ${runed.grpcAddr} --token-file <data-dir>/admin.token`);
  });

  it('with a wrong token: runed refuses, the CLI says how to log in', async () => {
    const { code, stderr } = await rune(['get', 'svc', '--token', 'not-a-token']);
    expect(code).to.equal(1);
    expect(stderr).to.match(/^error: /);
    expect(stderr).to.include('rune login --server');
  });

  it('login checks the token, writes a context and makes it current', async () => {
    const home = await mkdtemp(join(tmpdir(), 'rune-login-'));
    const env = userEnv({ HOME: home, RUNE_CONFIG: join(home, '.rune', 'config.yaml') });
    const bad = await rune(['login', '--server', runed.grpcAddr, '--token', 'nope'], { env });
    expect(bad.code).to.equal(1);
    expect(bad.stderr).to.include('rejected the token');

    const ok = await rune(['login', '--server', runed.grpcAddr, '--token-file', join(runed.dataDir, 'admin.token'), '--context', 'e2e', '-n', 'default'], { env });
    expect(ok.stderr).to.equal('');
    expect(ok.code).to.equal(0);
    expect(ok.stdout).to.include('as root (admin)');
    const who = await rune(['whoami'], { env });
    expect(who.stdout).to.match(/^Subject: +root$/m);
    expect(who.stdout).to.match(/^Context: +e2e$/m);
    const contexts = await rune(['config', 'get-contexts'], { env });
    expect(contexts.stdout).to.match(/^\* +e2e +/m);
  });

  it('version prints both versions', async () => {
    const { code, stdout } = await rune(['version']);
    expect(code).to.equal(0);
    expect(stdout).to.match(/^Client Version: \d+\.\d+\.\d+/m);
    expect(stdout).to.match(/^Server Version: \d+\.\d+\.\d+/m);
  });

  it('runed unreachable: version still prints the client version, exit 1 with advice', async () => {
    const { code, stdout, stderr } = await rune(['version', '--server', '127.0.0.1:1']);
    expect(code).to.equal(1);
    expect(stdout).to.match(/^Client Version: /);
    expect(stderr).to.include('runed is not reachable at 127.0.0.1:1');
    expect(stderr).to.include('npm start');
  });

  it('namespaces: create, list, delete', async () => {
    expect((await rune(['namespace', 'create', 'e2e'])).stdout).to.equal('namespace/e2e created\n');
    expect((await rune(['get', 'ns', '-o', 'name'])).stdout).to.include('namespace/e2e\n');
    const path = await file('in-ns.yml', 'service: {name: inside, namespace: e2e, command: node}\n');
    expect((await rune(['cast', path])).code).to.equal(0);
    expect((await rune(['get', 'svc', '-A'])).stdout).to.match(/^e2e +inside /m);
    const del = await rune(['delete', 'namespace', 'e2e', '--cascade']);
    expect(del.stdout).to.equal('namespace/e2e deleted\n');
  });

  it('usage errors exit 2 and name the problem', async () => {
    const unknownFlag = await rune(['get', 'svc', '--bogus']);
    expect(unknownFlag.code).to.equal(2);
    expect(unknownFlag.stderr).to.include('Unknown argument: bogus');
    const badResource = await rune(['get', 'pods']);
    expect(badResource.code).to.equal(2);
    expect(badResource.stderr).to.include('unknown resource type "pods"');
  });
});
