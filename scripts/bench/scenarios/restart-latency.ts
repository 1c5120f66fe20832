/**
 * Scenario 7, restart latency: `kill -9` one instance's process → its replacement running, runed
 * against pm2's autorestart. Both fleets run at once; kills alternate (runed, then pm2) so each
 * pair is measured within a second.
 *
 * Every kill hits a different instance that has never been restarted: runed restarts at once
 * after a healthy run but backs off a crash loop (10 s, 20 s, ...), so killing the same instance
 * twice would measure the backoff, not the restart path. pm2 has no backoff by default
 * (restart_delay 0, no exp_backoff_restart_delay), so the same rule changes nothing for it.
 *
 * runed: clock from just before kill(pid, SIGKILL) to the watch message showing the same instance
 * `running`/`ready` with a new PID alive in /proc. pm2: to the 'online' event of the same pm_id
 * with a higher restart count, whose PID file then names a new live PID.
 */
import { join } from 'node:path';
import { killTagged } from '../lib/cleanup.js';
import { startPm2Fleet, startRunedFleet, type Pm2Fleet, type RunedFleet } from '../lib/fleet.js';
import { alive } from '../lib/proc.js';
import { repeat } from '../lib/repeat.js';
import type { Scenario, ScenarioContext } from '../lib/scenario.js';
import { sleep, waitFor } from '../lib/wait.js';

const PAUSE_MS = 300;
const TIMEOUT_MS = 15_000;

/** Starts a fleet of `size` on each side and times `kills` kill -9 → replacement running, alternating sides. */
async function killAndTime(ctx: ScenarioContext, options: { tag: string; dir: string; kills: number; size: number }): Promise<{ runed: number[]; pm2: number[] }> {
  const { tag, dir, kills, size } = options;
  const samples = { runed: [] as number[], pm2: [] as number[] };
  let runed: RunedFleet | undefined;
  let pm2: Pm2Fleet | undefined;
  try {
    runed = await startRunedFleet({ tag: `${tag}/runed`, dir: join(dir, 'runed'), n: size, timeoutMs: 60_000, cpuProfileDir: ctx.cpuProfileDir });
    pm2 = await startPm2Fleet({ tag: `${tag}/pm2`, dir: join(dir, 'pm2'), n: size, timeoutMs: 60_000 });
    const runedVictims = [...runed.pids.entries()].sort(([a], [b]) => a.localeCompare(b)).slice(0, kills);
    const pm2Victims = [...pm2.pids.entries()].sort(([a], [b]) => a - b).slice(0, kills);
    if (runedVictims.length < kills || pm2Victims.length < kills) throw new Error(`fleets of ${size} cannot give ${kills} distinct instances to kill`);
    await sleep(PAUSE_MS);
    for (let i = 0; i < kills; i++) {
      const [name, oldPid] = runedVictims[i]!;
      const tracker = runed.tracker;
      const t0 = performance.now();
      process.kill(oldPid, 'SIGKILL');
      const t1 = await tracker.until(`runed to restart ${name}`, () => {
        const instance = tracker.instances.get(name);
        return instance !== undefined && instance.running && instance.pid !== oldPid;
      }, TIMEOUT_MS);
      samples.runed.push(t1 - t0);
      await sleep(PAUSE_MS);

      const [pmId, oldPm2Pid] = pm2Victims[i]!;
      const fleet = pm2;
      const p0 = performance.now();
      process.kill(oldPm2Pid, 'SIGKILL');
      const p1 = await fleet.waitRestarted(pmId, 0, TIMEOUT_MS);
      const newPid = await waitFor(`pm2's PID file of ${pmId} to name a new live process`, () => {
        const pid = fleet.pm2.pidFileOf('sleep', pmId);
        return pid !== undefined && pid !== oldPm2Pid && alive(pid) ? pid : undefined;
      }, { timeoutMs: TIMEOUT_MS, everyMs: 5 });
      samples.pm2.push(p1 - p0);
      ctx.log(`kill ${i + 1}/${kills}: runed ${name} ${(t1 - t0).toFixed(1)} ms; pm2 ${pmId} ${(p1 - p0).toFixed(1)} ms (pid ${oldPm2Pid} → ${newPid})`);
      await sleep(PAUSE_MS);
    }
    return samples;
  } finally {
    await runed?.stop();
    await pm2?.stop();
    await killTagged(tag);
  }
}

export const restartLatency: Scenario = {
  name: 'restart-latency',
  title: 'restart latency',
  issue: 7,
  async run(ctx) {
    const quick = ctx.mode === 'quick';
    const kills = quick ? Math.max(2, ctx.reps) : Math.max(10, ctx.reps * 2);
    const size = quick ? 5 : 20;
    const samples = { runed: [] as number[], pm2: [] as number[] };
    // One repetition holds all the kills (one fleet per side); if it fails it runs again once.
    const retried = await repeat({ ...ctx, reps: 1 }, async (_rep, attempt) => {
      const got = await killAndTime(ctx, { tag: `${ctx.tag}/a${attempt}`, dir: join(ctx.dir, `a${attempt}`), kills, size });
      samples.runed.push(...got.runed);
      samples.pm2.push(...got.pm2);
    });
    return {
      figures: [{ label: `kill -9 → replacement running (${kills} kills, fleet of ${size})`, unit: 'ms', latency: true, runed: samples.runed, reference: { name: 'pm2 autorestart', samples: samples.pm2 }, goal: { maxRatio: 1, text: '≤ 1.0× pm2' } }],
      retried,
      notes: [
        `Restart latency: fleets of ${size} \`sleep 300\` on each side; ${kills} kills, each of a different, never-restarted instance (runed's first restart after a healthy run is immediate; a second one within 10 min would wait out the crash-loop backoff), alternating runed/pm2 with ${PAUSE_MS} ms pauses. runed: kill → the watch shows that instance running with a new live PID; pm2: kill → its 'online' event with a higher restart count (then the PID file names a new live PID).`,
      ],
    };
  },
};
