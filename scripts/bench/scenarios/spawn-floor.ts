/**
 * The machine's bare spawn floor, measured in the same run as what is compared with it: a small
 * Node parent (lib/spawn-floor-parent.mjs) spawns N `sleep 300` detached, as runed's process
 * runner does, until all are running. Workload start (scenario 5) is judged against it.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { childEnv, killTagged } from '../lib/cleanup.js';
import { FLEET_COMMAND } from '../lib/fleet.js';
import { repeat } from '../lib/repeat.js';
import type { Scenario } from '../lib/scenario.js';
import { median } from '../lib/stats.js';

const parentScript = join(import.meta.dirname, '..', 'lib', 'spawn-floor-parent.mjs');

/** `command` resolved on PATH, as runed resolves a service's command. */
export function resolveOnPath(command: string): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, command);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // next
    }
  }
  throw new Error(`${command} not found on PATH`);
}

/**
 * Spawns N fleet commands from a small Node parent; returns the parent's time to all running and
 * its RSS while spawning. Kills the children after. `ballastMb` grows the parent's heap first.
 */
export async function measureSpawnFloor(options: { tag: string; n: number; timeoutMs: number; ballastMb?: number }): Promise<{ ms: number; rssMb: number }> {
  const command = resolveOnPath(FLEET_COMMAND.command);
  try {
    const env = childEnv(options.tag, options.ballastMb ? { SPAWN_FLOOR_BALLAST_MB: String(options.ballastMb) } : {});
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, [parentScript, String(options.n), command, ...FLEET_COMMAND.args], { env, timeout: options.timeoutMs, killSignal: 'SIGKILL' }, (err, out, errOut) =>
        err ? reject(new Error(`spawn-floor parent failed: ${err.message} ${errOut}`)) : resolve(out),
      );
    });
    const result = JSON.parse(stdout.trim()) as { ms: number; pids: number[]; rssMb: number };
    if (result.pids.length !== options.n) throw new Error(`spawn-floor parent started ${result.pids.length} of ${options.n}`);
    return { ms: result.ms, rssMb: result.rssMb };
  } finally {
    const { left } = await killTagged(options.tag);
    if (left.length > 0) throw new Error(`spawn floor: ${left.length} processes survived SIGKILL`);
  }
}

/** Heap added to the second parent so that its RSS is about runed's at rest (~110 MB). */
const RUNED_SIZED_BALLAST_MB = 35;

export const spawnFloor: Scenario = {
  name: 'spawn-floor',
  title: 'bare spawn floor',
  async run(ctx) {
    const sizes = ctx.mode === 'quick' ? [20] : [100, 500];
    const largest = sizes.at(-1)!;
    const small = new Map<number, number[]>(sizes.map((n) => [n, []]));
    const big = { ms: [] as number[], rssMb: [] as number[] };
    const retried = await repeat(ctx, async (rep, attempt) => {
      const id = `r${rep}.${attempt}`;
      const got: number[] = [];
      for (const n of sizes) {
        const { ms } = await measureSpawnFloor({ tag: `${ctx.tag}/${id}-n${n}`, n, timeoutMs: 60_000 });
        got.push(ms);
        ctx.log(`rep ${rep + 1}/${ctx.reps} N=${n}: ${ms.toFixed(0)} ms`);
      }
      const heavy = await measureSpawnFloor({ tag: `${ctx.tag}/${id}-big`, n: largest, timeoutMs: 60_000, ballastMb: RUNED_SIZED_BALLAST_MB });
      ctx.log(`rep ${rep + 1}/${ctx.reps} N=${largest}, parent of ${heavy.rssMb} MB RSS: ${heavy.ms.toFixed(0)} ms`);
      sizes.forEach((n, i) => small.get(n)!.push(got[i]!));
      big.ms.push(heavy.ms);
      big.rssMb.push(heavy.rssMb);
    });
    const bigRss = Math.round(median(big.rssMb));
    return {
      figures: [
        ...sizes.map((n) => ({ label: `N=${n} sleep, small Node parent`, unit: 'ms' as const, reference: { name: 'spawn floor', samples: small.get(n)! } })),
        { label: `N=${largest} sleep, Node parent of runed's size (${bigRss} MB RSS)`, unit: 'ms' as const, reference: { name: 'spawn floor, big parent', samples: big.ms } },
      ],
      notes: [
        "Spawn floor: a plain-JS Node parent spawns N `sleep 300` detached (own session, stdin /dev/null, output to a file descriptor), one after another, until /proc shows every one exec'd; its own start is not timed. The \"runed's size\" row first fills the parent's heap with small live objects until its RSS is about runed's at rest: Linux fork() copies the parent's page tables, so every spawn costs more from a bigger parent.",
      ],
      details: { bigParentRssMb: big.rssMb },
      retried,
    };
  },
};
