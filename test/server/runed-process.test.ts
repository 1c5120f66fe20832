import { spawn } from 'node:child_process';
import { stat, readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { expect } from 'chai';
import { parse } from 'yaml';
import { eventually } from '../support/procs.js';
import { repoRoot, startRunedProcess, type RunedProcess } from '../support/runed-process.js';

/** Runs runed to completion (for start-up failures); resolves with exit code and stderr. */
function runRuned(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'server', 'main.ts'), '--log-level', 'error', ...args], { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

describe('runed process', function () {
  this.timeout(40_000);
  let r: RunedProcess;

  before(async () => {
    r = await startRunedProcess();
  });
  after(async () => {
    await r.stop();
    await r.cleanup();
  });

  it('bootstraps once: admin token 0600 and a CLI context pointing at itself', async () => {
    const tokenStat = await stat(join(r.dataDir, 'admin.token'));
    expect(tokenStat.mode & 0o777).to.equal(0o600);
    expect((await stat(join(r.dataDir, 'signing.key'))).mode & 0o777).to.equal(0o600);
    const configPath = join(r.home, '.rune', 'config.yaml');
    expect((await stat(configPath)).mode & 0o777).to.equal(0o600);
    const config = parse(await readFile(configPath, 'utf8')) as { currentContext: string; contexts: { server: string; tokenFile: string }[] };
    expect(config.contexts[0]!.server).to.equal(r.grpcAddr);
    expect(config.contexts[0]!.tokenFile).to.equal(join(r.dataDir, 'admin.token'));
    // Readiness is seen over the port; the log line may still be in the pipe on a busy machine.
    await eventually('the bootstrap log line', () => r.stderr.join('\n').includes('admin token written'), 5000);
  });

  it('a second runed on the same data dir exits 1 naming the dir', async () => {
    const { code, stderr } = await runRuned(['--data-dir', r.dataDir, '--grpc-addr', '127.0.0.1:0'], { HOME: r.home });
    expect(code).to.equal(1);
    expect(stderr).to.include(r.dataDir);
  });

  it('a port already in use exits 2 naming the address', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const dataDir = join(r.home, 'other-data');
      const { code, stderr } = await runRuned(['--data-dir', dataDir, '--grpc-addr', `127.0.0.1:${port}`], { HOME: r.home });
      expect(code).to.equal(2);
      expect(stderr).to.include(`127.0.0.1:${port}`);
    } finally {
      blocker.close();
    }
  });

  it('stops gracefully on SIGTERM with exit code 0, and restarts without bootstrapping again', async () => {
    const one = await startRunedProcess();
    expect(await one.stop()).to.equal(0);
    const two = await startRunedProcess({ dataDir: one.dataDir, home: one.home });
    try {
      expect(two.token).to.equal(one.token);
      expect(two.stderr.join('\n')).not.to.include('admin token written');
    } finally {
      expect(await two.stop()).to.equal(0);
      await one.cleanup();
    }
  });
});
