/**
 * Scenario 2: point reads. runed's GetService against etcd's serializable Range of one key (the
 * same service's bytes), at 1 and 64 calls in flight, same driver processes. Goal: ≥ 1.0×
 * etcd's throughput.
 *
 * Serializable, because runed answers from its local store without a consensus round; a
 * single-member etcd's serializable read is the like-for-like.
 */
import type { Figure, Scenario, ScenarioContext } from '../lib/scenario.js';
import { benchService, castBody, checkRun, driverNote, getBody, measureLevels, putBody, rangeBody, startSides } from '../lib/store-sides.js';
import { ETCD, RUNED } from '../lib/wire.js';

const NAMESPACE = 'reads';
const OBJECTS = 100;
const DRIVERS = 2;

export const pointReads: Scenario = {
  name: 'point-reads',
  title: 'point reads — get service vs etcd serializable Range',
  issue: 2,
  async run(ctx: ScenarioContext) {
    const quick = ctx.mode === 'quick';
    const calls: Record<number, number> = quick ? { 1: 300, 64: 3000 } : { 1: 1000, 64: 6000 };
    const sides = await startSides(ctx, { drivers: DRIVERS, namespaces: [NAMESPACE] });
    const { runed, etcd, pool } = sides;
    try {
      const services = Array.from({ length: OBJECTS }, (_, k) => benchService(NAMESPACE, `s${k}`, 0));
      const seed = { calls: OBJECTS, concurrency: 8, timeoutMs: 60_000 };
      checkRun('runed seed', await pool.unary({ ...seed, target: runed.grpcAddr, path: RUNED.cast, metadata: sides.runedMd, bodies: services.map(castBody) }));
      checkRun('etcd seed', await pool.unary({ ...seed, target: etcd.clientAddr, path: ETCD.put, bodies: services.map(putBody) }));
      const names = services.map((s) => s.metadata!.name);
      const runOf = (side: 'runed' | 'etcd', concurrency: number, n: number) =>
        pool.unary({
          target: side === 'runed' ? runed.grpcAddr : etcd.clientAddr,
          path: side === 'runed' ? RUNED.get : ETCD.range,
          metadata: side === 'runed' ? sides.runedMd : [],
          bodies: names.map((name) => (side === 'runed' ? getBody(NAMESPACE, name) : rangeBody(NAMESPACE, name))),
          calls: n,
          concurrency,
          timeoutMs: 120_000,
        });
      for (const side of ['runed', 'etcd'] as const) checkRun(side, await runOf(side, 64, 2000)); // warm-up
      const { samples, retried } = await measureLevels(ctx, sides, calls, runOf);
      const figures: Figure[] = [];
      for (const [c, s] of samples) figures.push(...s.figures(`${c} in flight`, { throughput: { maxRatio: 1, text: '≥ 1.0× etcd throughput' } }));
      return {
        figures,
        retried,
        notes: [
          `Point reads: GetService of one of ${OBJECTS} scale-0 services vs etcd serializable Range of one of ${OBJECTS} keys holding the same bytes; ${Object.entries(calls).map(([c, n]) => `${n} calls at ${c} in flight`).join(', ')} per side per repetition, after 2,000 warm-up calls per side.`,
          driverNote(pool, samples),
        ],
        details: Object.fromEntries([...samples].map(([c, s]) => [`inFlight${c}`, s.details()])),
      };
    } finally {
      await sides.stop();
    }
  },
};
