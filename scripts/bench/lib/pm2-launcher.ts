/**
 * pm2, the reference process manager, from the registry package in node_modules: a daemon with a
 * fresh PM2_HOME under the caller's dir, apps started from an ecosystem file with the pm2 CLI, as
 * a user would. The harness observes it the way runed is observed, by push: it subscribes to the
 * daemon's event bus (pub.sock, what `pm2 logs`/`pm2 monit` use) and takes each app's 'online'
 * event, then checks the daemon's list (`getMonitorData`, what `pm2 jlist` prints) and /proc.
 * Polling `pm2 jlist` instead would cost a Node start (~0.3 s) per poll and load the daemon.
 *
 * `stop()` SIGKILLs the daemon only (its apps are in their own process groups, detached); the
 * harness's tag sweep kills the apps.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { repoRoot } from './build.js';
import { childEnv, killGroup, TAG_VARIABLE } from './cleanup.js';
import { sleep, waitFor, withTimeout } from './wait.js';

const require = createRequire(import.meta.url);
const pm2Cli = join(repoRoot, 'node_modules', 'pm2', 'bin', 'pm2');

/** The pieces of pm2's bundled axon we use (untyped CommonJS). */
interface AxonSocket {
  connect(path: string): AxonSocket;
  close(): void;
  on(event: string, listener: (...args: unknown[]) => void): void;
  once(event: string, listener: (...args: unknown[]) => void): void;
}
interface Axon {
  socket(type: 'req' | 'sub-emitter'): AxonSocket;
}
interface AxonRpcClient {
  call(method: string, arg: unknown, callback: (err: Error | null, result: unknown) => void): void;
}
const axon = require('pm2/modules/pm2-axon') as Axon;
const AxonRpc = require('pm2/modules/pm2-axon-rpc') as { Client: new (socket: AxonSocket) => AxonRpcClient };

export function pm2Version(): string {
  return (JSON.parse(readFileSync(join(repoRoot, 'node_modules', 'pm2', 'package.json'), 'utf8')) as { version: string }).version;
}

/** One app process as the daemon lists it. */
export interface Pm2Process {
  pmId: number;
  name: string;
  pid: number;
  status: string;
  restartTime: number;
}

/** An 'online' event from the bus: a process of app `name` was (re)started. */
export interface Pm2Online {
  pmId: number;
  name: string;
  restartTime: number;
  /** performance.now() when the harness received it. */
  at: number;
}

export interface Pm2UnderTest {
  home: string;
  daemonPid: number;
  /** `pm2 ping` on the fresh PM2_HOME: CLI start + daemon start, until it answered, ms. */
  daemonStartMs: number;
  /**
   * Writes `ecosystem.config.cjs` with one app of `instances` copies of `command args`
   * (fork mode, autorestart) and runs `pm2 start` on it; resolves when the CLI exits.
   */
  startEcosystem(app: { name: string; command: string; args: string[]; instances: number }): Promise<{ cliMs: number }>;
  /** Calls `listener` for every 'online' event from now on (connects the bus first). */
  onOnline(listener: (event: Pm2Online) => void): Promise<void>;
  list(): Promise<Pm2Process[]>;
  /** The PID the daemon wrote for process `pmId` of app `name`, if any. */
  pidFileOf(name: string, pmId: number): number | undefined;
  stop(): Promise<void>;
}

function runCli(args: string[], env: NodeJS.ProcessEnv, cwd: string, logPath: string, timeoutMs: number): Promise<number> {
  const fd = openSync(logPath, 'a');
  const child = spawn(process.execPath, [pm2Cli, ...args], { cwd, env, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const exited = new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => resolve(code ?? -1));
  });
  return withTimeout(`pm2 ${args.join(' ')}`, exited, timeoutMs).catch((err: Error) => {
    child.kill('SIGKILL');
    throw err;
  });
}

export async function launchPm2(options: { tag: string; dir: string; timeoutMs?: number }): Promise<Pm2UnderTest> {
  const home = join(options.dir, 'pm2-home');
  const cliLog = join(options.dir, 'pm2-cli.log');
  mkdirSync(home, { recursive: true });
  const env = childEnv(options.tag, { PM2_HOME: home });
  const timeoutMs = options.timeoutMs ?? 60_000;

  const started = performance.now();
  const code = await runCli(['ping'], env, options.dir, cliLog, timeoutMs);
  const daemonStartMs = performance.now() - started;
  const daemonPid = Number(readFileSync(join(home, 'pm2.pid'), 'utf8').trim());
  if (code !== 0) {
    killGroup(daemonPid);
    throw new Error(`pm2 ping exited with ${code}; see ${cliLog}`);
  }

  const sockets: AxonSocket[] = [];
  let rpc: AxonRpcClient | undefined;
  const connectRpc = async (): Promise<AxonRpcClient> => {
    if (rpc) return rpc;
    const socket = axon.socket('req');
    sockets.push(socket);
    const client = new AxonRpc.Client(socket);
    await withTimeout('the pm2 RPC socket', new Promise<void>((resolve, reject) => {
      socket.once('connect', () => resolve());
      socket.once('error', (err) => reject(err as Error));
      socket.connect(join(home, 'rpc.sock'));
    }), 10_000);
    rpc = client;
    return client;
  };

  return {
    home,
    daemonPid,
    daemonStartMs,
    startEcosystem: async (app) => {
      const file = join(options.dir, 'ecosystem.config.cjs');
      const config = {
        apps: [{
          name: app.name,
          script: app.command,
          args: app.args,
          interpreter: 'none',
          exec_mode: 'fork',
          instances: app.instances,
          autorestart: true,
          vizion: false,
          env: { [TAG_VARIABLE]: options.tag },
        }],
      };
      writeFileSync(file, `module.exports = ${JSON.stringify(config, null, 2)};\n`);
      const t0 = performance.now();
      const exit = await runCli(['start', file], env, options.dir, cliLog, timeoutMs);
      if (exit !== 0) throw new Error(`pm2 start exited with ${exit}; see ${cliLog}`);
      return { cliMs: performance.now() - t0 };
    },
    onOnline: async (listener) => {
      const socket = axon.socket('sub-emitter');
      sockets.push(socket);
      socket.on('process:event', (...args: unknown[]) => {
        const data = args[0] as { event?: string; process?: { pm_id?: number; name?: string; restart_time?: number } };
        if (data?.event !== 'online' || data.process?.pm_id === undefined) return;
        listener({ pmId: data.process.pm_id, name: data.process.name ?? '', restartTime: data.process.restart_time ?? 0, at: performance.now() });
      });
      // A sub-emitter's events are those of its inner socket (`sock`), as in pm2's launchBus.
      const connected = new Promise<void>((resolve) => (socket as unknown as { sock: AxonSocket }).sock.once('connect', () => resolve()));
      socket.connect(join(home, 'pub.sock'));
      await withTimeout('the pm2 event bus', connected, 10_000);
    },
    list: async () => {
      const client = await connectRpc();
      const raw = await withTimeout('pm2 getMonitorData', new Promise<unknown>((resolve, reject) => {
        client.call('getMonitorData', {}, (err, result) => (err ? reject(err) : resolve(result)));
      }), 30_000);
      return (raw as { pm_id: number; name: string; pid: number; pm2_env: { status: string; restart_time: number } }[]).map((p) => ({
        pmId: p.pm_id,
        name: p.name,
        pid: p.pid,
        status: p.pm2_env.status,
        restartTime: p.pm2_env.restart_time,
      }));
    },
    pidFileOf: (name, pmId) => {
      try {
        const pid = Number(readFileSync(join(home, 'pids', `${name}-${pmId}.pid`), 'utf8').trim());
        return pid > 0 ? pid : undefined;
      } catch {
        return undefined;
      }
    },
    stop: async () => {
      for (const socket of sockets) {
        try {
          socket.close();
        } catch {
          // already closed
        }
      }
      killGroup(daemonPid);
      await waitFor('the pm2 daemon to exit', () => {
        try {
          process.kill(daemonPid, 0);
          return false;
        } catch {
          return true;
        }
      }, { timeoutMs: 5_000 }).catch(() => sleep(0));
    },
  };
}
