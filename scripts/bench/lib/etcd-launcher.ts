/**
 * etcd, the reference store: Debian's `etcd` (3.4, package etcd-server) as a single-member
 * cluster on 127.0.0.1, on two free ports, with a fresh data dir under the caller's dir and
 * auto-compaction on (periodic, 1 min) so it runs the way a production etcd does. The harness
 * checks it serves with the registry client `etcd3` (a maintenance Status call), which the
 * scenarios also use to seed keys.
 *
 * `stop()` SIGKILLs etcd's process group and waits for it to exit; the data dir goes with the
 * scenario's temp dir.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { childEnv, killGroup } from './cleanup.js';
import { sleep, waitFor } from './wait.js';

export interface EtcdUnderTest {
  pid: number;
  /** host:port of the client URL (gRPC, plaintext). */
  clientAddr: string;
  dataDir: string;
  logPath: string;
  /** From spawn to the first answered Status call, ms. */
  startMs: number;
  /** A client of the registry package etcd3 on clientAddr (closed by stop()). */
  client: Etcd3;
  stop(): Promise<void>;
}

/** Where `etcd` is, or undefined when it is not installed. */
export function etcdBinary(): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v etcd'], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() || undefined : undefined;
}

/** `etcd --version`'s first line, or 'not installed'. */
export function etcdVersion(): string {
  const bin = etcdBinary();
  if (!bin) return 'not installed';
  const out = spawnSync(bin, ['--version'], { encoding: 'utf8' });
  return (out.stdout ?? '').split('\n')[0]?.replace(/^etcd Version:\s*/, '') || 'unknown';
}

/** A TCP port free on 127.0.0.1 right now (bound to 0, read back, released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no free port'))));
    });
  });
}

function tail(path: string, lines = 20): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export async function launchEtcd(options: { tag: string; dir: string; timeoutMs?: number }): Promise<EtcdUnderTest> {
  const bin = etcdBinary();
  if (!bin) throw new Error('etcd is not installed: apt-get install -y etcd-server etcd-client (.ci/run does it)');
  const dataDir = join(options.dir, 'etcd-data');
  const logPath = join(options.dir, 'etcd.log');
  mkdirSync(options.dir, { recursive: true });
  // Two ports picked free and released; another process could take one in between, so a start
  // that fails is retried with new ports (bounded).
  for (let attempt = 0; ; attempt++) {
    const [clientPort, peerPort] = [await freePort(), await freePort()];
    const client = `http://127.0.0.1:${clientPort}`;
    const peer = `http://127.0.0.1:${peerPort}`;
    const args = [
      '--name', 'bench',
      '--data-dir', dataDir,
      '--listen-client-urls', client, '--advertise-client-urls', client,
      '--listen-peer-urls', peer, '--initial-advertise-peer-urls', peer,
      '--initial-cluster', `bench=${peer}`, '--initial-cluster-state', 'new',
      '--auto-compaction-mode', 'periodic', '--auto-compaction-retention', '1m',
      '--log-level', 'warn', '--logger', 'zap',
    ];
    const fd = openSync(logPath, 'a');
    const started = performance.now();
    const child = spawn(bin, args, { env: childEnv(options.tag), stdio: ['ignore', fd, fd], detached: true });
    closeSync(fd);
    const pid = child.pid;
    if (pid === undefined) throw new Error(`cannot start etcd: ${await new Promise((resolve) => child.once('error', resolve))}`);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const etcd = new Etcd3({ hosts: `127.0.0.1:${clientPort}`, dialTimeout: 1000 });
    try {
      await waitFor('etcd to answer Status', async () => {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`etcd exited (${child.exitCode ?? child.signalCode}); its log:\n${tail(logPath)}`);
        try {
          await etcd.maintenance.status();
          return true;
        } catch {
          return false;
        }
      }, { timeoutMs: options.timeoutMs ?? 15_000, everyMs: 25 });
    } catch (err) {
      etcd.close();
      killGroup(pid);
      await Promise.race([exited, sleep(5_000)]);
      if (attempt < 2 && child.exitCode !== null) continue;
      throw err;
    }
    const startMs = performance.now() - started;
    return {
      pid,
      clientAddr: `127.0.0.1:${clientPort}`,
      dataDir,
      logPath,
      startMs,
      client: etcd,
      stop: async () => {
        etcd.close();
        killGroup(pid);
        await Promise.race([exited, sleep(5_000)]);
      },
    };
  }
}
