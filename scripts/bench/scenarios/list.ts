/**
 * Scenario 3: list. runed's ListServices, one page of 100 out of 10,000 services in one
 * namespace, against etcd's prefix Range with limit 100 over 10,000 keys holding the same bytes
 * (serializable, like runed's local read). Goals: ≥ 1.0× etcd, and under 5 ms server time —
 * taken from runed's own histogram (lib/runed-metrics.ts) over the calls at 1 in flight.
 *
 * The lists measured are the entries of LIST_CASES. Issue 7's "runs list page of 100 of 10,000
 * runs" is measured in run-events.ts, which seeds the runs into the store before runed starts.
 */
import { Service } from '../../../shared/gen/rune/v1/service.js';
import { repeat } from '../lib/repeat.js';
import { meanMs, readRpcHistogram, waitControllersIdle } from '../lib/runed-metrics.js';
import type { Figure, Scenario, ScenarioContext } from '../lib/scenario.js';
import { benchService, castBody, checkRun, driverNote, etcdKey, LevelSamples, listBody, putBody, startSides, withCpu, type Sides } from '../lib/store-sides.js';
import { etcdRange, ETCD, RUNED } from '../lib/wire.js';

const DRIVERS = 2;
const PAGE = 100;

/** One list to measure: how to seed `count` objects on both sides and the two page requests. */
interface ListCase {
  /** Row label prefix, e.g. "services". */
  what: string;
  /** runed's gRPC path of the list call (and of its histogram). */
  runedPath: string;
  seed(sides: Sides, count: number): Promise<void>;
  runedPage: Uint8Array;
  etcdPage: Uint8Array;
}

const SERVICES_NS = 'list';

const servicesCase: ListCase = {
  what: 'services',
  runedPath: RUNED.list,
  seed: async (sides, count) => {
    const services = Array.from({ length: count }, (_, k) => benchService(SERVICES_NS, `s${String(k).padStart(5, '0')}`, 0));
    const seed = { calls: count, concurrency: 256, timeoutMs: 120_000 };
    checkRun('runed seed', await sides.pool.unary({ ...seed, target: sides.runed.grpcAddr, path: RUNED.cast, metadata: sides.runedMd, bodies: services.map(castBody) }));
    checkRun('etcd seed', await sides.pool.unary({ ...seed, target: sides.etcd.clientAddr, path: ETCD.put, bodies: services.map(putBody) }));
  },
  runedPage: listBody(SERVICES_NS, PAGE),
  etcdPage: etcdRange({ key: etcdKey(SERVICES_NS, ''), prefix: true, limit: PAGE, serializable: true }),
};

/** The lists measured (runs: see run-events.ts). */
const LIST_CASES: ListCase[] = [servicesCase];

export const list: Scenario = {
  name: 'list',
  title: 'list — page of 100 of 10,000 vs etcd prefix Range',
  issue: 3,
  async run(ctx: ScenarioContext) {
    const quick = ctx.mode === 'quick';
    const count = 10_000;
    const levels = [1, 16];
    const calls: Record<number, number> = quick ? { 1: 100, 16: 400 } : { 1: 300, 16: 1500 };
    const sides = await startSides(ctx, { drivers: DRIVERS, namespaces: [SERVICES_NS] });
    const { runed, etcd, pool } = sides;
    try {
      const figures: Figure[] = [];
      const details: Record<string, unknown> = {};
      const notes: string[] = [];
      let retried: string[] = [];
      for (const c of LIST_CASES) {
        const t0 = performance.now();
        await c.seed(sides, count);
        // The seed made runed's controllers reconcile every new object: let them finish first.
        const idleMs = await waitControllersIdle(runed.httpAddr, 120_000);
        ctx.log(`${c.what}: seeded ${count} on each side in ${((performance.now() - t0) / 1000).toFixed(1)} s (runed's controllers idle ${(idleMs / 1000).toFixed(1)} s after)`);
        const runOf = (side: 'runed' | 'etcd', concurrency: number, n: number) =>
          pool.unary({
            target: side === 'runed' ? runed.grpcAddr : etcd.clientAddr,
            path: side === 'runed' ? c.runedPath : ETCD.range,
            metadata: side === 'runed' ? sides.runedMd : [],
            bodies: [side === 'runed' ? c.runedPage : c.etcdPage],
            calls: n,
            concurrency,
            timeoutMs: 120_000,
          });
        // Warm-up, and a check that a page really holds PAGE items of the right size on both sides.
        for (const side of ['runed', 'etcd'] as const) checkRun(side, await runOf(side, 16, 300));
        const samples = new Map(levels.map((l) => [l, new LevelSamples()]));
        const serverMs: number[] = [];
        retried = retried.concat(await repeat(ctx, async (rep) => {
          const order = rep % 2 === 0 ? (['runed', 'etcd'] as const) : (['etcd', 'runed'] as const);
          const got: { l: number; side: 'runed' | 'etcd'; run: Awaited<ReturnType<typeof runOf>>; cpu: number }[] = [];
          let server = Number.NaN;
          for (const l of levels) {
            for (const side of order) {
              const before = side === 'runed' && l === 1 ? await readRpcHistogram(runed.httpAddr, c.runedPath) : undefined;
              const { value: run, cpu } = await withCpu(side === 'runed' ? runed.pid : etcd.pid, () => runOf(side, l, calls[l]!));
              if (before) server = meanMs(before, await readRpcHistogram(runed.httpAddr, c.runedPath));
              got.push({ l, side, run: checkRun(side, run), cpu });
            }
          }
          for (const g of got) samples.get(g.l)!.add(g.side, g.run, g.cpu);
          serverMs.push(server);
          ctx.log(`rep ${rep + 1}: 1 in flight: runed ${samples.get(1)!.runed.at(-1)!.p50.toFixed(2)} ms (server ${server.toFixed(2)}) / etcd ${samples.get(1)!.etcd.at(-1)!.p50.toFixed(2)} ms`);
        }));
        for (const [l, s] of samples) {
          const goal = { maxRatio: 1, text: '≥ 1.0× etcd' };
          figures.push(...s.figures(`${c.what}, ${l} in flight`, l === 1 ? { p50: goal } : { throughput: { maxRatio: 1, text: '≥ 1.0× etcd throughput' } }));
        }
        figures.push({ label: `${c.what}: runed server time per page (mean, its rune_grpc histogram, 1 in flight)`, unit: 'ms', runed: serverMs, goal: { maxMedian: 5, text: '< 5 ms server time' } });
        details[c.what] = { serverMs, ...Object.fromEntries([...samples].map(([l, s]) => [`inFlight${l}`, s.details()])) };
        notes.push(`List (${c.what}): one page of ${PAGE} of ${count.toLocaleString('en')} ${c.what} in one namespace (runed ${c.runedPath.split('/').pop()}, limit ${PAGE}; ${Service.encode(benchService(SERVICES_NS, 's00000', 0)).finish().length}-byte scale-0 services) vs etcd serializable prefix Range, limit ${PAGE}, over ${count.toLocaleString('en')} keys holding the same bytes; ${levels.map((l) => `${calls[l]} pages at ${l} in flight`).join(', ')} per side per repetition, once runed's controllers had reconciled the seed. Server time: the mean of runed's rune_grpc_request_duration_seconds for the method over the calls at 1 in flight (sum and count read from /metrics before and after).`);
        notes.push(driverNote(pool, samples));
      }
      return { figures, retried, notes, details };
    } finally {
      await sides.stop();
    }
  },
};
