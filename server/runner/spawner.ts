/**
 * The spawner: a tiny long-lived Node child of runed that forks workloads on runed's behalf.
 *
 * Why: fork() copies the parent's page tables, so its cost grows with the parent's memory. From
 * runed (~120 MB) a spawn costs ~3.4 ms; from a process that has loaded nothing but Node itself
 * ~1.4 ms. Starting 500 instances spends most of its time there.
 *
 * Contract:
 * - The helper runs HELPER_SOURCE (plain CommonJS, no imports of ours, so it works from dist/ and
 *   under tsx alike) with runed's environment minus NODE_OPTIONS and NODE_EXTRA_CA_CERTS.
 * - Requests and replies travel over Node's IPC channel (JSON messages), in order:
 *   `{ type: 'ready' }` once; per request `started` (pid and /proc start time, read by the
 *   helper, which as the parent cannot lose the child before it has read it) or `failed`
 *   (`phase` 'open' for the log file, 'spawn' for the spawn, with the error's message, code,
 *   errno, syscall and path, so the runner reports the same messages as when it spawns itself);
 *   then, per started process, one `exit` with the real code and signal (the helper is the
 *   parent and reaps it). An `exit` always follows its `started`.
 * - Workloads are detached (own session and process group) exactly as before: they outlive the
 *   helper and runed. When the helper goes, its children are re-parented (to init) and become
 *   ordinary adopted processes for the runner (exit status unknown, found by polling /proc).
 * - The helper exits when its channel closes (runed exited or closed the runner); it never
 *   signals its children.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Logger } from 'pino';

/** The helper's program (CommonJS, run with `node -e`). Keep it small: its heap is the point. */
export const HELPER_SOURCE = `'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const FLAGS = fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT;
function send(message) {
  try { process.send(message); } catch { process.exit(0); }
}
function startTime(pid) {
  try {
    const text = fs.readFileSync('/proc/' + pid + '/stat', 'latin1');
    return Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[19]) || 0;
  } catch { return 0; }
}
function fail(id, phase, err) {
  const e = err || {};
  send({ type: 'failed', id, phase, error: { message: String(e.message || e), code: e.code, errno: e.errno, syscall: e.syscall, path: e.path } });
}
process.on('message', (m) => {
  let fd;
  try { fd = fs.openSync(m.logPath, FLAGS, 0o600); } catch (err) { fail(m.id, 'open', err); return; }
  let child;
  try {
    const options = { cwd: m.cwd, env: m.env, detached: true, stdio: ['ignore', fd, fd] };
    if (typeof m.argv0 === 'string') options.argv0 = m.argv0;
    child = spawn(m.file, m.args, options);
  } catch (err) {
    fs.closeSync(fd);
    fail(m.id, 'spawn', err);
    return;
  }
  fs.closeSync(fd);
  const pid = child.pid;
  if (pid === undefined) { child.once('error', (err) => fail(m.id, 'spawn', err)); return; }
  child.on('error', () => {});
  const st = startTime(pid);
  send({ type: 'started', id: m.id, pid, startTime: st });
  child.once('exit', (code, signal) => send({ type: 'exit', pid, startTime: st, code: code === null ? -1 : code, signal: signal || '' }));
});
process.on('disconnect', () => process.exit(0));
process.on('error', () => process.exit(0)); // a send after runed went: nothing left to tell
process.on('SIGINT', () => {});
send({ type: 'ready' });
`;

/** What the helper spawns: the same fields the runner passes to child_process.spawn. */
export interface SpawnRequest {
  file: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  /** argv[0] when it differs from `file`. */
  argv0?: string;
  /** Opened O_WRONLY|O_APPEND|O_CREAT (0600) for stdout and stderr. */
  logPath: string;
}

export interface Spawned {
  pid: number;
  /** /proc/<pid>/stat field 22, read by the helper right after the spawn. */
  startTime: number;
}

/**
 * The helper refused a request: `phase` 'open' (the log file) or 'spawn'; `cause` is an Error
 * with the message, code, errno, syscall and path the helper saw.
 */
export class SpawnFailed extends Error {
  constructor(
    readonly phase: 'open' | 'spawn',
    override readonly cause: Error,
  ) {
    super(cause.message);
  }
}

/** The helper went away before answering; whether the process was started is unknown. */
export class SpawnerGone extends Error {
  constructor() {
    super('the spawner helper exited before answering');
  }
}

export type SpawnerExitListener = (pid: number, startTime: number, code: number, signal: string) => void;

type HelperMessage =
  | { type: 'ready' }
  | { type: 'started'; id: number; pid: number; startTime: number }
  | { type: 'failed'; id: number; phase: 'open' | 'spawn'; error: { message: string; code?: string; errno?: number; syscall?: string; path?: string } }
  | { type: 'exit'; pid: number; startTime: number; code: number; signal: string };

export interface SpawnerOptions {
  /** Called for every `exit` the helper relays. */
  onExit: SpawnerExitListener;
  /** Called once when the helper is gone (after pending requests were rejected with SpawnerGone). */
  onGone: () => void;
  /** `ready` resolves false when the helper has not answered within this long. Default 5000. */
  readyTimeoutMs?: number;
  log?: Logger;
}

export class Spawner {
  /** True once the helper answers; false when it died or timed out first. */
  readonly ready: Promise<boolean>;
  private readonly child: ChildProcess;
  private readonly pending = new Map<number, { resolve: (s: Spawned) => void; reject: (err: Error) => void }>();
  private nextId = 1;
  private holds = 0;
  private gone = false;

  constructor(private readonly options: SpawnerOptions) {
    const env = { ...process.env };
    delete env.NODE_OPTIONS; // e.g. --require of tracing: nothing the helper needs, and heap
    delete env.NODE_EXTRA_CA_CERTS; // ~80 ms of start-up for certificates it never uses
    this.child = spawn(process.execPath, ['-e', HELPER_SOURCE], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], env, serialization: 'json' });
    let settle: (ok: boolean) => void = () => undefined;
    let settled = false;
    // Whoever awaits `ready` is kept alive until it settles.
    this.ready = new Promise<boolean>((resolve) => (settle = (ok) => {
      if (settled) return;
      settled = true;
      resolve(ok);
      this.release();
    }));
    this.hold();
    const timer = setTimeout(() => {
      options.log?.warn({ timeoutMs: options.readyTimeoutMs ?? 5000 }, 'spawner helper did not start in time; spawning from runed');
      settle(false);
      this.kill();
    }, options.readyTimeoutMs ?? 5000);
    timer.unref();
    this.child.on('message', (message: HelperMessage) => {
      switch (message.type) {
        case 'ready':
          clearTimeout(timer);
          settle(true);
          return;
        case 'started': {
          const request = this.take(message.id);
          request?.resolve({ pid: message.pid, startTime: message.startTime });
          return;
        }
        case 'failed': {
          const request = this.take(message.id);
          const cause = Object.assign(new Error(message.error.message), definedOnly({ code: message.error.code, errno: message.error.errno, syscall: message.error.syscall, path: message.error.path }));
          request?.reject(new SpawnFailed(message.phase, cause));
          return;
        }
        case 'exit':
          options.onExit(message.pid, message.startTime, message.code, message.signal);
          return;
      }
    });
    this.child.on('error', (err) => options.log?.warn({ err }, 'spawner helper error'));
    // 'exit' alone can come before the last messages are read; 'close' comes after both.
    this.child.once('close', (code, signal) => {
      clearTimeout(timer);
      settle(false);
      this.markGone(code, signal);
    });
    this.unrefIfIdle();
  }

  /** The pid of the helper (for tests and logs). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return !this.gone;
  }

  /** Spawns through the helper. Rejects with SpawnFailed or SpawnerGone. */
  spawn(request: SpawnRequest): Promise<Spawned> {
    if (this.gone) return Promise.reject(new SpawnerGone());
    const id = this.nextId++;
    return new Promise<Spawned>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.hold();
      try {
        this.child.send({ id, ...request });
      } catch {
        this.take(id)?.reject(new SpawnerGone());
      }
    });
  }

  /** Keeps runed's event loop alive (the channel ref'd) until the matching release(). */
  hold(): void {
    this.holds++;
    if (this.holds === 1 && !this.gone) {
      this.child.ref();
      this.child.channel?.ref();
    }
  }

  release(): void {
    this.holds = Math.max(0, this.holds - 1);
    this.unrefIfIdle();
  }

  /** Closes the channel; the helper exits, leaving its children running. */
  close(): void {
    if (this.gone) return;
    try {
      this.child.disconnect();
    } catch {
      // already disconnected
    }
  }

  /** Ends the helper (it never signals its children). */
  kill(): void {
    if (this.gone) return;
    try {
      this.child.kill('SIGKILL');
    } catch {
      // gone already
    }
  }

  private take(id: number) {
    const request = this.pending.get(id);
    if (!request) return undefined;
    this.pending.delete(id);
    this.release();
    return request;
  }

  private unrefIfIdle(): void {
    if (this.holds > 0 || this.gone) return;
    this.child.unref();
    this.child.channel?.unref();
  }

  private markGone(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.gone) return;
    this.gone = true;
    for (const id of [...this.pending.keys()]) this.take(id)?.reject(new SpawnerGone());
    this.options.log?.info({ pid: this.child.pid, code, signal }, 'spawner helper exited');
    this.options.onGone();
  }
}

function definedOnly(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
}
