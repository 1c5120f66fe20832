/**
 * runed install-service: the systemd unit carries the settings as flags (absolute node and
 * script paths, Restart=on-failure, KillMode=process), passes on --config, and passes
 * `systemd-analyze verify`; --user writes it under ~/.config/systemd/user.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { expect } from 'chai';
import { serviceFile, systemdQuote } from '../../server/daemon/install-service.js';
import { skipUnless } from '../support/strict.js';
import { repoRoot } from '../support/runed-process.js';
import { runRuned } from './runed-cli.js';

const hasSystemdAnalyze = spawnSync('sh', ['-c', 'command -v systemd-analyze']).status === 0;

describe('runed install-service', function () {
  this.timeout(60_000);
  let home: string;
  beforeEach(async () => {
    home = await mkdtemp(join(tmpdir(), 'runed-svc-home-'));
  });
  afterEach(() => rm(home, { recursive: true, force: true }));

  const dryRun = async (args: string[], env: NodeJS.ProcessEnv = {}) => {
    const r = await runRuned(['install-service', '--dry-run', ...args], { home, env });
    expect(r.code, r.stderr).to.equal(0);
    const [header, ...rest] = r.stdout.split('\n');
    return { path: header!.replace(/^# /, ''), unit: rest.join('\n') };
  };

  it('--dry-run prints a unit running runed serve with the flags and the environment as flags', async () => {
    const { path, unit } = await dryRun(['--data-dir', join(home, 'data'), '--grpc-addr', '127.0.0.1:9777', '--rate-limit', '10/s', '--cors-origin', 'https://a.example'], { RUNE_AUDIT_RETENTION_DAYS: '3' });
    expect(path).to.equal('/etc/systemd/system/runed.service');
    const exec = /^ExecStart=(.*)$/m.exec(unit)![1]!;
    const words = exec.split(' ');
    expect(words[0]).to.equal(process.execPath);
    expect(isAbsolute(words[0]!)).to.equal(true);
    expect(exec).to.contain(`${join(repoRoot, 'server', 'main.ts')} serve`);
    expect(exec).to.contain(`--data-dir ${join(home, 'data')}`).and.contain('--grpc-addr 127.0.0.1:9777').and.contain('--rate-limit 10/s');
    expect(exec).to.contain('--cors-origin https://a.example').and.contain('--audit-retention-days 3');
    expect(exec).to.not.contain('--http-addr'); // defaults stay defaults
    expect(unit).to.match(/^Restart=on-failure$/m).and.match(/^KillMode=process$/m).and.match(/^WantedBy=multi-user.target$/m);
  });

  it('passes --config on by absolute path instead of inlining the file', async () => {
    const file = join(home, 'runed.yaml');
    await writeFile(file, 'grpc-addr: 127.0.0.1:9778\n');
    const { unit } = await dryRun(['--config', file]);
    expect(unit).to.contain(`serve --config ${file}`).and.not.contain('--grpc-addr');
  });

  it('--user writes ~/.config/systemd/user/runed.service and prints the systemctl --user commands', async () => {
    const r = await runRuned(['install-service', '--user', '--grpc-addr', '127.0.0.1:9779'], { home });
    expect(r.code, r.stderr).to.equal(0);
    const path = join(home, '.config', 'systemd', 'user', 'runed.service');
    expect(existsSync(path)).to.equal(true);
    expect(readFileSync(path, 'utf8')).to.contain('--grpc-addr 127.0.0.1:9779').and.match(/^WantedBy=default.target$/m);
    expect(r.stdout).to.contain(`wrote ${path}`).and.contain('systemctl --user daemon-reload').and.contain('systemctl --user enable --now runed.service');
  });

  it('the unit passes systemd-analyze verify', async function () {
    skipUnless(this, hasSystemdAnalyze, 'systemd-analyze is not installed (Debian package systemd)');
    const { unit } = await dryRun(['--data-dir', join(home, 'data dir with spaces'), '--grpc-addr', '127.0.0.1:9780', '--cors-origin', 'https://x.example/100%']);
    const file = join(home, 'runed.service');
    await writeFile(file, unit);
    const r = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
    expect(r.status, r.stderr).to.equal(0);
    expect(r.stderr.split('\n').filter((l) => l.includes('runed.service'))).to.deep.equal([]); // no warnings about our unit
    // The verifier is not a rubber stamp: the same unit with a node that does not exist fails.
    await writeFile(file, unit.replace(`ExecStart=${process.execPath}`, 'ExecStart=/nonexistent/node'));
    const broken = spawnSync('systemd-analyze', ['verify', file], { encoding: 'utf8' });
    expect(broken.status, broken.stderr).to.not.equal(0);
  });

  it('a launchd plist on macOS with the same arguments', () => {
    const plist = serviceFile({ command: ['/usr/local/bin/node', '/opt/rune/dist/server/main.js'], args: ['serve', '--grpc-addr', '127.0.0.1:9781'], user: true, platform: 'darwin', home: '/Users/ada' });
    expect(plist.path).to.equal('/Users/ada/Library/LaunchAgents/dev.rune.runed.plist');
    expect(plist.content).to.contain('<string>/usr/local/bin/node</string>').and.contain('<string>127.0.0.1:9781</string>').and.contain('<key>KeepAlive</key>');
    expect(plist.enable.join('\n')).to.contain('launchctl bootstrap gui/$(id -u)');
  });

  it('quotes ExecStart words for systemd', () => {
    expect(systemdQuote('/usr/bin/node')).to.equal('/usr/bin/node');
    expect(systemdQuote('a b')).to.equal('"a b"');
    expect(systemdQuote('100%')).to.equal('100%%');
    expect(systemdQuote('$HOME')).to.equal('"$$HOME"');
    expect(systemdQuote('say "hi"')).to.equal('"say \\"hi\\""');
  });
});
