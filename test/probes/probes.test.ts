import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { connect, createServer as createTcpServer, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { Probe } from '../../shared/gen/rune/v1/service.js';
import { runProbe, type ProbeTarget } from '../../server/orchestrator/probes.js';

/** A probe with only what a test cares about; timeout 1s unless told. */
function aProbe(fields: Partial<Probe>): Probe {
  return Probe.fromPartial({ timeoutSeconds: 1, ...fields });
}

function listen(server: HttpServer | TcpServer): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

function close(server: HttpServer | TcpServer): Promise<void> {
  if ('closeAllConnections' in server) server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** A port that nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createTcpServer();
  const port = await listen(server);
  await close(server);
  return port;
}

/** True while `pid` runs; a zombie (killed, not yet reaped by an init that may never reap) is not running. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

describe('probes (real servers and processes on 127.0.0.1)', function () {
  let dir: string;
  let target: ProbeTarget;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rune-probes-'));
    target = { host: '127.0.0.1', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', FOO: 'bar' }, cwd: dir };
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  describe('http', () => {
    let server: HttpServer;
    let port: number;
    const seen: string[] = [];

    before(async () => {
      server = createHttpServer((req, res) => {
        seen.push(req.url ?? '');
        if (req.url === '/healthz') res.end('fine');
        else if (req.url === '/redirect') res.writeHead(302, { location: '/healthz' }).end();
        else if (req.url === '/big') res.end(Buffer.alloc(1024 * 1024, 'x'));
        else if (req.url === '/hang') {
          // Never answers.
        } else res.writeHead(500).end('broken');
      });
      port = await listen(server);
    });
    after(() => close(server));

    it('passes on 200 and requests the probe path', async () => {
      expect(await runProbe(aProbe({ type: 'http', port, path: '/healthz' }), target)).to.deep.equal({ ok: true, message: 'ok' });
      expect(seen).to.include('/healthz');
    });

    it('passes on a 3xx without following it, and on a large body', async () => {
      expect((await runProbe(aProbe({ type: 'http', port, path: '/redirect' }), target)).ok).to.equal(true);
      expect((await runProbe(aProbe({ type: 'http', port, path: '/big' }), target)).ok).to.equal(true);
    });

    it('fails on 500, naming the status and the URL', async () => {
      const result = await runProbe(aProbe({ type: 'http', port, path: '/broken' }), target);
      expect(result).to.deep.equal({ ok: false, message: `HTTP 500 from http://127.0.0.1:${port}/broken` });
    });

    it('fails with "timed out after 1s" when the server never answers', async () => {
      const started = Date.now();
      const result = await runProbe(aProbe({ type: 'http', port, path: '/hang' }), target);
      expect(result).to.deep.equal({ ok: false, message: 'timed out after 1s' });
      expect(Date.now() - started).to.be.within(900, 2500);
    });

    it('fails with "connection refused" when nothing listens', async () => {
      const result = await runProbe(aProbe({ type: 'http', port: await closedPort(), path: '/' }), target);
      expect(result).to.deep.equal({ ok: false, message: 'connection refused' });
    });
  });

  describe('tcp', () => {
    it('passes when the port accepts', async () => {
      const server = createTcpServer((socket) => socket.destroy());
      const port = await listen(server);
      try {
        expect(await runProbe(aProbe({ type: 'tcp', port }), target)).to.deep.equal({ ok: true, message: 'ok' });
      } finally {
        await close(server);
      }
    });

    it('fails with "connection refused" on a closed port', async () => {
      expect(await runProbe(aProbe({ type: 'tcp', port: await closedPort() }), target)).to.deep.equal({ ok: false, message: 'connection refused' });
    });

    it('fails with "timed out after 1s" when the listener never takes the connection', async () => {
      // A listener with a full accept queue: a process that listens with backlog 1 and then
      // blocks its event loop, so the kernel queues one connection and drops later SYNs.
      const child: ChildProcess = spawn(
        process.execPath,
        [
          '-e',
          `const s = require('net').createServer();
           s.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
             process.stdout.write(s.address().port + '\\n', () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20000));
           });`,
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      try {
        const port = await new Promise<number>((resolve, reject) => {
          child.stdout!.once('data', (d: Buffer) => resolve(Number(String(d).trim())));
          child.once('exit', () => reject(new Error('listener exited')));
        });
        // Fill the accept queue: connections the kernel queues and nobody accepts, until one
        // is no longer answered.
        const filled: Socket[] = [];
        try {
          for (let i = 0; i < 8; i++) {
            const socket = connect({ host: '127.0.0.1', port });
            filled.push(socket);
            const connected = await new Promise<boolean>((resolve) => {
              socket.once('connect', () => resolve(true));
              socket.once('error', () => resolve(false));
              setTimeout(() => resolve(false), 300);
            });
            if (!connected) break;
          }
          expect(filled.length, 'connections until the queue is full').to.be.below(8);
          const started = Date.now();
          const result = await runProbe(aProbe({ type: 'tcp', port }), target);
          expect(result).to.deep.equal({ ok: false, message: 'timed out after 1s' });
          expect(Date.now() - started).to.be.within(900, 2500);
        } finally {
          for (const socket of filled) socket.destroy();
        }
      } finally {
        child.kill('SIGKILL');
      }
    });
  });

  describe('exec', () => {
    it('passes on exit 0, running in the target cwd with the target env', async () => {
      const probe = aProbe({ type: 'exec', command: ['sh', '-c', 'test "$FOO" = bar && test "$(pwd)" = "$1"', 'sh', dir] });
      expect(await runProbe(probe, target)).to.deep.equal({ ok: true, message: 'ok' });
    });

    it('fails with the exit code and what the command said', async () => {
      const result = await runProbe(aProbe({ type: 'exec', command: ['sh', '-c', 'echo not ready >&2; exit 2'] }), target);
      expect(result).to.deep.equal({ ok: false, message: 'exit code 2: not ready' });
    });

    it('fails when the command does not exist', async () => {
      const result = await runProbe(aProbe({ type: 'exec', command: ['no-such-command-rune'] }), target);
      expect(result.ok).to.equal(false);
      expect(result.message).to.match(/^cannot run "no-such-command-rune": not found/);
    });

    it('times out a command that never exits and kills its whole process group', async () => {
      const pidFile = join(dir, 'sleeper.pid');
      const probe = aProbe({ type: 'exec', command: ['sh', '-c', `sleep 30 & echo $! > ${pidFile}; wait`] });
      const started = Date.now();
      const result = await runProbe(probe, target);
      expect(result).to.deep.equal({ ok: false, message: 'timed out after 1s' });
      expect(Date.now() - started).to.be.within(900, 2500);
      const sleeper = Number((await readFile(pidFile, 'utf8')).trim());
      expect(sleeper).to.be.greaterThan(0);
      // SIGKILL is delivered at once, but give the kernel a moment to reap.
      for (let i = 0; i < 50 && alive(sleeper); i++) await new Promise((r) => setTimeout(r, 20));
      expect(alive(sleeper), 'background child of the timed-out probe').to.equal(false);
    });

    it('honours timeoutSeconds', async () => {
      const result = await runProbe(aProbe({ type: 'exec', command: ['sleep', '30'], timeoutSeconds: 2 }), target);
      expect(result.message).to.equal('timed out after 2s');
    });

    it('ends as canceled when the signal aborts', async () => {
      const abort = new AbortController();
      setTimeout(() => abort.abort(), 100);
      const started = Date.now();
      const result = await runProbe(aProbe({ type: 'exec', command: ['sleep', '30'] }), target, { signal: abort.signal });
      expect(result).to.deep.equal({ ok: false, message: 'probe canceled' });
      expect(Date.now() - started).to.be.below(900);
    });
  });

  it('fails an http or tcp probe without a port', async () => {
    expect(await runProbe(aProbe({ type: 'tcp', port: 0 }), target)).to.deep.equal({ ok: false, message: 'tcp probe has no valid port (0)' });
  });

  it('fails an unknown probe type with a hint', async () => {
    const result = await runProbe(aProbe({ type: 'grpc', port: 1 }), target);
    expect(result).to.deep.equal({ ok: false, message: 'unknown probe type "grpc"; use http, tcp or exec' });
  });
});
