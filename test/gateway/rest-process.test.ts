/**
 * runed as a process: its HTTP listener (`--http-addr`), the gateway's flags, and start-up
 * failures of the HTTP side (exit 2 for a taken address, 1 for plaintext off loopback).
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { repoRoot, startRunedProcess, type RunedProcess } from '../support/runed-process.js';
import { Rest } from './rest-client.js';

/** Runs runed to completion (for start-up failures); resolves with exit code and stderr. */
function runRuned(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'server', 'main.ts'), '--log-level', 'error', '--grpc-addr', '127.0.0.1:0', ...args], {
      cwd: repoRoot,
      env: { ...process.env, NODE_EXTRA_CA_CERTS: '', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

describe('runed process: the REST listener', function () {
  this.timeout(40_000);
  let r: RunedProcess;
  let home: string;

  before(async () => {
    r = await startRunedProcess({ extraArgs: ['--cors-origin', 'https://a.example', '--cors-origin', 'https://b.example,https://c.example', '--http-max-body-bytes', '2048'] });
    home = await mkdtemp(join(tmpdir(), 'runed-http-home-'));
  });
  after(async () => {
    await r.stop();
    await r.cleanup();
    await rm(home, { recursive: true, force: true });
  });

  it('serves HTTP on --http-addr, logged with the real port, with the flags applied', async () => {
    expect(r.httpAddr).to.match(/^127\.0\.0\.1:\d+$/);
    const rest = new Rest(`http://${r.httpAddr}`, r.token);
    expect((await rest.get('/healthz')).status).to.equal(200);
    expect((await rest.get('/v1/namespaces')).body.namespaces.map((n: any) => n.metadata.name)).to.include('default');
    for (const origin of ['https://b.example', 'https://c.example']) {
      const preflight = await rest.call('OPTIONS', '/v1/namespaces', { headers: { origin, 'access-control-request-method': 'GET' } });
      expect(preflight.status, origin).to.equal(204);
      expect(preflight.headers.get('access-control-allow-origin')).to.equal(origin);
    }
    const big = await rest.post('/v1/namespaces', { metadata: { name: 'x', labels: { k: 'v'.repeat(3000) } } });
    expect(big.status).to.equal(413);
    expect(big.body.message).to.include('2048 bytes');
  });

  it('exits 2 naming the address when --http-addr is taken', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      const { code, stderr } = await runRuned(['--data-dir', join(home, 'taken'), '--http-addr', `127.0.0.1:${port}`], { HOME: home });
      expect(code).to.equal(2);
      expect(stderr).to.include(`127.0.0.1:${port}`).and.include('--http-addr');
    } finally {
      blocker.close();
    }
  });

  it('exits 1 for plaintext HTTP off loopback without --insecure-listen', async () => {
    const { code, stderr } = await runRuned(['--data-dir', join(home, 'wide'), '--http-addr', '0.0.0.0:0'], { HOME: home });
    expect(code).to.equal(1);
    expect(stderr).to.include('--http-addr');
  });
});
