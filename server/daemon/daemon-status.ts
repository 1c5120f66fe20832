/**
 * `runed status`: running, stopped or stale pidfile, from `<data-dir>/runed.pid` checked against
 * /proc; when running, plus the live status asked of its local event socket (store revision,
 * supervised processes, housekeeping tasks' last and next runs). Returns the exit code:
 * 0 running, 3 not running (stopped or stale), as LSB init scripts and `systemctl status` do.
 */
import { join } from 'node:path';
import type { TaskStatus } from '../housekeeping/scheduler.js';
import { queryLiveStatus, type LiveStatus } from './live-status.js';
import { daemonState, LOGFILE, pidfilePath } from './pidfile.js';
import { staleReason } from './start-daemon.js';

export interface DaemonStatus {
  state: 'running' | 'stopped' | 'stale';
  dataDir: string;
  pidfile: string;
  log: string;
  pid?: number;
  grpcAddr?: string;
  httpAddr?: string;
  version?: string;
  startedAt?: string;
  uptimeSeconds?: number;
  /** Why a pidfile is stale. */
  reason?: string;
  /** The event socket `live` was asked of. */
  eventSocket?: string;
  /** What the running runed says of itself (see withLiveStatus). */
  live?: LiveStatus;
  /** Why `live` is missing although runed runs (event socket off, permission denied, no answer). */
  liveError?: string;
}

export function daemonStatus(dataDir: string, now = Date.now()): DaemonStatus {
  const base = { dataDir, pidfile: pidfilePath(dataDir), log: join(dataDir, LOGFILE) };
  const s = daemonState(dataDir);
  if (s.state === 'stopped') return { state: 'stopped', ...base };
  if (s.state === 'stale') return { state: 'stale', ...base, pid: s.record?.pid, reason: staleReason(s.reason, s.record?.pid) };
  const r = s.record;
  return {
    state: 'running',
    ...base,
    pid: r.pid,
    grpcAddr: r.grpcAddr,
    httpAddr: r.httpAddr,
    version: r.version,
    startedAt: r.startedAt,
    uptimeSeconds: Math.max(0, Math.round((now - Date.parse(r.startedAt)) / 1000)),
    ...(r.eventSocket ? { eventSocket: r.eventSocket } : {}),
  };
}

/** Adds the live status of a running runed, asked of its event socket; never throws. */
export async function withLiveStatus(status: DaemonStatus, timeoutMs?: number): Promise<DaemonStatus> {
  if (status.state !== 'running') return status;
  if (!status.eventSocket) return { ...status, liveError: 'the local event socket is off (--no-event-socket)' };
  try {
    return { ...status, live: await queryLiveStatus(status.eventSocket, timeoutMs) };
  } catch (err) {
    return { ...status, liveError: `${status.eventSocket}: ${(err as Error).message}` };
  }
}

export function printStatus(status: DaemonStatus, output: 'text' | 'json', write: (l: string) => void = (l) => process.stdout.write(`${l}\n`)): number {
  if (output === 'json') write(JSON.stringify(status, null, 2));
  else if (status.state === 'running') {
    write(`runed is running (pid ${status.pid}, version ${status.version}, up ${formatUptime(status.uptimeSeconds!)})`);
    write(`  gRPC  ${status.grpcAddr}`);
    write(`  REST  ${status.httpAddr}`);
    write(`  data  ${status.dataDir}`);
    write(`  log   ${status.log}`);
    const live = status.live;
    if (status.eventSocket) write(`  sock  ${status.eventSocket}${live ? ` (connections: ${live.eventSocket.connections}, subscribed: ${live.eventSocket.subscriptions})` : ''}`);
    if (live) {
      write(`  store revision ${live.revision}, events retained after revision ${live.compactedRevision}`);
      if (live.supervised !== undefined) write(`  supervising ${live.supervised} processes (${live.instances} instances of ${live.services} services)`);
      write('  housekeeping:');
      for (const line of housekeepingLines(live.housekeeping, Date.parse(live.startedAt) + live.uptimeSeconds * 1000)) write(`    ${line}`);
    } else if (status.liveError) write(`  (no live status: ${status.liveError})`);
  } else if (status.state === 'stale') write(`runed is not running: stale pidfile ${status.pidfile} (${status.reason}); runed start removes it`);
  else write(`runed is stopped (no pidfile in ${status.dataDir})`);
  return status.state === 'running' ? 0 : 3;
}

/** One line per task: period, last run (when, result, duration, summary), next run. */
export function housekeepingLines(tasks: readonly TaskStatus[], now: number): string[] {
  const width = Math.max(0, ...tasks.map((t) => t.name.length));
  return tasks.map((t) => {
    const last = t.lastRun
      ? `last ${formatUptime(Math.max(0, Math.round((now - Date.parse(t.lastRun.startedAt)) / 1000)))} ago: ${t.lastRun.result} in ${t.lastRun.durationMs} ms${t.lastRun.message ? ` (${t.lastRun.message})` : ''}`
      : 'not run yet';
    const next = t.running ? 'running now' : t.nextRunAt ? `next in ${formatUptime(Math.max(0, Math.round((Date.parse(t.nextRunAt) - now) / 1000)))}` : '';
    const failures = t.failures > 0 ? `, ${t.failures} of ${t.runs} runs failed` : '';
    return `${t.name.padEnd(width)}  every ${formatUptime(Math.round(t.everyMs / 1000))}  ${last}${failures}; ${next}`;
  });
}

function formatUptime(s: number): string {
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  return d ? `${d}d${h}h${m}m` : h ? `${h}h${m}m${s % 60}s` : m ? `${m}m${s % 60}s` : `${s}s`;
}
