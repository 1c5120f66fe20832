/**
 * A fleet: N copies of one process under a supervisor, started and timed the same way for runed
 * and for pm2. Scenarios 5–7 all begin with one.
 *
 * - runed: a fresh runed is serving; the harness opens WatchInstances from the namespace's
 *   current revision, then the clock starts just before CastService and stops at the watch
 *   message after which all N instances are running with live PIDs.
 * - pm2: a fresh daemon is running (`pm2 ping`); the harness is subscribed to its event bus; the
 *   clock starts just before `pm2 start ecosystem.config.cjs` and stops at the N-th app
 *   process's 'online' event; the daemon's list then confirms all N online with live PIDs.
 *
 * Neither side's time includes starting its daemon; `coldMs` adds it (runed: spawn → serving;
 * pm2: `pm2 ping` on a fresh PM2_HOME, which spawns the daemon and waits for its answer).
 */
import { mkdirSync } from 'node:fs';
import { InstanceTracker } from './instance-tracker.js';
import { launchPm2, type Pm2UnderTest } from './pm2-launcher.js';
import { alive, cpuSeconds } from './proc.js';
import { launchRuned, type RunedUnderTest } from './runed-launcher.js';
import { sleep, waitFor, withTimeout } from './wait.js';

export const FLEET_COMMAND = { command: 'sleep', args: ['300'] } as const;
const NAMESPACE = 'bench';
const APP = 'sleep';

export interface FleetOptions {
  tag: string;
  /** A fresh dir for this fleet's supervisor (data dir, PM2_HOME, logs). */
  dir: string;
  n: number;
  /** Bound on reaching all-running. */
  timeoutMs: number;
  cpuProfileDir?: string;
}

export interface RunedFleet {
  runed: RunedUnderTest;
  tracker: InstanceTracker;
  /** CastService → all N running, ms. */
  ms: number;
  /** runed's start (spawn → serving) + ms. */
  coldMs: number;
  /** CPU the harness used while timing (ms): shows whether the measuring client could be the bottleneck. */
  clientCpuMs: number;
  /** CPU runed used while timing (ms), from /proc. */
  runedCpuMs: number;
  /** Instance name → PID. */
  pids: Map<string, number>;
  stop(): Promise<void>;
}

export async function startRunedFleet(options: FleetOptions): Promise<RunedFleet> {
  mkdirSync(options.dir, { recursive: true });
  const runed = await launchRuned({ tag: options.tag, dir: options.dir, cpuProfileDir: options.cpuProfileDir });
  let tracker: InstanceTracker | undefined;
  try {
    await runed.createNamespace(NAMESPACE);
    const { revision } = await runed.listInstances(NAMESPACE);
    tracker = new InstanceTracker(runed.watchInstances(NAMESPACE, revision));
    const t = tracker;
    const cpu0 = process.cpuUsage();
    const runedCpu0 = cpuSeconds(runed.pid) ?? 0;
    const t0 = performance.now();
    await runed.castService({ namespace: NAMESPACE, name: APP, ...FLEET_COMMAND, args: [...FLEET_COMMAND.args], scale: options.n });
    const t1 = await t.until(`${options.n} runed instances running`, () => t.running >= options.n, options.timeoutMs);
    const cpu = process.cpuUsage(cpu0);
    const runedCpuMs = ((cpuSeconds(runed.pid) ?? runedCpu0) - runedCpu0) * 1000;
    // Check what runed claims against the list and /proc once more.
    const { instances } = await runed.listInstances(NAMESPACE);
    const pids = new Map<string, number>();
    for (const instance of instances) {
      if (instance.status && alive(instance.status.pid)) pids.set(instance.metadata!.name, instance.status.pid);
    }
    if (pids.size !== options.n) throw new Error(`runed lists ${pids.size} live instances, expected ${options.n}`);
    const ms = t1 - t0;
    return {
      runed,
      tracker: t,
      ms,
      coldMs: runed.startMs + ms,
      clientCpuMs: (cpu.user + cpu.system) / 1000,
      runedCpuMs,
      pids,
      stop: async () => {
        t.close();
        await runed.stop();
      },
    };
  } catch (err) {
    tracker?.close();
    await runed.stop();
    throw err;
  }
}

export interface Pm2Fleet {
  pm2: Pm2UnderTest;
  /** `pm2 start` invoked → the N-th 'online' event, ms. */
  ms: number;
  /** Daemon start (`pm2 ping` on a fresh home) + ms. */
  coldMs: number;
  /** `pm2 start` invoked → the CLI exited, ms. */
  cliMs: number;
  /** pm_id → PID. */
  pids: Map<number, number>;
  /**
   * Resolves with performance.now() at the first 'online' event of `pmId` with a restart count
   * above `restartsAbove` (the harness's view of "pm2 restarted it").
   */
  waitRestarted(pmId: number, restartsAbove: number, timeoutMs: number): Promise<number>;
  stop(): Promise<void>;
}

export async function startPm2Fleet(options: FleetOptions): Promise<Pm2Fleet> {
  mkdirSync(options.dir, { recursive: true });
  const pm2 = await launchPm2({ tag: options.tag, dir: options.dir, timeoutMs: options.timeoutMs });
  try {
    const latest = new Map<number, { restartTime: number; at: number }>();
    let waiters: { check: () => boolean; resolve: (at: number) => void }[] = [];
    await pm2.onOnline((event) => {
      if (event.name !== APP) return;
      latest.set(event.pmId, { restartTime: event.restartTime, at: event.at });
      waiters = waiters.filter((w) => (w.check() ? (w.resolve(event.at), false) : true));
    });
    const until = (what: string, check: () => boolean, timeoutMs: number) =>
      check() ? Promise.resolve(performance.now()) : withTimeout(what, new Promise<number>((resolve) => waiters.push({ check, resolve })), timeoutMs);

    const t0 = performance.now();
    const allOnline = until(`${options.n} pm2 processes online`, () => latest.size >= options.n, options.timeoutMs);
    const { cliMs } = await pm2.startEcosystem({ name: APP, ...FLEET_COMMAND, args: [...FLEET_COMMAND.args], instances: options.n });
    let t1 = await allOnline;
    // Confirm with the daemon's own list (what `pm2 jlist` prints) and /proc; if the list lags
    // behind the bus, the time is when the list agrees.
    let attempts = 0;
    const pids = await waitFor('pm2 to list every process online with a live PID', async () => {
      attempts++;
      const list = (await pm2.list()).filter((p) => p.name === APP);
      const ok = list.length === options.n && list.every((p) => p.status === 'online' && alive(p.pid));
      return ok ? new Map(list.map((p) => [p.pmId, p.pid])) : undefined;
    }, { timeoutMs: options.timeoutMs, everyMs: 100 });
    if (attempts > 1) t1 = performance.now();
    const ms = t1 - t0;
    return {
      pm2,
      ms,
      coldMs: pm2.daemonStartMs + ms,
      cliMs,
      pids,
      waitRestarted: (pmId, restartsAbove, timeoutMs) =>
        until(`pm2 to restart process ${pmId}`, () => (latest.get(pmId)?.restartTime ?? -1) > restartsAbove, timeoutMs),
      stop: () => pm2.stop(),
    };
  } catch (err) {
    await pm2.stop();
    throw err;
  }
}

/** Lets a fleet that just reached all-running finish what follows a start (status writes, GC). */
export async function settle(ms: number): Promise<void> {
  await sleep(ms);
}
