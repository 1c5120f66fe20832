/**
 * Scenario 1: durable writes. runed's CastService (an update of an existing scale-0 service: a
 * label changes, so every call is a real, fsynced write) against etcd's Put of the same
 * service's bytes, at 1 / 16 / 64 / 256 calls in flight, driven by the same driver processes
 * (lib/driver-pool.ts). Goal: ≥ 1.0× etcd's throughput at 64 in flight, p99 not worse.
 *
 * Each in-flight slot has its own objects (no two calls in flight write the same object, so
 * runed's "retry on a concurrent write" never fires); the first pass over every body, before
 * measuring, creates them on both sides.
 */
import { Service } from '../../../shared/gen/rune/v1/service.js';
import type { Figure, Scenario, ScenarioContext } from '../lib/scenario.js';
import { benchService, castBody, checkRun, driverNote, measureLevels, putBody, startSides } from '../lib/store-sides.js';
import { RUNED, ETCD } from '../lib/wire.js';

const NAMESPACE = 'writes';
const DRIVERS = 2;
/** Objects per driver process: more than its share of the highest concurrency. */
const OBJECTS_PER_DRIVER = 160;

export const durableWrites: Scenario = {
  name: 'durable-writes',
  title: 'durable writes — cast service vs etcd Put',
  issue: 1,
  async run(ctx: ScenarioContext) {
    const quick = ctx.mode === 'quick';
    const calls: Record<number, number> = quick ? { 1: 150, 16: 600, 64: 1500, 256: 2000 } : { 1: 400, 16: 2000, 64: 3000, 256: 3000 };
    const sides = await startSides(ctx, { drivers: DRIVERS, namespaces: [NAMESPACE] });
    const { runed, etcd, pool } = sides;
    try {
      // Per driver: OBJECTS_PER_DRIVER services, two versions each, cycled so that a service's
      // consecutive writes alternate versions (every update changes it).
      const services = (w: number) => [0, 1].flatMap((v) => Array.from({ length: OBJECTS_PER_DRIVER }, (_, k) => benchService(NAMESPACE, `w${w}-${k}`, v)));
      const runedBodies = Array.from({ length: DRIVERS }, (_, w) => services(w).map(castBody));
      const etcdBodies = Array.from({ length: DRIVERS }, (_, w) => services(w).map(putBody));
      const valueBytes = Service.encode(services(0)[0]!).finish().length;
      const runOf = (side: 'runed' | 'etcd', concurrency: number, n: number) =>
        pool.unary({
          target: side === 'runed' ? runed.grpcAddr : etcd.clientAddr,
          path: side === 'runed' ? RUNED.cast : ETCD.put,
          metadata: side === 'runed' ? sides.runedMd : [],
          bodies: side === 'runed' ? runedBodies : etcdBodies,
          calls: n,
          concurrency,
          timeoutMs: 120_000,
        });
      // Create every object, then warm both paths (connections, JIT) at high concurrency.
      for (const side of ['runed', 'etcd'] as const) {
        checkRun(side, await runOf(side, DRIVERS, DRIVERS * OBJECTS_PER_DRIVER * 2));
        checkRun(side, await runOf(side, 64, 1000));
      }
      const { samples, retried } = await measureLevels(ctx, sides, calls, runOf);
      const figures: Figure[] = [];
      for (const [c, s] of samples) {
        const goals = c === 64 ? { throughput: { maxRatio: 1, text: '≥ 1.0× etcd throughput' }, p99: { maxRatio: 1, text: 'p99 ≤ etcd' } } : {};
        figures.push(...s.figures(`${c} in flight`, goals));
      }
      return {
        figures,
        retried,
        notes: [
          `Durable writes: CastService updates of existing scale-0 services in one namespace (a label changes each time: every call is a fsynced store write; runed with --rate-limit 0, orchestrator on) vs etcd 3.4 Put of the same service's ${valueBytes}-byte protobuf (single member, auto-compaction periodic 1 m). ${Object.entries(calls).map(([c, n]) => `${n} calls at ${c} in flight`).join(', ')} per side per repetition, sides alternating which goes first. Objects were created in a first pass, then warmed with 1,000 calls.`,
          driverNote(pool, samples),
        ],
        details: Object.fromEntries([...samples].map(([c, s]) => [`inFlight${c}`, s.details()])),
      };
    } finally {
      await sides.stop();
    }
  },
};
