/**
 * Runs a real runed as a child process (node + tsx on the sources) on an ephemeral loopback
 * port, with its own temp data dir and HOME. Used by the crash, CLI and daemon tests.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { killProcessesUnder } from './procs.js';

export const repoRoot = join(import.meta.dirname, '..', '..');

export interface RunedProcess {
  child: ChildProcess;
  grpcAddr: string;
  /** The REST gateway's address (host:port). */
  httpAddr: string;
  dataDir: string;
  /** HOME of the runed (and of CLI runs against it): holds .rune/config.yaml after bootstrap. */
  home: string;
  /** The bootstrap admin token. */
  token: string;
  /** Lines runed wrote to stderr so far. */
  stderr: string[];
  /** SIGTERM, wait for exit; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL, wait for exit. */
  kill(): Promise<void>;
  /** Removes the temp dirs (after stop/kill). */
  cleanup(): Promise<void>;
}

export interface StartOptions {
  /** Reuse a data dir (restart after a crash); a fresh temp dir otherwise. */
  dataDir?: string;
  home?: string;
  grpcAddr?: string;
  /** Default 127.0.0.1:0. */
  httpAddr?: string;
  extraArgs?: string[];
  env?: NodeJS.ProcessEnv;
  /** How long to wait for "serving" (default 20 s). */
  timeoutMs?: number;
}

/** Spawns runed; resolves when it serves, rejects with its stderr if it exits first. */
export async function startRunedProcess(options: StartOptions = {}): Promise<RunedProcess> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'runed-data-')));
  const home = options.home ?? (await mkdtemp(join(tmpdir(), 'runed-home-')));
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(repoRoot, 'server', 'main.ts'), '--data-dir', dataDir, '--grpc-addr', options.grpcAddr ?? '127.0.0.1:0', '--http-addr', options.httpAddr ?? '127.0.0.1:0', '--log-level', 'info', ...(options.extraArgs ?? [])],
    { cwd: repoRoot, env: { ...process.env, HOME: home, RUNE_CONFIG: join(home, '.rune', 'config.yaml'), NODE_EXTRA_CA_CERTS: '', ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const stderr: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => stderr.push(line));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const { grpcAddr, httpAddr } = await new Promise<{ grpcAddr: string; httpAddr: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`runed did not serve within ${options.timeoutMs ?? 20000} ms; stderr:\n${stderr.join('\n')}`)), options.timeoutMs ?? 20000);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        const entry = JSON.parse(line) as { msg?: string; grpcAddr?: string; httpAddr?: string };
        if (entry.msg === 'runed is serving' && entry.grpcAddr) {
          clearTimeout(timer);
          resolve({ grpcAddr: entry.grpcAddr, httpAddr: entry.httpAddr ?? '' });
        }
      } catch {
        // not a log line
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(Object.assign(new Error(`runed exited with code ${code} before serving; stderr:\n${stderr.join('\n')}`), { exitCode: code, stderr }));
    });
  });
  const token = (await readFile(join(dataDir, 'admin.token'), 'utf8')).trim();
  return {
    child,
    grpcAddr,
    httpAddr,
    dataDir,
    home,
    token,
    stderr,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    cleanup: async () => {
      killProcessesUnder(dataDir); // instances outlive runed by design; tests leave none behind
      if (!options.dataDir) await rm(dataDir, { recursive: true, force: true });
      if (!options.home) await rm(home, { recursive: true, force: true });
    },
  };
}
