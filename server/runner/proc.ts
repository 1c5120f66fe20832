/**
 * Reading Linux's /proc: the few facts the process runner needs about a process (state, parent,
 * process group, start time). Linux only: every function throws RuneError UNIMPLEMENTED on other
 * platforms rather than guessing.
 *
 * All reads are synchronous and small (one file of a few hundred bytes per process), so callers
 * decide how often they happen; `processGroupMembers` reads one file per process on the machine
 * and belongs only on rare paths (a workload's exit), never on the start path.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { RuneError } from '../../shared/errors.js';

/** The fields of /proc/<pid>/stat the runner uses. */
export interface ProcStat {
  /** One letter: R running, S sleeping, D disk wait, Z zombie, T stopped, ... */
  state: string;
  ppid: number;
  /** Process group id. */
  pgrp: number;
  /** Clock ticks since boot at which the process started (field 22); stable across exec. */
  startTime: number;
}

/** Throws RuneError UNIMPLEMENTED unless this is Linux, naming what needed it. */
export function requireLinux(what: string, platform: NodeJS.Platform = process.platform): void {
  if (platform !== 'linux') {
    throw new RuneError('UNIMPLEMENTED', `${what} reads /proc and works on Linux only; this is ${platform}: run runed on Linux or use another runner`);
  }
}

/**
 * Parses the text of /proc/<pid>/stat. The second field (comm, in parentheses) may itself contain
 * spaces and parentheses, so the fixed fields are counted from after the LAST ')'.
 * Returns undefined for text that does not look like a stat line.
 */
export function parseProcStat(text: string): ProcStat | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  // After ") " come fields 3 (state), 4 (ppid), 5 (pgrp), ... 22 (starttime): index = field - 3.
  const fields = text.slice(close + 2).trim().split(' ');
  if (fields.length < 20) return undefined;
  const stat = {
    state: fields[0]!,
    ppid: Number(fields[1]),
    pgrp: Number(fields[2]),
    startTime: Number(fields[19]),
  };
  if (!Number.isInteger(stat.ppid) || !Number.isInteger(stat.pgrp) || !Number.isInteger(stat.startTime)) return undefined;
  return stat;
}

/**
 * The stat of process `pid`, or undefined when there is no such process (including the race where
 * it disappears while being read). A zombie is returned (state 'Z'); callers decide what it means.
 */
export function readProcStat(pid: number): ProcStat | undefined {
  requireLinux('readProcStat');
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ESRCH' || code === 'ENOTDIR') return undefined;
    throw err;
  }
  return parseProcStat(text);
}

/**
 * PIDs (ascending) of the live (non-zombie) processes whose process group is `pgid`, the group
 * leader included if it is still running. Reads /proc/<pid>/stat of every process on the machine:
 * call it rarely.
 */
export function processGroupMembers(pgid: number): number[] {
  requireLinux('processGroupMembers');
  const members: number[] = [];
  for (const name of readdirSync('/proc')) {
    const first = name.charCodeAt(0);
    if (first < 48 || first > 57) continue; // not a PID directory
    const pid = Number(name);
    const stat = readProcStat(pid);
    if (stat && stat.pgrp === pgid && stat.state !== 'Z') members.push(pid);
  }
  return members.sort((a, b) => a - b);
}

/**
 * How many live (non-zombie) processes each process group has, from ONE scan of /proc: the batch
 * form of `processGroupMembers`, for answering many groups at once. Groups with no live member are
 * absent.
 */
export function liveGroupSizes(): Map<number, number> {
  requireLinux('liveGroupSizes');
  const sizes = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    const first = name.charCodeAt(0);
    if (first < 48 || first > 57) continue;
    const stat = readProcStat(Number(name));
    if (stat && stat.state !== 'Z') sizes.set(stat.pgrp, (sizes.get(stat.pgrp) ?? 0) + 1);
  }
  return sizes;
}

/**
 * TCP ports some process on this machine listens on (any address), from /proc/net/tcp and
 * tcp6: state 0A is LISTEN. Read before starting an instance that declares ports, so a port
 * already taken is reported as such instead of as an anonymous crash.
 */
export function listeningTcpPorts(): Set<number> {
  requireLinux('listeningTcpPorts');
  const ports = new Set<number>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue; // no IPv6 on this machine
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields[3] !== '0A') continue;
      const port = parseInt(fields[1]?.split(':')[1] ?? '', 16);
      if (Number.isInteger(port)) ports.add(port);
    }
  }
  return ports;
}

/**
 * The first live process whose environment holds every entry of `vars` (read from
 * /proc/<pid>/environ, which shows the environment it was started with). One scan of /proc:
 * for recovery after a crash, not for hot paths.
 */
export function findProcessByEnv(vars: Record<string, string>, options: { groupLeadersOnly?: boolean } = {}): number | undefined {
  requireLinux('findProcessByEnv');
  const wanted = Object.entries(vars).map(([k, v]) => `${k}=${v}`);
  for (const name of readdirSync('/proc')) {
    const first = name.charCodeAt(0);
    if (first < 48 || first > 57) continue;
    const pid = Number(name);
    const stat = readProcStat(pid);
    if (!stat || stat.state === 'Z' || (options.groupLeadersOnly && stat.pgrp !== pid)) continue;
    let environ: string;
    try {
      environ = readFileSync(`/proc/${pid}/environ`, 'latin1');
    } catch {
      continue; // gone, or not ours to read
    }
    const entries = new Set(environ.split('\0'));
    if (wanted.every((w) => entries.has(w))) return pid;
  }
  return undefined;
}
