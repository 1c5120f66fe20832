/**
 * `<data-dir>/runed.pid`: written by a serving runed (after it holds the data dir's LevelDB lock
 * and listens), removed when it stops. JSON: the PID and the process's start time in clock
 * ticks since boot (/proc/<pid>/stat field 22), so a PID the kernel later hands to another
 * process is never taken for runed; plus addresses, version and start date for `runed status`.
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readProcStat } from '../runner/proc.js';

export interface PidRecord {
  pid: number;
  /** /proc/<pid>/stat field 22 of the runed process. */
  startTime: number;
  grpcAddr: string;
  httpAddr: string;
  version: string;
  /** ISO 8601. */
  startedAt: string;
  /** The local event socket's path (absent when it is off): `runed status` asks it for the live status. */
  eventSocket?: string;
}

export const PIDFILE = 'runed.pid';
export const LOGFILE = 'runed.log';

export function pidfilePath(dataDir: string): string {
  return join(dataDir, PIDFILE);
}

/** Writes the pidfile atomically (temp file + rename). */
export function writePidfile(dataDir: string, record: PidRecord): void {
  const tmp = `${pidfilePath(dataDir)}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(record)}\n`, { mode: 0o644 });
  renameSync(tmp, pidfilePath(dataDir));
}

/** The pidfile's record; undefined when there is none; `malformed` when it cannot be read as one. */
export function readPidfile(dataDir: string): PidRecord | 'malformed' | undefined {
  let text: string;
  try {
    text = readFileSync(pidfilePath(dataDir), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const r = JSON.parse(text) as PidRecord;
    if (!Number.isInteger(r.pid) || r.pid <= 0 || !Number.isInteger(r.startTime)) return 'malformed';
    return r;
  } catch {
    return 'malformed';
  }
}

/** Removes the pidfile if it still names `pid` (a newer runed's pidfile is left alone). */
export function removePidfileIfOwn(dataDir: string, pid: number): void {
  const r = readPidfile(dataDir);
  if (r === undefined || (r !== 'malformed' && r.pid !== pid)) return;
  rmSync(pidfilePath(dataDir), { force: true });
}

export function removePidfile(dataDir: string): void {
  rmSync(pidfilePath(dataDir), { force: true });
}

/** True when `pid` is alive (not a zombie) and started at `startTime`: the very process recorded. */
export function isSameProcess(pid: number, startTime: number): boolean {
  const stat = readProcStat(pid);
  return stat !== undefined && stat.state !== 'Z' && stat.startTime === startTime;
}

export type DaemonState =
  | { state: 'running'; record: PidRecord }
  | { state: 'stopped' }
  /** `gone`: no such process; `reused`: the PID now belongs to another process; `malformed`: unreadable. */
  | { state: 'stale'; reason: 'gone' | 'reused' | 'malformed'; record?: PidRecord };

/** What the pidfile says, checked against /proc. Never signals anything. */
export function daemonState(dataDir: string): DaemonState {
  const record = readPidfile(dataDir);
  if (record === undefined) return { state: 'stopped' };
  if (record === 'malformed') return { state: 'stale', reason: 'malformed' };
  if (isSameProcess(record.pid, record.startTime)) return { state: 'running', record };
  const stat = readProcStat(record.pid);
  return { state: 'stale', reason: stat && stat.state !== 'Z' ? 'reused' : 'gone', record };
}

/** The start time of this process, for its own pidfile. */
export function ownStartTime(): number {
  const stat = readProcStat(process.pid);
  if (!stat) throw new Error('cannot read /proc/self/stat');
  return stat.startTime;
}
