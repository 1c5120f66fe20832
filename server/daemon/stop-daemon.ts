/**
 * `runed stop`: SIGTERM to the runed named by `<data-dir>/runed.pid`, then waits for it to exit.
 * The PID is signalled only if its start time (/proc/<pid>/stat field 22) is the one recorded:
 * a PID the kernel handed to another process is never signalled; that pidfile is stale and is
 * removed. Returns the exit code: 0 stopped (or was not running), 1 still running at the timeout.
 */
import { daemonState, isSameProcess, pidfilePath, removePidfile, removePidfileIfOwn } from './pidfile.js';
import { staleReason } from './start-daemon.js';

export interface StopDaemonOptions {
  dataDir: string;
  /** How long to wait after SIGTERM (default 30 s). */
  timeoutMs?: number;
  out?: (line: string) => void;
  err?: (line: string) => void;
}

export async function stopDaemon(options: StopDaemonOptions): Promise<number> {
  const out = options.out ?? ((l) => process.stdout.write(`${l}\n`));
  const err = options.err ?? ((l) => process.stderr.write(`${l}\n`));
  const { dataDir } = options;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const state = daemonState(dataDir);
  if (state.state === 'stopped') {
    out(`runed is not running (no pidfile in ${dataDir})`);
    return 0;
  }
  if (state.state === 'stale') {
    err(`runed: stale pidfile ${pidfilePath(dataDir)}: ${staleReason(state.reason, state.record?.pid)}; not signalling anything; removed it`);
    removePidfile(dataDir);
    return 0;
  }
  const { pid, startTime } = state.record;
  // The start time was checked just above; the window in which runed could exit and its PID be
  // handed to a new process before this kill is a few microseconds (PIDs are not reused at once).
  try {
    process.kill(pid, 'SIGTERM');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
  }
  const started = Date.now();
  while (isSameProcess(pid, startTime)) {
    if (Date.now() - started > timeoutMs) {
      err(`runed: pid ${pid} did not exit within ${Math.round(timeoutMs / 1000)} s of SIGTERM; it is still running (see ${dataDir}/runed.log; runed stop --timeout with a longer wait, or kill -9 ${pid})`);
      return 1;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  removePidfileIfOwn(dataDir, pid);
  out(`runed stopped (pid ${pid}, after ${((Date.now() - started) / 1000).toFixed(1)} s)`);
  return 0;
}
