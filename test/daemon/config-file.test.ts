/**
 * runed's settings from flags, RUNE_* variables, a --config YAML file and defaults, in that
 * order, as `runed config print -o json` reports them; the file's bad input; secrets redacted.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { runRuned } from './runed-cli.js';

type Printed = Record<string, { value: unknown; source: string }>;

describe('runed config file, environment and config print', function () {
  this.timeout(120_000);
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'runed-config-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const print = async (args: string[], env: NodeJS.ProcessEnv = {}) => {
    const r = await runRuned(['config', 'print', '-o', 'json', ...args], { home: dir, env });
    expect(r.code, r.stderr).to.equal(0);
    return { printed: JSON.parse(r.stdout) as Printed, stdout: r.stdout };
  };

  it('takes flags over env over the file over defaults, for each setting', async () => {
    const file = join(dir, 'runed.yaml');
    await writeFile(file, ['log-level: warn', 'http-addr: 127.0.0.1:9001', 'grpc-addr: 127.0.0.1:9000', 'audit-retention-days: 7', 'data-dir: data', 'cors-origin: [https://a.example, https://b.example]', ''].join('\n'));
    const { printed } = await print(['--config', file, '--log-level', 'debug'], { RUNE_HTTP_ADDR: '127.0.0.1:9101', RUNE_LOG_LEVEL: 'error', RUNE_SECRET_VERSIONS: '9' });
    expect(printed['log-level']).to.deep.equal({ value: 'debug', source: 'flag' }); // flag > env > file
    expect(printed['http-addr']).to.deep.equal({ value: '127.0.0.1:9101', source: 'env' }); // env > file
    expect(printed['secret-versions']).to.deep.equal({ value: 9, source: 'env' }); // env > default
    expect(printed['grpc-addr']).to.deep.equal({ value: '127.0.0.1:9000', source: 'file' });
    expect(printed['audit-retention-days']).to.deep.equal({ value: 7, source: 'file' });
    expect(printed['data-dir']).to.deep.equal({ value: join(dir, 'data'), source: 'file' }); // relative to the file
    expect(printed['cors-origin']).to.deep.equal({ value: ['https://a.example', 'https://b.example'], source: 'file' });
    expect(printed['rate-limit']).to.deep.equal({ value: '6000/min', source: 'default' });
    expect(printed['instance-log-max-bytes']).to.deep.equal({ value: 10 * 1024 * 1024, source: 'default' });
  });

  it('the YAML output is itself a config file runed accepts', async () => {
    const r = await runRuned(['config', 'print', '--grpc-addr', '127.0.0.1:9555', '--insecure-listen'], { home: dir });
    expect(r.code, r.stderr).to.equal(0);
    const file = join(dir, 'printed.yaml');
    await writeFile(file, r.stdout);
    const { printed } = await print(['--config', file]);
    expect(printed['grpc-addr']).to.deep.equal({ value: '127.0.0.1:9555', source: 'file' });
    expect(printed['insecure-listen']).to.deep.equal({ value: true, source: 'file' });
  });

  it('rejects an unknown key with exit 1, naming it and the closest known key', async () => {
    const file = join(dir, 'runed.yaml');
    await writeFile(file, 'grpc-addr: 127.0.0.1:9000\ngrpcc-adr: 127.0.0.1:9001\n');
    for (const args of [['config', 'print'], ['start'], []]) {
      const r = await runRuned([...args, '--config', file, '--data-dir', join(dir, 'd')], { home: dir });
      expect(r.code, args.join(' ')).to.equal(1);
      expect(r.stderr).to.contain('unknown key "grpcc-adr"').and.contain('did you mean "grpc-addr"').and.contain(file);
      expect(r.stderr).to.not.match(/\n\s+at /); // no stack trace
    }
    await writeFile(file, 'grpcAddr: 127.0.0.1:9000\n');
    const camel = await runRuned(['config', 'print', '--config', file], { home: dir });
    expect(camel.code).to.equal(1);
    expect(camel.stderr).to.contain('unknown key "grpcAddr"').and.contain('did you mean "grpc-addr"');
  });

  it('rejects values of the wrong type naming the key, and applies the flag checks to file values', async () => {
    const cases: Array<[string, RegExp]> = [
      ['audit-retention-days: thirty\n', /key "audit-retention-days" must be a number \(got string "thirty"\)/],
      ['insecure-listen: "yes"\n', /key "insecure-listen" must be true or false/],
      ['grpc-addr: [a, b]\n', /key "grpc-addr" must be a string \(got a list\)/],
      ['log-level: loud\n', /key "log-level" must be one of trace, debug/],
      ['kek: c2VjcmV0\n', /key "kek" is not allowed in a file; set RUNE_KEK/],
      ['- grpc-addr\n', /must be a mapping/],
      ['grpc-addr: [\n', /not valid YAML/],
      ['secret-versions: 0\n', /--secret-versions must be a whole number from 1 to 100/],
      ['tls-cert: server.crt\n', /--tls-cert and --tls-key go together/],
    ];
    for (const [text, message] of cases) {
      const file = join(dir, 'runed.yaml');
      await writeFile(file, text);
      const r = await runRuned(['config', 'print', '--config', file], { home: dir });
      expect(r.code, text).to.equal(1);
      expect(r.stderr, text).to.match(message);
    }
    const env = await runRuned(['config', 'print'], { home: dir, env: { RUNE_HTTP_MAX_BODY_BYTES: 'lots' } });
    expect(env.code).to.equal(1);
    expect(env.stderr).to.contain('environment variable RUNE_HTTP_MAX_BODY_BYTES must be a number');
    const missing = await runRuned(['config', 'print', '--config', join(dir, 'nope.yaml')], { home: dir });
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.contain('cannot read config file');
  });

  it('redacts secrets: RUNE_KEK shows as <redacted>, its value nowhere in the output', async () => {
    const kek = randomBytes(32).toString('base64');
    const { printed, stdout } = await print([], { RUNE_KEK: kek });
    expect(printed.kek).to.deep.equal({ value: '<redacted>', source: 'env' });
    expect(stdout).to.not.contain(kek);
    const yaml = await runRuned(['config', 'print'], { home: dir, env: { RUNE_KEK: kek } });
    expect(yaml.stdout).to.contain('kek: "<redacted>"').and.not.contain(kek);
    const unit = await runRuned(['install-service', '--dry-run'], { home: dir, env: { RUNE_KEK: kek } });
    expect(unit.stdout).to.not.contain(kek);
    expect(unit.stderr).to.contain('RUNE_KEK is set but is not written into the service file');
  });
});
