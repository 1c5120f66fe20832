/**
 * Scenario 4: watch fan-out. One writer (this process) updates one object 10 times a second;
 * N watchers see each change. Measured per event: from just before the write call to the moment
 * the LAST of the N watchers received it (the write's own latency included, the same on both
 * sides). Layouts:
 *   (a) multiplexed: one connection, one stream, N watches on it — runed's WatchService.Watch
 *       (each event one message listing the matching watch ids) vs etcd's Watch with N watchers
 *       on one stream (one message per watcher per event);
 *   (b) one connection (and stream, one watch) each, the connections spread over the driver
 *       processes.
 * Receivers run in the driver processes (lib/driver-worker.ts), with a 16 MB flow-control
 * window, and report each event's last arrival on the harness's clock (offsets measured by IPC
 * round trips). Goals: (a) p99 ≤ 10 ms at 1,000 watchers; (b) ≥ 1.0× etcd (latency ≤ etcd's).
 */
import * as grpc from '@grpc/grpc-js';
import { CastServiceResponse } from '../../../shared/gen/rune/v1/service_service.js';
import { now } from '../lib/driver-pool.js';
import { repeat } from '../lib/repeat.js';
import type { Figure, Goal, Scenario, ScenarioContext } from '../lib/scenario.js';
import { median, p99 } from '../lib/stats.js';
import { benchService, castBody, etcdKey, putBody, round, startSides, type Sides } from '../lib/store-sides.js';
import { sleep } from '../lib/wait.js';
import { ETCD, etcdHeaderRevision, RUNED } from '../lib/wire.js';

const NAMESPACE = 'watch';
const NAME = 'w';
const DRIVERS = 4;
const EVENTS_PER_SECOND = 10;

interface Layout {
  layout: 'a' | 'b';
  watchers: number;
}

const identity = (value: Buffer) => value;
const toBuffer = (value: Uint8Array) => Buffer.from(value.buffer, value.byteOffset, value.byteLength);

/** The writer: one unary call on a channel of its own, per side; returns the written revision. */
function writer(sides: Sides) {
  const runedClient = new grpc.Client(sides.runed.grpcAddr, grpc.credentials.createInsecure());
  const etcdClient = new grpc.Client(sides.etcd.clientAddr, grpc.credentials.createInsecure());
  const md = new grpc.Metadata();
  md.set('authorization', `Bearer ${sides.runed.token}`);
  let version = 1;
  const call = (client: grpc.Client, path: string, body: Uint8Array, metadata: grpc.Metadata) =>
    new Promise<Buffer>((resolve, reject) => client.makeUnaryRequest(path, toBuffer, identity, body, metadata, (err, res) => (err ? reject(err) : resolve(res!))));
  return {
    write: async (side: 'runed' | 'etcd'): Promise<number> => {
      const service = benchService(NAMESPACE, NAME, version++);
      if (side === 'runed') return CastServiceResponse.decode(await call(runedClient, RUNED.cast, castBody(service), md)).service!.metadata!.resourceVersion;
      return etcdHeaderRevision(await call(etcdClient, ETCD.put, putBody(service), new grpc.Metadata()));
    },
    close: () => {
      runedClient.close();
      etcdClient.close();
    },
  };
}

export const watchFanout: Scenario = {
  name: 'watch-fanout',
  title: 'watch fan-out — write → last watcher',
  issue: 4,
  async run(ctx: ScenarioContext) {
    const quick = ctx.mode === 'quick';
    const layouts: Layout[] = quick
      ? [{ layout: 'a', watchers: 100 }, { layout: 'b', watchers: 100 }]
      : [{ layout: 'a', watchers: 1 }, { layout: 'a', watchers: 100 }, { layout: 'a', watchers: 1000 }, { layout: 'b', watchers: 100 }, { layout: 'b', watchers: 1000 }];
    const events = 10;
    const sides = await startSides(ctx, { drivers: DRIVERS, namespaces: [NAMESPACE] });
    const { runed, etcd, pool } = sides;
    const w = writer(sides);
    try {
      await w.write('runed'); // the object exists before anyone watches
      await w.write('etcd');
      const figures: Figure[] = [];
      const details: Record<string, unknown> = {};
      let retried: string[] = [];
      for (const { layout, watchers } of layouts) {
        const label = `(${layout}) ${watchers} watcher${watchers === 1 ? '' : 's'}, ${layout === 'a' ? 'one connection' : `one connection each, ${Math.min(DRIVERS, watchers)} processes`}`;
        const shape = layout === 'a' ? { connections: 1, watchesPerConnection: watchers, spread: 1 } : { connections: watchers, watchesPerConnection: 1, spread: DRIVERS };
        const t0 = performance.now();
        const groups = {
          runed: await pool.openWatches({ side: 'runed', target: runed.grpcAddr, metadata: sides.runedMd, kind: 'services', namespace: NAMESPACE, timeoutMs: 60_000, ...shape }),
          etcd: await pool.openWatches({ side: 'etcd', target: etcd.clientAddr, key: etcdKey(NAMESPACE, NAME), timeoutMs: 60_000, ...shape }),
        };
        ctx.log(`${label}: watches open on both sides in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
        const samples = { runed: { p50: [] as number[], p99: [] as number[], all: [] as number[] }, etcd: { p50: [] as number[], p99: [] as number[], all: [] as number[] } };
        const acks = { runed: [] as number[], etcd: [] as number[] };
        try {
          retried = retried.concat(await repeat(ctx, async (rep) => {
            const got: Partial<Record<'runed' | 'etcd', number[]>> = {};
            for (const side of rep % 2 === 0 ? (['runed', 'etcd'] as const) : (['etcd', 'runed'] as const)) {
              const writes: { revision: number; before: number }[] = [];
              const start = performance.now();
              for (let i = 0; i < events; i++) {
                await sleep(Math.max(0, start + (i * 1000) / EVENTS_PER_SECOND - performance.now()));
                const before = now();
                const revision = await w.write(side);
                acks[side].push(now() - before);
                writes.push({ revision, before });
              }
              await groups[side].waitFor(writes.map((x) => x.revision), 15_000);
              got[side] = writes.map((x) => groups[side].lastArrival(x.revision)! - x.before);
            }
            for (const side of ['runed', 'etcd'] as const) {
              samples[side].p50.push(median(got[side]!));
              samples[side].p99.push(p99(got[side]!));
              samples[side].all.push(...got[side]!);
            }
            ctx.log(`${label}, rep ${rep + 1}: runed ${median(got.runed!).toFixed(1)} / p99 ${p99(got.runed!).toFixed(1)} ms, etcd ${median(got.etcd!).toFixed(1)} / p99 ${p99(got.etcd!).toFixed(1)} ms`);
          }));
        } finally {
          await groups.runed.close();
          await groups.etcd.close();
        }
        const goals: { p50?: Goal; p99?: Goal } =
          layout === 'b' ? { p50: { maxRatio: 1, text: '≥ 1.0× etcd' }, p99: { maxRatio: 1, text: '≥ 1.0× etcd' } } : watchers === 1000 ? { p99: { maxMedian: 10, text: 'p99 ≤ 10 ms' } } : {};
        figures.push({ label: `${label}: median to the last watcher`, unit: 'ms', runed: samples.runed.p50, reference: { name: 'etcd', samples: samples.etcd.p50 }, ...(goals.p50 ? { goal: goals.p50 } : {}) });
        figures.push({ label: `${label}: p99 to the last watcher (per repetition of ${events} events)`, unit: 'ms', runed: samples.runed.p99, reference: { name: 'etcd', samples: samples.etcd.p99 }, ...(goals.p99 ? { goal: goals.p99 } : {}) });
        details[`${layout}-${watchers}`] = {
          pooled: { runed: { p50: round(median(samples.runed.all)), p99: round(p99(samples.runed.all)), events: samples.runed.all.length }, etcd: { p50: round(median(samples.etcd.all)), p99: round(p99(samples.etcd.all)), events: samples.etcd.all.length } },
          writeAckMs: { runed: round(median(acks.runed)), etcd: round(median(acks.etcd)) },
        };
      }
      return {
        figures,
        retried,
        details,
        notes: [
          `Watch fan-out: one writer (the harness) updates one object ${EVENTS_PER_SECOND} times a second, ${events} events per side per repetition (runed: CastService of a scale-0 service, watched as kind services in its namespace; etcd: Put of one key, watched by key); each figure is from just before the write call to the moment the last watcher received the event (so it includes the durable write: runed's group commit, etcd's raft + fsync). p99 per repetition is over ${events} events (their maximum); results.json has the p50/p99 pooled over all repetitions. Receivers run in ${DRIVERS} driver processes (layout (a): one of them), decode only revisions and watch ids, with a 16 MB flow-control window; their clocks are put on the harness's by IPC round trips.`,
        ],
      };
    } finally {
      w.close();
      await sides.stop();
    }
  },
};
