/**
 * What the benchmark reads from Linux's /proc: liveness, resident memory and CPU time of a
 * process. Every read is one small synchronous file read; a process that vanished reads as
 * "not there" (false / undefined), never as an error.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Fields of /proc/<pid>/stat the benchmark uses. */
export interface ProcStat {
  /** One letter: R running, S sleeping, Z zombie, ... */
  state: string;
  pgrp: number;
  /** CPU time in user and kernel mode, in clock ticks (see clockTicksPerSecond). */
  utime: number;
  stime: number;
  /** Clock ticks since boot at which the process started. */
  startTime: number;
}

export function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // comm (field 2) may hold spaces and parentheses: count fields from after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0]!, pgrp: Number(fields[2]), utime: Number(fields[11]), stime: Number(fields[12]), startTime: Number(fields[19]) };
}

/** True when the process exists and is not a zombie. */
export function alive(pid: number): boolean {
  if (!(pid > 0)) return false;
  const stat = readStat(pid);
  return stat !== undefined && stat.state !== 'Z';
}

/** The process's name (comm), or undefined when it is gone. */
export function commOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** A line of /proc/<pid>/status in kB (VmRSS: resident now; VmHWM: resident peak; RssAnon: resident private memory, no file pages). */
export function vmKb(pid: number, field: 'VmRSS' | 'VmHWM' | 'RssAnon'): number | undefined {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** Pids whose parent is `ppid` (a scan of /proc). */
export function childrenOf(ppid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const text = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[1]) === ppid) children.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return children;
}

let ticks: number | undefined;
/** USER_HZ: the unit of utime/stime (100 on every common Linux). */
export function clockTicksPerSecond(): number {
  if (ticks === undefined) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

/** CPU seconds (user + system) the process has used so far, or undefined when it is gone. */
export function cpuSeconds(pid: number): number | undefined {
  const stat = readStat(pid);
  return stat ? (stat.utime + stat.stime) / clockTicksPerSecond() : undefined;
}
