/**
 * Scenario 5, workload start: cast → all N `sleep 300` instances running, against the spawn floor
 * and against pm2 starting the same N from an ecosystem file. Each repetition measures, for each
 * N, the floor, then runed (fresh), then pm2 (fresh), so the three figures of a pair are taken
 * within seconds of each other. How each side is timed: lib/fleet.ts.
 */
import { join } from 'node:path';
import { killTagged } from '../lib/cleanup.js';
import { startPm2Fleet, startRunedFleet } from '../lib/fleet.js';
import { repeat } from '../lib/repeat.js';
import type { Figure, Scenario } from '../lib/scenario.js';
import { median } from '../lib/stats.js';
import { measureSpawnFloor } from './spawn-floor.js';

interface Samples {
  floor: number[];
  runed: number[];
  runedCold: number[];
  pm2: number[];
  pm2Cold: number[];
  pm2Cli: number[];
  clientCpu: number[];
  runedCpu: number[];
}

export const workloadStart: Scenario = {
  name: 'workload-start',
  title: 'workload start',
  issue: 5,
  async run(ctx) {
    const sizes = ctx.mode === 'quick' ? [20] : [100, 500];
    const timeoutMs = ctx.mode === 'quick' ? 30_000 : 90_000;
    const all = new Map<number, Samples>(sizes.map((n) => [n, { floor: [], runed: [], runedCold: [], pm2: [], pm2Cold: [], pm2Cli: [], clientCpu: [], runedCpu: [] }]));
    const retried = await repeat(ctx, async (rep, attempt) => {
      // Pushed only once the whole repetition succeeded: a retried one leaves no half pair.
      const commits: (() => void)[] = [];
      for (const n of sizes) {
        const s = all.get(n)!;
        const id = `r${rep}.${attempt}-n${n}`;
        const tag = `${ctx.tag}/${id}`;
        const { ms: floor } = await measureSpawnFloor({ tag: `${tag}/floor`, n, timeoutMs });

        const runedFleet = await startRunedFleet({ tag: `${tag}/runed`, dir: join(ctx.dir, `${id}-runed`), n, timeoutMs, cpuProfileDir: ctx.cpuProfileDir });
        await runedFleet.stop();
        await killTagged(`${tag}/runed`);

        const pm2Fleet = await startPm2Fleet({ tag: `${tag}/pm2`, dir: join(ctx.dir, `${id}-pm2`), n, timeoutMs });
        await pm2Fleet.stop();
        await killTagged(`${tag}/pm2`);

        commits.push(() => {
          s.floor.push(floor);
          s.runed.push(runedFleet.ms);
          s.runedCold.push(runedFleet.coldMs);
          s.clientCpu.push(runedFleet.clientCpuMs);
          s.runedCpu.push(runedFleet.runedCpuMs);
          s.pm2.push(pm2Fleet.ms);
          s.pm2Cold.push(pm2Fleet.coldMs);
          s.pm2Cli.push(pm2Fleet.cliMs);
        });
        ctx.log(
          `rep ${rep + 1}/${ctx.reps} N=${n}: floor ${floor.toFixed(0)} ms, runed ${runedFleet.ms.toFixed(0)} ms (runed CPU ${runedFleet.runedCpuMs.toFixed(0)} ms, harness CPU ${runedFleet.clientCpuMs.toFixed(0)} ms), pm2 ${pm2Fleet.ms.toFixed(0)} ms (+ daemon ${(pm2Fleet.coldMs - pm2Fleet.ms).toFixed(0)} ms)`,
        );
      }
      for (const commit of commits) commit();
    });
    const figures: Figure[] = [];
    for (const n of sizes) {
      const s = all.get(n)!;
      figures.push(
        { label: `N=${n}: cast → all running, vs spawn floor`, unit: 'ms', runed: s.runed, reference: { name: 'spawn floor', samples: s.floor }, goal: { maxRatio: 2, text: '≤ 2× floor' } },
        { label: `N=${n}: vs pm2 start, daemons already running`, unit: 'ms', runed: s.runed, reference: { name: 'pm2', samples: s.pm2 }, goal: { maxRatio: 0.1, text: '≥ 10× faster than pm2' }, speedup: true },
        { label: `N=${n}: vs pm2 start, both incl. daemon start`, unit: 'ms', runed: s.runedCold, reference: { name: 'pm2', samples: s.pm2Cold }, goal: { maxRatio: 0.1, text: '≥ 10× faster than pm2' }, speedup: true },
      );
    }
    return {
      figures,
      retried,
      notes: [
        'Workload start, runed: a fresh runed (dist/, own data dir) is serving; the harness watches the namespace (WatchInstances from its current revision); the clock runs from just before CastService(scale N) to the watch message after which all N instances are `running`/`ready` with a PID alive in /proc; the list is then checked against /proc.',
        'Workload start, pm2: a fresh daemon (fresh PM2_HOME) is running; the harness is subscribed to its event bus; the clock runs from invoking `pm2 start ecosystem.config.cjs` (one app, fork mode, `instances: N`, autorestart) to the N-th `online` event; `getMonitorData` (what `pm2 jlist` prints) then confirms all N online with live PIDs. The pm2 CLI\'s own start (~0.3 s of Node) is part of pm2\'s time, as it is for a user.',
        '"incl. daemon start" adds each side\'s daemon start: runed spawn → serving; pm2 `pm2 ping` on a fresh PM2_HOME (spawns the daemon, waits for its answer).',
        `The measuring client is not the bottleneck: while runed was timed, the harness used ${sizes.map((n) => `${median(all.get(n)!.clientCpu).toFixed(0)} ms of CPU at N=${n} (median; runed itself ${median(all.get(n)!.runedCpu).toFixed(0)} ms, wall ${median(all.get(n)!.runed).toFixed(0)} ms)`).join(', ')}.`,
      ],
      details: Object.fromEntries(
        sizes.map((n) => {
          const s = all.get(n)!;
          return [
            `N=${n}`,
            {
              samplesMs: s,
              medianHarnessCpuMs: median(s.clientCpu),
              medianRunedCpuMs: median(s.runedCpu),
              medianPm2CliExitMs: median(s.pm2Cli),
            },
          ];
        }),
      ),
    };
  },
};
