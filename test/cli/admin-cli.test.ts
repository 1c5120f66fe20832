/**
 * `rune admin ...` and `rune whoami` as a real CLI process against a real runed process:
 * argument parsing, what each command prints, exit codes, and the policy file checks (with
 * file:line:column) before anything is sent.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { parsePolicyText, PolicyFileError } from '../../client/cli/policy-file.js';
import { parseTtl } from '../../client/cli/commands/admin-token.js';
import { CliProcesses, cliEnv } from '../support/cli-process.js';
import { startRunedProcess, type RunedProcess } from '../support/runed-process.js';

describe('rune admin CLI end to end (real runed)', function () {
  this.timeout(60_000);
  let runed: RunedProcess;
  let work: string;
  const cli = new CliProcesses();

  before(async () => {
    runed = await startRunedProcess();
    work = await mkdtemp(join(tmpdir(), 'rune-admin-cli-'));
  });
  after(async () => {
    cli.killAll();
    await runed?.stop();
    await runed?.cleanup();
    await rm(work, { recursive: true, force: true });
  });

  const start = (args: string[], extraEnv: NodeJS.ProcessEnv = {}) => cli.start(args, cliEnv(runed.home, extraEnv));
  const rune = (args: string[], options: { env?: NodeJS.ProcessEnv; input?: string } = {}) => cli.run(args, cliEnv(runed.home, options.env), options.input);

  async function file(name: string, text: string): Promise<string> {
    const path = join(work, name);
    await writeFile(path, text);
    return path;
  }

  let aliceToken = '';

  it('creates and lists subjects', async () => {
    const created = await rune(['admin', 'subject', 'create', 'alice', '--policy', 'readonly']);
    expect(created.stderr).to.equal('');
    expect(created.code).to.equal(0);
    expect(created.stdout).to.equal('subject/alice created with readonly\n');
    const list = await rune(['admin', 'subject', 'list']);
    expect(list.code).to.equal(0);
    const lines = list.stdout.trim().split('\n');
    expect(lines[0]).to.match(/^NAME\s+TYPE\s+ADMIN\s+POLICIES\s+AGE$/);
    expect(lines.find((l) => l.startsWith('alice'))).to.match(/^alice\s+user\s+no\s+readonly\s+\d+s$/);
    expect(lines.find((l) => l.startsWith('root'))).to.match(/^root\s+user\s+yes\s+admin\s+/);
    const names = await rune(['admin', 'subject', 'list', '-o', 'name']);
    expect(names.stdout.split('\n')).to.include.members(['subject/alice', 'subject/root']);
  });

  it('checks a policy file before sending it, naming file:line:column and the entry', async () => {
    const bad = await file('bad.yml', ['policy:', '  name: dev-deployer', '  rules:', '    - resources: [services]', '      verbs: [get]', '      namespaces: [dev]', '    - resources: [services]', '      verbs: [get, destroy]', '      namespaces: [dev]', ''].join('\n'));
    const result = await rune(['admin', 'policy', 'create', '-f', bad]);
    expect(result.code).to.equal(1);
    expect(result.stdout).to.equal('');
    expect(result.stderr).to.include(`${bad}:8:20: rules[1].verbs[1]: unknown verb "destroy"; known: get, list, watch, create, update, delete, exec, logs, reveal, admin, or * for all`);
    const missing = await rune(['admin', 'policy', 'create', '-f', join(work, 'nope.yml')]);
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.include('no such file');
  });

  it('creates (then reports unchanged), gets, lists, attaches and detaches a policy; reads it from stdin too', async () => {
    const text = ['policy:', '  name: dev-deployer', '  description: deploys to dev', '  rules:', '    - resources: [services, instances]', '      verbs: [get, list, watch, create, update, logs]', '      namespaces: [dev]', ''].join('\n');
    const path = await file('dev.yml', text);
    expect((await rune(['admin', 'policy', 'create', '-f', path])).stdout).to.equal('policy/dev-deployer created\n');
    expect((await rune(['admin', 'policy', 'create', '-f', '-'], { input: text })).stdout).to.equal('policy/dev-deployer unchanged\n');
    const get = await rune(['admin', 'policy', 'get', 'dev-deployer']);
    expect(get.stdout).to.include('Description:  deploys to dev').and.include('Built-in:     no');
    expect(get.stdout).to.match(/VERBS\s+RESOURCES\s+NAMESPACES\n\s+get,list,watch,create,update,logs\s+services,instances\s+dev/);
    const list = JSON.parse((await rune(['admin', 'policy', 'list', '-o', 'json'])).stdout) as { items: { metadata: { name: string }; builtin?: boolean }[] };
    expect(list.items.map((p) => p.metadata.name)).to.include.members(['admin', 'readonly', 'readwrite', 'dev-deployer']);
    const attach = await rune(['admin', 'policy', 'attach', 'dev-deployer', '--subject', 'alice']);
    expect(attach.stdout).to.equal('policy/dev-deployer attached to subject/alice (policies: readonly, dev-deployer)\n');
    const detach = await rune(['admin', 'policy', 'detach', 'readonly', '-s', 'alice']);
    expect(detach.stdout).to.equal('policy/readonly detached from subject/alice (policies: dev-deployer)\n');
    const builtin = await rune(['admin', 'policy', 'delete', 'readonly']);
    expect(builtin.code).to.equal(1);
    expect(builtin.stderr).to.include('built in');
  });

  it('creates a token printed once on stdout alone, lists tokens without values', async () => {
    const created = await rune(['admin', 'token', 'create', '--subject', 'alice', '--ttl', '1h', '--description', 'laptop']);
    expect(created.code).to.equal(0);
    aliceToken = created.stdout.trim();
    expect(created.stdout).to.match(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    expect(created.stderr).to.match(/token [0-9a-f]{20} for subject alice \(expires \d{4}-.*\); it is shown only now/);
    const list = await rune(['admin', 'token', 'list', '--subject', 'alice']);
    expect(list.stdout).to.match(/^ID\s+SUBJECT\s+STATUS\s+EXPIRES\s+AGE\s+DESCRIPTION\n[0-9a-f]{20}\s+alice\s+active\s+\d{4}-\S+\s+\d+s\s+laptop\n$/);
    expect(list.stdout).to.not.include(aliceToken.split('.')[2]!);
    const json = await rune(['admin', 'token', 'list', '-o', 'json']);
    expect(json.stdout).to.not.include(aliceToken.split('.')[2]!);
  });

  it('whoami shows the effective policies with their rules', async () => {
    const who = await rune(['whoami', '--token', aliceToken]);
    expect(who.code).to.equal(0);
    expect(who.stdout).to.match(/^Subject:\s+alice$/m);
    expect(who.stdout).to.match(/^Policies:\s+dev-deployer$/m);
    expect(who.stdout).to.match(/^Rules:\s+dev-deployer: get,list,watch,create,update,logs on services,instances in dev$/m);
    const root = await rune(['whoami']);
    expect(root.stdout).to.match(/^Rules:\s+admin: \* on \* in \*$/m);
  });

  it('refuses the admin commands to a non-admin, naming the subject', async () => {
    const denied = await rune(['admin', 'subject', 'list', '--token', aliceToken]);
    expect(denied.code).to.equal(1);
    expect(denied.stderr).to.include('admins only').and.include('alice');
  });

  it('revokes a token: the next call with it fails', async () => {
    const id = /^([0-9a-f]{20})\s/m.exec((await rune(['admin', 'token', 'list', '-s', 'alice'])).stdout.split('\n')[1]!)![1]!;
    const revoked = await rune(['admin', 'token', 'revoke', id]);
    expect(revoked.stdout).to.equal(`token/${id} revoked\n`);
    const who = await rune(['whoami', '--token', aliceToken]);
    expect(who.code).to.equal(1);
    expect(who.stderr).to.include('revoked');
    expect((await rune(['admin', 'token', 'list', '-s', 'alice'])).stdout).to.match(/alice\s+revoked/);
  });

  it('prints the audit log as a table, as JSON lines, and follows it with -w until Ctrl-C (exit 0)', async () => {
    const table = await rune(['admin', 'audit', '--since', '1h']);
    expect(table.code).to.equal(0);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).to.match(/^TIME\s+SUBJECT\s+VERB\s+RESOURCE\s+NAMESPACE\s+NAME\s+OUTCOME$/);
    expect(lines.some((l) => /root\s+create\s+subjects\s+<none>\s+alice\s+OK/.test(l))).to.equal(true);
    expect(lines.some((l) => /root\s+delete\s+tokens\s+<none>\s+[0-9a-f]{20}\s+OK/.test(l))).to.equal(true);
    const json = await rune(['admin', 'audit', '-o', 'json']);
    const entries = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as { subject: string; verb: string });
    expect(entries.length).to.be.greaterThan(3);
    expect(json.stdout).to.not.include(aliceToken.split('.')[2]!);
    expect((await rune(['admin', 'audit', '--since', '2999-01-01T00:00:00Z'])).stdout).to.match(/^TIME\s+SUBJECT/);

    const follow = start(['admin', 'audit', '-w', '--since', '1s', '-o', 'json']);
    await new Promise((r) => setTimeout(r, 1500));
    expect((await rune(['admin', 'subject', 'create', 'bob'])).code).to.equal(0);
    const deadline = Date.now() + 10_000;
    while (!follow.stdout().includes('"bob"') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    follow.child.kill('SIGINT');
    const done = await follow.result;
    expect(done.code).to.equal(0);
    expect(done.stdout).to.include('"name": "bob"'.replace(': ', ':'));
  });

  it('deletes a subject, reporting the tokens revoked', async () => {
    expect((await rune(['admin', 'token', 'create', '-s', 'bob', '--ttl', '0'])).code).to.equal(0);
    const deleted = await rune(['admin', 'subject', 'delete', 'bob']);
    expect(deleted.stdout).to.equal('subject/bob deleted (1 token revoked)\n');
  });

  it('answers usage errors with exit code 2', async () => {
    for (const args of [['admin'], ['admin', 'token', 'create'], ['admin', 'token', 'create', '-s', 'x', '--ttl', '5x'], ['admin', 'subject', 'create', 'Not Valid'], ['admin', 'policy', 'create'], ['admin', 'policy', 'attach', 'readonly'], ['admin', 'audit', '--since', 'yesterday']]) {
      const result = await rune(args);
      expect(result.code, `${args.join(' ')}: ${result.stderr}`).to.equal(2);
    }
  });
});

describe('policy file and --ttl parsing', () => {
  it('points at the line and column of each problem, all at once', () => {
    const text = ['policy:', '  name: Bad_Name', '  rules:', '    - resources: [servicez]', '      verbs: [get]', '      namespaces: ["*"]', '  extra: 1', ''].join('\n');
    try {
      parsePolicyText(text, 'p.yml');
      expect.fail('accepted');
    } catch (err) {
      expect(err).to.be.instanceOf(PolicyFileError);
      const problems = (err as PolicyFileError).problems;
      expect(problems.find((p) => p.includes('name:'))).to.match(/^p\.yml:2:9: name: /);
      expect(problems.find((p) => p.includes('servicez'))).to.match(/^p\.yml:4:19: rules\[0\]\.resources\[0\]: unknown resource "servicez" \(did you mean "services"\?\)/);
      expect(problems.find((p) => p.includes('extra'))).to.match(/^p\.yml:7:3: extra: unknown field "extra"/);
    }
    expect(() => parsePolicyText('policy: [', 'x.yml')).to.throw(PolicyFileError, 'invalid YAML');
    expect(parsePolicyText('policy: {name: ok, rules: [{resources: ["*"], verbs: [get], namespaces: ["*"]}]}', 'ok.yml').metadata!.name).to.equal('ok');
  });

  it('reads --ttl as a duration, 0 as never', async () => {
    expect(await parseTtl('720h')).to.equal(720 * 3600);
    expect(await parseTtl('30d')).to.equal(30 * 86400);
    expect(await parseTtl('0')).to.equal(0);
    expect(await parseTtl('90')).to.equal(90);
    for (const bad of ['5x', '-1h', '10ms']) {
      let failed = false;
      await parseTtl(bad).catch(() => (failed = true));
      expect(failed, bad).to.equal(true);
    }
  });
});
