/**
 * `runed start`: runs `runed serve` detached (its own session, stdout and stderr appended to
 * `<data-dir>/runed.log`) and returns once it serves, i.e. once it has written
 * `<data-dir>/runed.pid` naming the child — which it does only after taking the data dir's
 * LevelDB lock and binding its listeners.
 *
 * Two concurrent starts: both may pass the pidfile check, but the LevelDB lock on
 * `<data-dir>/store` (an OS file lock, released by the kernel when its holder dies, so it is never
 * stale) admits one child; the other child exits 1 and its `runed start` fails with the log.
 *
 * Returns the exit code: 0 serving, 1 configuration or runtime error (already running, child
 * failed, not ready in time), 2 address already in use.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { daemonState, LOGFILE, readPidfile, removePidfile } from './pidfile.js';
import { selfCommand } from './serve-args.js';

export interface StartDaemonOptions {
  dataDir: string;
  /** `serve ...` arguments for the child. */
  serveArgs: string[];
  /** How long to wait for the child to serve (default 60 s). */
  timeoutMs?: number;
  out?: (line: string) => void;
  err?: (line: string) => void;
}

export async function startDaemon(options: StartDaemonOptions): Promise<number> {
  const out = options.out ?? ((l) => process.stdout.write(`${l}\n`));
  const err = options.err ?? ((l) => process.stderr.write(`${l}\n`));
  const { dataDir } = options;
  mkdirSync(dataDir, { recursive: true });
  const state = daemonState(dataDir);
  if (state.state === 'running') {
    err(`runed: already running (pid ${state.record.pid}, gRPC ${state.record.grpcAddr}) with data dir ${dataDir}; use runed restart to restart it`);
    return 1;
  }
  if (state.state === 'stale') {
    err(`runed: removing stale pidfile ${join(dataDir, 'runed.pid')} (${staleReason(state.reason, state.record?.pid)})`);
    removePidfile(dataDir);
  }
  const logFile = join(dataDir, LOGFILE);
  const fd = openSync(logFile, 'a', 0o600);
  const offset = statSync(logFile).size;
  const [node, ...rest] = selfCommand();
  const child = spawn(node!, [...rest, ...options.serveArgs], { detached: true, stdio: ['ignore', fd, fd], env: process.env });
  closeSync(fd);
  const pid = child.pid!;
  let exitCode: number | null | undefined;
  child.once('exit', (code, signal) => (exitCode = code ?? (signal ? 1 : 0)));
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  try {
    for (;;) {
      const r = readPidfile(dataDir);
      if (r && r !== 'malformed' && r.pid === pid) {
        out(`runed started (pid ${pid}): gRPC ${r.grpcAddr}, REST ${r.httpAddr}; log ${logFile}`);
        return 0;
      }
      if (exitCode !== undefined) {
        err(`runed: failed to start (exit code ${exitCode}); last lines of ${logFile}:`);
        for (const line of lastLines(logFile, offset, 20)) err(`  ${line}`);
        return exitCode === 2 ? 2 : 1;
      }
      if (Date.now() > deadline) {
        child.kill('SIGTERM');
        err(`runed: not serving within ${Math.round((options.timeoutMs ?? 60_000) / 1000)} s; stopped it; last lines of ${logFile}:`);
        for (const line of lastLines(logFile, offset, 20)) err(`  ${line}`);
        return 1;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    child.unref();
  }
}

export function staleReason(reason: 'gone' | 'reused' | 'malformed', pid: number | undefined): string {
  if (reason === 'gone') return `pid ${pid} is not running`;
  if (reason === 'reused') return `pid ${pid} now belongs to another process, not the runed that wrote the pidfile`;
  return 'it cannot be read';
}

/** The last `n` lines appended to `file` since `offset`. */
function lastLines(file: string, offset: number, n: number): string[] {
  const text = readFileSync(file).subarray(offset).toString('utf8');
  return text.split('\n').filter((l) => l.trim() !== '').slice(-n);
}
