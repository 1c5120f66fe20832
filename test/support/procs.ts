/** Looks at real processes through /proc, to check what runed claims. */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

export function environOf(pid: number): Record<string, string> {
  try {
    const env: Record<string, string> = {};
    for (const entry of readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')) {
      const eq = entry.indexOf('=');
      if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
    }
    return env;
  } catch {
    return {};
  }
}

/** PIDs of live processes whose environment has RUNE_INSTANCE set and RUNE_NAMESPACE = namespace. */
export function runeProcesses(namespace: string): Map<number, string> {
  const found = new Map<number, string>();
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || !alive(pid)) continue;
    const env = environOf(pid);
    if (env.RUNE_INSTANCE && env.RUNE_NAMESPACE === namespace) found.set(pid, env.RUNE_INSTANCE);
  }
  return found;
}

/** Polls `check` until it returns a value that is not undefined/false, or fails after `ms`. */
export async function eventually<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, ms = 15_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value as T;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Kills (SIGKILL, whole process group) every process whose working dir is under `dir`: the
 * instances a test runed started with its default working dirs (<data-dir>/work/...), which by
 * design outlive runed. Test cleanup only.
 */
export function killProcessesUnder(dir: string): number {
  let killed = 0;
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    let cwd: string;
    try {
      cwd = readlinkSync(`/proc/${pid}/cwd`);
    } catch {
      continue;
    }
    if (cwd !== dir && !cwd.startsWith(dir + '/')) continue;
    try {
      process.kill(-pid, 'SIGKILL');
      killed++;
    } catch {
      try {
        process.kill(pid, 'SIGKILL');
        killed++;
      } catch {
        // already gone
      }
    }
  }
  return killed;
}
