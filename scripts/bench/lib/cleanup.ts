/**
 * Every process the benchmark starts carries a tag in its environment (RUNE_BENCH=<run>/<part>),
 * passed on by every supervisor under test (runed gets it in the service's env, pm2 in the
 * ecosystem's env, the spawn-floor parent to its children). Cleaning up is then one scan of
 * /proc for the tag, whoever the parent was and whether it still lives: supervisors first (so
 * nothing restarts what we kill), then every tagged process and its process group, SIGKILL.
 *
 * `childEnv` is the one place that builds a child's environment: it also drops
 * NODE_EXTRA_CA_CERTS (this machine image sets it; it adds ~80 ms to every Node start) and
 * NODE_OPTIONS (the tsx loader must not leak into what is measured).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { alive } from './proc.js';

export const TAG_VARIABLE = 'RUNE_BENCH';

/** Variables removed from every child's environment, and why (printed in the report). */
export const DROPPED_VARIABLES = {
  NODE_EXTRA_CA_CERTS: 'set by this machine image; adds ~80 ms to every Node start',
  NODE_OPTIONS: 'the harness runs under tsx; its loader must not leak into measured processes',
} as const;

/** The environment of a child process: ours, minus DROPPED_VARIABLES, plus the tag and `extra`. */
export function childEnv(tag: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra, [TAG_VARIABLE]: tag };
  for (const name of Object.keys(DROPPED_VARIABLES)) delete env[name];
  return env;
}

/** The tag value of a process (undefined when untagged, gone or unreadable). */
function tagOf(pid: number): string | undefined {
  let environ: string;
  try {
    environ = readFileSync(`/proc/${pid}/environ`, 'latin1');
  } catch {
    return undefined;
  }
  const key = `${TAG_VARIABLE}=`;
  const at = environ.startsWith(key) ? 0 : environ.indexOf(`\0${key}`);
  if (at < 0) return undefined;
  const start = at === 0 ? key.length : at + 1 + key.length;
  const end = environ.indexOf('\0', start);
  return environ.slice(start, end < 0 ? undefined : end);
}

/** Live PIDs whose tag is `prefix` or starts with `prefix/` (never this process). */
export function taggedPids(prefix: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    const tag = tagOf(pid);
    if (tag !== undefined && (tag === prefix || tag.startsWith(`${prefix}/`)) && alive(pid)) found.push(pid);
  }
  return found;
}

function kill(target: number, signal: NodeJS.Signals): void {
  try {
    process.kill(target, signal);
  } catch {
    // already gone (ESRCH), or a group that no longer exists
  }
}

/** SIGKILLs `pid` and its process group (when it leads one). */
export function killGroup(pid: number): void {
  if (!(pid > 0)) return;
  kill(-pid, 'SIGKILL');
  kill(pid, 'SIGKILL');
}

/**
 * SIGKILLs every process tagged under `prefix`, with its process group, first the ones named in
 * `first` (supervisors), and waits until none is left. Bounded: gives up after `timeoutMs` and
 * returns what is still alive (the caller reports it).
 */
export async function killTagged(prefix: string, options: { first?: number[]; timeoutMs?: number } = {}): Promise<{ killed: number; left: number[] }> {
  for (const pid of options.first ?? []) killGroup(pid);
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  const killed = new Set<number>();
  for (;;) {
    const pids = taggedPids(prefix);
    if (pids.length === 0) return { killed: killed.size, left: [] };
    if (Date.now() > deadline) return { killed: killed.size, left: pids };
    for (const pid of pids) {
      killGroup(pid);
      killed.add(pid);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The synchronous last resort for process exit and signals: one SIGKILL pass, no waiting. */
export function killTaggedNow(prefix: string, first: Iterable<number> = []): void {
  for (const pid of first) killGroup(pid);
  for (let pass = 0; pass < 3; pass++) {
    const pids = taggedPids(prefix);
    if (pids.length === 0) return;
    for (const pid of pids) killGroup(pid);
  }
}
