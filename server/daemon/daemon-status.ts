/**
 * `runed status`: running, stopped or stale pidfile, from `<data-dir>/runed.pid` checked against
 * /proc. Returns the exit code: 0 running, 3 not running (stopped or stale), as LSB init
 * scripts and `systemctl status` do.
 */
import { join } from 'node:path';
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
}

export function daemonStatus(dataDir: string, now = Date.now()): DaemonStatus {
  const base = { dataDir, pidfile: pidfilePath(dataDir), log: join(dataDir, LOGFILE) };
  const s = daemonState(dataDir);
  if (s.state === 'stopped') return { state: 'stopped', ...base };
  if (s.state === 'stale') return { state: 'stale', ...base, pid: s.record?.pid, reason: staleReason(s.reason, s.record?.pid) };
  const r = s.record;
  return { state: 'running', ...base, pid: r.pid, grpcAddr: r.grpcAddr, httpAddr: r.httpAddr, version: r.version, startedAt: r.startedAt, uptimeSeconds: Math.max(0, Math.round((now - Date.parse(r.startedAt)) / 1000)) };
}

export function printStatus(status: DaemonStatus, output: 'text' | 'json', write: (l: string) => void = (l) => process.stdout.write(`${l}\n`)): number {
  if (output === 'json') write(JSON.stringify(status, null, 2));
  else if (status.state === 'running') {
    write(`runed is running (pid ${status.pid}, version ${status.version}, up ${formatUptime(status.uptimeSeconds!)})`);
    write(`  gRPC  ${status.grpcAddr}`);
    write(`  REST  ${status.httpAddr}`);
    write(`  data  ${status.dataDir}`);
    write(`  log   ${status.log}`);
  } else if (status.state === 'stale') write(`runed is not running: stale pidfile ${status.pidfile} (${status.reason}); runed start removes it`);
  else write(`runed is stopped (no pidfile in ${status.dataDir})`);
  return status.state === 'running' ? 0 : 3;
}

function formatUptime(s: number): string {
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  return d ? `${d}d${h}h${m}m` : h ? `${h}h${m}m${s % 60}s` : m ? `${m}m${s % 60}s` : `${s}s`;
}
