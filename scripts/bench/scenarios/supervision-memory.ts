/**
 * Scenario 6, supervision memory: runed's RSS with N idle instances against the pm2 daemon's RSS
 * with the same N, and each supervisor's CPU while idle. Each repetition starts both fleets
 * fresh (runed first, then pm2), lets them settle, then samples both over the same idle window:
 * CPU from /proc/<pid>/stat (utime + stime) at its two ends, VmRSS (and the VmHWM peak) at its end.
 */
import { join } from 'node:path';
import { killTagged } from '../lib/cleanup.js';
import { settle, startPm2Fleet, startRunedFleet, type Pm2Fleet, type RunedFleet } from '../lib/fleet.js';
import { childrenOf, commOf, cpuSeconds, vmKb } from '../lib/proc.js';
import { repeat } from '../lib/repeat.js';
import type { Scenario } from '../lib/scenario.js';
import { median } from '../lib/stats.js';
import { sleep } from '../lib/wait.js';

const MB = 1024;

export const supervisionMemory: Scenario = {
  name: 'supervision-memory',
  title: 'supervision memory',
  issue: 6,
  async run(ctx) {
    const quick = ctx.mode === 'quick';
    const n = quick ? 50 : 500;
    const settleMs = quick ? 500 : 2_000;
    const windowMs = quick ? 2_000 : 5_000;
    const rss = { runed: [] as number[], pm2: [] as number[] };
    const peak = { runed: [] as number[], pm2: [] as number[] };
    const cpu = { runed: [] as number[], pm2: [] as number[] };
    const helperRss: number[] = [];
    const retried = await repeat(ctx, async (rep, attempt) => {
      const id = `r${rep}.${attempt}`;
      const tag = `${ctx.tag}/${id}`;
      let runed: RunedFleet | undefined;
      let pm2: Pm2Fleet | undefined;
      try {
        runed = await startRunedFleet({ tag: `${tag}/runed`, dir: join(ctx.dir, `${id}-runed`), n, timeoutMs: 90_000, cpuProfileDir: ctx.cpuProfileDir });
        pm2 = await startPm2Fleet({ tag: `${tag}/pm2`, dir: join(ctx.dir, `${id}-pm2`), n, timeoutMs: 90_000 });
        await settle(settleMs);
        const runedPid = runed.runed.pid;
        const pm2Pid = pm2.pm2.daemonPid;
        const c0 = { runed: cpuSeconds(runedPid), pm2: cpuSeconds(pm2Pid), at: performance.now() };
        await sleep(windowMs);
        const c1 = { runed: cpuSeconds(runedPid), pm2: cpuSeconds(pm2Pid), at: performance.now() };
        // runed's own Node children (its spawner helper) count as runed: the workloads are `sleep`.
        // Their private memory (RssAnon) is added; their file pages are the node binary runed
        // already maps, which summing two VmRSS would count twice.
        const helpers = childrenOf(runedPid).filter((pid) => commOf(pid) === 'node');
        const helpersKb = helpers.reduce((sum, pid) => sum + (vmKb(pid, 'RssAnon') ?? 0), 0);
        const runedOwn = vmKb(runedPid, 'VmRSS');
        const end = { runedRss: runedOwn === undefined ? undefined : runedOwn + helpersKb, pm2Rss: vmKb(pm2Pid, 'VmRSS'), runedPeak: vmKb(runedPid, 'VmHWM'), pm2Peak: vmKb(pm2Pid, 'VmHWM') };
        helperRss.push(helpersKb / MB);
        if (c0.runed === undefined || c1.runed === undefined || end.runedRss === undefined || end.runedPeak === undefined) throw new Error(`runed (pid ${runedPid}) died during the idle window; its log: ${runed.runed.logPath}`);
        if (c0.pm2 === undefined || c1.pm2 === undefined || end.pm2Rss === undefined || end.pm2Peak === undefined) throw new Error(`the pm2 daemon (pid ${pm2Pid}) died during the idle window; its log: ${pm2.pm2.home}/pm2.log`);
        if (runed.tracker.running !== n) throw new Error(`runed reports ${runed.tracker.running} running instances after the idle window, expected ${n}`);
        const seconds = (c1.at - c0.at) / 1000;
        cpu.runed.push(((c1.runed - c0.runed) / seconds) * 100);
        cpu.pm2.push(((c1.pm2 - c0.pm2) / seconds) * 100);
        rss.runed.push(end.runedRss / MB);
        rss.pm2.push(end.pm2Rss / MB);
        peak.runed.push(end.runedPeak / MB);
        peak.pm2.push(end.pm2Peak / MB);
        ctx.log(`rep ${rep + 1}/${ctx.reps} N=${n}: RSS runed ${rss.runed.at(-1)!.toFixed(1)} MB, pm2 ${rss.pm2.at(-1)!.toFixed(1)} MB; CPU runed ${cpu.runed.at(-1)!.toFixed(2)}%, pm2 ${cpu.pm2.at(-1)!.toFixed(2)}%`);
      } finally {
        await runed?.stop();
        await pm2?.stop();
        await killTagged(tag);
      }
    });
    return {
      figures: [
        { label: `RSS with ${n} idle instances`, unit: 'MB', runed: rss.runed, reference: { name: 'pm2 daemon', samples: rss.pm2 }, goal: { maxRatio: 0.5, text: '≤ 0.5× pm2' } },
        { label: `CPU over ${windowMs / 1000} s idle, ${n} instances`, unit: '%', runed: cpu.runed, reference: { name: 'pm2 daemon', samples: cpu.pm2 } },
      ],
      notes: [
        `Supervision memory: both fleets of ${n} \`sleep 300\` run at once (started one after the other), settle ${settleMs / 1000} s, then one ${windowMs / 1000} s idle window: CPU% = (utime + stime) delta from /proc/<pid>/stat over the window (100% = one core); RSS = VmRSS from /proc/<pid>/status at its end; runed's figure is runed's VmRSS plus the private memory (RssAnon) of its spawner helper, a small Node child that forks workloads (median ${median(helperRss).toFixed(1)} MB; its file-backed pages are the node binary runed already maps). pm2: the daemon process (PM2 God) only.`,
      ],
      retried,
      details: { peakRssMb: { runed: peak.runed, pm2: peak.pm2, medianRuned: median(peak.runed), medianPm2: median(peak.pm2) }, rssMb: rss, cpuPercent: cpu },
    };
  },
};
