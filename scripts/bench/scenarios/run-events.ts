/**
 * Run events and `runs list` (issue 6's benchmark; issue 7 rows 3 and 4 for runs), beside etcd
 * in the same run.
 *
 * 1. Event delivery: one writer (this process) starts a run 10 times a second (StartRun of a
 *    job running `/bin/true`); N subscribers see its `run:added` event. Measured per event: from
 *    just before the StartRun call to the moment the LAST of the N subscribers received it (the
 *    durable write included; subscribers filter on phase pending, so the run's later writes reach
 *    none of them), against etcd's Put of one key and its watchers, N = 1, 100, 1,000:
 *      (a) gRPC WatchRuns, N streams multiplexed on one connection (one driver process) — etcd:
 *          N watches on one Watch stream, its own way of multiplexing (as watch-fanout);
 *      (b) gRPC WatchRuns, one connection each, spread over the driver processes — etcd: one
 *          connection (stream, watch) each, the same spread;
 *      (c) the local event socket, one connection (subscription) each, same spread — against
 *          the etcd figures of (b).
 *    Each layout subscribes to a namespace of its own (with a job of its own), so the groups of
 *    one N stay open together and a write reaches only the group measured. Goals (issue 6):
 *    (a) p99 ≤ 10 ms at 1,000; (b), (c) ≥ 1.0× etcd (latency ≤ etcd's).
 * 2. `runs list`: ListRuns, a page of 100 (newest first) of 10,000 runs in one namespace, vs etcd
 *    serializable prefix Range, limit 100, over 10,000 keys holding the same bytes; plus runed's
 *    server time from its own histogram. Goals: ≥ 1.0× etcd, < 5 ms server time (issue 7 row 3;
 *    issue 6 asks < 10 ms).
 *
 * The 10,000 runs are seeded in this process straight into the store before runed starts (like
 * store-scale): finished runs of a mirrored source (`bench-cluster`), which no controller of
 * this runed acts on (history limits and orphan clean-up concern local runs only).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { Job, JobSpec } from '../../../shared/gen/rune/v1/job.js';
import { CastJobRequest } from '../../../shared/gen/rune/v1/job_service.js';
import { Namespace } from '../../../shared/gen/rune/v1/namespace.js';
import { Run } from '../../../shared/gen/rune/v1/run.js';
import { StartRunResponse } from '../../../shared/gen/rune/v1/run_service.js';
import { newMeta } from '../../../server/domain/objects.js';
import { newRunId } from '../../../server/domain/runs.js';
import { openLevelStore } from '../../../server/store/level-store.js';
import type { WriteOp } from '../../../server/store/store.js';
import { TAG_VARIABLE } from '../lib/cleanup.js';
import { now, type WatchGroup } from '../lib/driver-pool.js';
import { repeat } from '../lib/repeat.js';
import { meanMs, readRpcHistogram, waitControllersIdle } from '../lib/runed-metrics.js';
import { listRunsBody, RUNS, startRunBody } from '../lib/run-wire.js';
import type { Figure, Goal, Scenario, ScenarioContext } from '../lib/scenario.js';
import { median, p99 } from '../lib/stats.js';
import { checkRun, driverNote, LevelSamples, round, startSides, withCpu, type Sides } from '../lib/store-sides.js';
import { sleep, waitFor } from '../lib/wait.js';
import { ETCD, etcdHeaderRevision, etcdPut, etcdRange } from '../lib/wire.js';

/** Driver processes (fewer with --quick: each takes a second to start). */
const DRIVERS = { full: 4, quick: 2 } as const;
const EVENTS_PER_SECOND = 10;
const PAGE = 100;
/** Runs in the listed namespace (a smaller seed with --quick, to keep the smoke run short). */
const RUN_COUNT = { full: 10_000, quick: 1_000 } as const;
const LIST_NS = 'runs-list';
const MIRROR_SOURCE = 'bench-cluster';
const JOB = 'tick';
/** One namespace (and job) per layout, so a write reaches only the group measured. */
const LAYOUT_NS = { a: 'runs-a', b: 'runs-b', c: 'runs-c', m: 'runs-m' } as const;
type LayoutKey = keyof typeof LAYOUT_NS;
/**
 * What subscribers select: runs in phase pending, i.e. the run:added event of each StartRun.
 * Each run then also runs (/bin/true) and finishes, two more writes the subscribers' filter
 * drops in runed: they get one event per write, 10 a second, as etcd's watchers do.
 */
const SUBSCRIBED_PHASES = ['pending'];

const identity = (value: Buffer) => value;
const toBuffer = (value: Uint8Array) => Buffer.from(value.buffer, value.byteOffset, value.byteLength);

/** A finished run as runed would hold it, from a mirrored cluster (no controller here acts on it). */
function mirroredRun(namespace: string, at: number): Run {
  const started = new Date(at);
  const finished = new Date(at + 1500);
  return Run.fromPartial({
    metadata: newMeta(newRunId(at), namespace, { app: 'bench', team: 'data' }),
    spec: {
      job: 'nightly-export',
      source: MIRROR_SOURCE,
      trigger: 'schedule',
      scheduledAt: started,
      jobGeneration: 3,
      template: JobSpec.fromPartial({ runtime: 'process', command: '/usr/local/bin/export', args: ['--since', '24h', '--out', '/var/lib/export'], env: { MODE: 'full', REGION: 'eu-west' }, schedule: '0 2 * * *', concurrencyPolicy: 'Forbid' }),
      env: {},
    },
    status: {
      phase: 'finished',
      reason: 'Completed',
      message: 'exported 1204 rows',
      attempts: [{ number: 1, pid: 40_000 + (at % 20_000), processStartTime: 123_456, startedAt: started, finishedAt: finished, exitCode: 0, exitSignal: '', reason: 'Completed' }],
      currentTask: 'done',
      progress: { finished: 10, total: 10 },
      lastHeartbeat: finished,
      startedAt: started,
      finishedAt: finished,
      lastChange: 'finished',
    },
  });
}

/** Seeds the list namespace and `count` runs into a fresh store at `dataDir`; returns the runs' bytes for etcd. */
async function seedRuns(dataDir: string, count: number): Promise<{ ms: number; runs: { id: string; bytes: Uint8Array }[] }> {
  const t0 = performance.now();
  const store = await openLevelStore(join(dataDir, 'store'), { sync: false, compactEveryMs: 0, retainEvents: 1000, retainMs: 0 });
  const runs: { id: string; bytes: Uint8Array }[] = [];
  try {
    await store.commit([{ op: 'create', kind: 'namespaces', object: Namespace.fromPartial({ metadata: { name: LIST_NS } }) }]);
    const base = Date.now() - count * 60_000;
    for (let start = 0; start < count; start += 2_500) {
      const ops: WriteOp[] = [];
      for (let i = start; i < Math.min(count, start + 2_500); i++) ops.push({ op: 'create', kind: 'runs', object: mirroredRun(LIST_NS, base + i * 60_000) });
      const { objects } = await store.commit(ops);
      for (const object of objects) runs.push({ id: object!.metadata!.name, bytes: Run.encode(object as Run).finish() });
    }
    await store.compact();
  } finally {
    await store.close();
  }
  return { ms: performance.now() - t0, runs };
}

/** etcd's limit of operations in one Txn (--max-txn-ops, default 128). */
const TXN_OPS = 128;

/**
 * etcd TxnRequest { success = 2 { request_put = 2 PutRequest } }: `puts` (PutRequest bodies) in
 * one transaction, so seeding 10,000 keys takes ~80 calls rather than 10,000 fsyncs.
 */
function etcdTxnOfPuts(puts: Uint8Array[]): Uint8Array {
  const writer = new BinaryWriter();
  for (const put of puts) writer.uint32(18).fork().uint32(18).bytes(put).join();
  return writer.finish();
}

/** The writer: StartRun (runed) or Put (etcd) on channels of its own; returns the written revision. */
function writer(sides: Sides) {
  const runedClient = new grpc.Client(sides.runed.grpcAddr, grpc.credentials.createInsecure());
  const etcdClient = new grpc.Client(sides.etcd.clientAddr, grpc.credentials.createInsecure());
  const md = new grpc.Metadata();
  md.set('authorization', `Bearer ${sides.runed.token}`);
  const call = (client: grpc.Client, path: string, body: Uint8Array, metadata: grpc.Metadata) =>
    new Promise<Buffer>((resolve, reject) => client.makeUnaryRequest(path, toBuffer, identity, body, metadata, (err, res) => (err ? reject(err) : resolve(res!))));
  const starts = Object.fromEntries(Object.entries(LAYOUT_NS).map(([k, ns]) => [k, startRunBody(ns, JOB)])) as Record<LayoutKey, Uint8Array>;
  // etcd's value: the bytes of a run as StartRun creates it (about the same size).
  const value = Run.encode(mirroredRun('runs-a', Date.now())).finish();
  const puts = { a: etcdPut('/bench/runs/watch/a', value), b: etcdPut('/bench/runs/watch/b', value) };
  return {
    castJob: async (namespace: string, tag: string) => {
      const job = Job.fromPartial({
        metadata: { name: JOB, namespace },
        spec: { runtime: 'process', command: '/bin/true', env: { [TAG_VARIABLE]: tag }, successfulRunsHistoryLimit: 1000, failedRunsHistoryLimit: 1000 },
      });
      await call(runedClient, RUNS.castJob, CastJobRequest.encode({ job, dryRun: false }).finish(), md);
    },
    startRun: async (layout: LayoutKey): Promise<number> => StartRunResponse.decode(await call(runedClient, RUNS.start, starts[layout], md)).run!.metadata!.resourceVersion,
    put: async (layout: 'a' | 'b'): Promise<number> => etcdHeaderRevision(await call(etcdClient, ETCD.put, puts[layout], new grpc.Metadata())),
    close: () => {
      runedClient.close();
      etcdClient.close();
    },
  };
}

/** One thing measured at one N: a side's subscriber group and how to write what it sees. */
interface Channel {
  key: string;
  side: 'runed' | 'etcd';
  group: WatchGroup;
  write(): Promise<number>;
}

interface ChannelSamples {
  p50: number[];
  p99: number[];
  all: number[];
  acks: number[];
  /** Write → first subscriber, and first → last subscriber (the fan-out's spread), per event (runed only). */
  toFirst: number[];
  spread: number[];
  /** Per repetition: the median spread. */
  spreadP50: number[];
}

async function listPart(ctx: ScenarioContext, sides: Sides, etcdSeed: { id: string; bytes: Uint8Array }[]): Promise<{ figures: Figure[]; notes: string[]; details: Record<string, unknown>; retried: string[] }> {
  const quick = ctx.mode === 'quick';
  const { runed, etcd, pool } = sides;
  const t0 = performance.now();
  const key = (id: string) => `/bench/runs/${LIST_NS}/${id}`;
  const txns: Uint8Array[] = [];
  for (let i = 0; i < etcdSeed.length; i += TXN_OPS) txns.push(etcdTxnOfPuts(etcdSeed.slice(i, i + TXN_OPS).map((r) => etcdPut(key(r.id), r.bytes))));
  checkRun('etcd seed', await pool.unary({ target: etcd.clientAddr, path: '/etcdserverpb.KV/Txn', bodies: txns, calls: txns.length, concurrency: 8, timeoutMs: 120_000 }));
  ctx.log(`etcd: seeded ${etcdSeed.length} keys in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const levels = [1, 16];
  const calls: Record<number, number> = quick ? { 1: 100, 16: 200 } : { 1: 200, 16: 500 };
  const runedPage = listRunsBody(LIST_NS, PAGE);
  const etcdPage = etcdRange({ key: key(''), prefix: true, limit: PAGE, serializable: true });
  const runOf = (side: 'runed' | 'etcd', concurrency: number, n: number) =>
    pool.unary({
      target: side === 'runed' ? runed.grpcAddr : etcd.clientAddr,
      path: side === 'runed' ? RUNS.list : ETCD.range,
      metadata: side === 'runed' ? sides.runedMd : [],
      bodies: [side === 'runed' ? runedPage : etcdPage],
      calls: n,
      concurrency,
      timeoutMs: 120_000,
    });
  for (const side of ['runed', 'etcd'] as const) checkRun(side, await runOf(side, 16, quick ? 100 : 300)); // warm-up
  const samples = new Map(levels.map((l) => [l, new LevelSamples()]));
  const serverMs: number[] = [];
  const retried = await repeat(ctx, async (rep) => {
    const order = rep % 2 === 0 ? (['runed', 'etcd'] as const) : (['etcd', 'runed'] as const);
    const got: { l: number; side: 'runed' | 'etcd'; run: Awaited<ReturnType<typeof runOf>>; cpu: number }[] = [];
    let server = Number.NaN;
    for (const l of levels) {
      for (const side of order) {
        const before = side === 'runed' && l === 1 ? await readRpcHistogram(runed.httpAddr, RUNS.list) : undefined;
        const { value: run, cpu } = await withCpu(side === 'runed' ? runed.pid : etcd.pid, () => runOf(side, l, calls[l]!));
        if (before) server = meanMs(before, await readRpcHistogram(runed.httpAddr, RUNS.list));
        got.push({ l, side, run: checkRun(side, run), cpu });
      }
    }
    for (const g of got) samples.get(g.l)!.add(g.side, g.run, g.cpu);
    serverMs.push(server);
    ctx.log(`runs list, rep ${rep + 1}: 1 in flight: runed ${samples.get(1)!.runed.at(-1)!.p50.toFixed(2)} ms (server ${server.toFixed(2)}) / etcd ${samples.get(1)!.etcd.at(-1)!.p50.toFixed(2)} ms`);
  });
  const figures: Figure[] = [];
  for (const [l, s] of samples) {
    const goal = { maxRatio: 1, text: '≥ 1.0× etcd' };
    figures.push(...s.figures(`runs list, page of ${PAGE} of ${etcdSeed.length.toLocaleString('en')}, ${l} in flight`, l === 1 ? { p50: goal } : { throughput: { maxRatio: 1, text: '≥ 1.0× etcd throughput' } }));
  }
  figures.push({ label: 'runs list: runed server time per page (mean, its rune_grpc histogram, 1 in flight)', unit: 'ms', runed: serverMs, goal: { maxMedian: 5, text: '< 5 ms server time' } });
  const runBytes = median(etcdSeed.map((r) => r.bytes.length));
  return {
    figures,
    retried,
    details: { serverMs: serverMs.map((v) => round(v, 3)), runBytes, ...Object.fromEntries([...samples].map(([l, s]) => [`inFlight${l}`, s.details()])) },
    notes: [
      `Runs list: ListRuns, one page of ${PAGE} (newest first: a reverse read of the namespace's keys) of ${etcdSeed.length.toLocaleString('en')} finished runs (${runBytes}-byte encoded runs of a mirrored source, seeded into the store before runed started) vs etcd serializable prefix Range, limit ${PAGE} (key order), over ${etcdSeed.length.toLocaleString('en')} keys holding the same bytes; ${levels.map((l) => `${calls[l]} pages at ${l} in flight`).join(', ')} per side per repetition. Server time: the mean of runed's rune_grpc_request_duration_seconds for ListRuns over the calls at 1 in flight.`,
      driverNote(pool, samples),
    ],
  };
}

export const runEvents: Scenario = {
  name: 'run-events',
  title: 'run events (issue 6)',
  async run(ctx: ScenarioContext) {
    const quick = ctx.mode === 'quick';
    const levels = quick ? [100] : [1, 100, 1000];
    const events = quick ? 5 : 6;
    const seeded = await seedRuns(join(ctx.dir, 'runed', 'data'), RUN_COUNT[ctx.mode]);
    ctx.log(`seeded ${RUN_COUNT[ctx.mode]} runs into runed's store in ${(seeded.ms / 1000).toFixed(1)} s`);
    const drivers = DRIVERS[ctx.mode];
    const sides = await startSides(ctx, { drivers, namespaces: Object.values(LAYOUT_NS) });
    const { runed, etcd, pool } = sides;
    const w = writer(sides);
    try {
      const socketPath = join(runed.dataDir, 'runed.sock');
      await waitFor('the event socket', () => existsSync(socketPath), { timeoutMs: 10_000 });
      for (const ns of Object.values(LAYOUT_NS)) await w.castJob(ns, `${ctx.tag}/runs`);
      // The jobs' first runs (a job without a schedule runs once when cast) end before anything is measured.
      await sleep(500);
      await waitControllersIdle(runed.httpAddr, 30_000);

      const list = await listPart(ctx, sides, seeded.runs);
      const figures: Figure[] = [...list.figures];
      const details: Record<string, unknown> = { list: list.details };
      let retried = list.retried;

      for (const n of levels) {
        const t0 = performance.now();
        const open: WatchGroup[] = [];
        const channels: Channel[] = [];
        const add = async (key: string, side: 'runed' | 'etcd', opening: Promise<WatchGroup>, write: () => Promise<number>) => {
          const group = await opening;
          open.push(group);
          channels.push({ key, side, group, write });
        };
        const spread = { spread: drivers };
        try {
          await add('runed-a', 'runed', pool.openRunWatches({ transport: 'grpc', target: runed.grpcAddr, metadata: sides.runedMd, connections: 1, streamsPerConnection: n, namespace: LAYOUT_NS.a, status: SUBSCRIBED_PHASES, timeoutMs: 60_000, spread: 1 }), () => w.startRun('a'));
          await add('etcd-a', 'etcd', pool.openWatches({ side: 'etcd', target: etcd.clientAddr, key: '/bench/runs/watch/a', connections: 1, watchesPerConnection: n, timeoutMs: 60_000, spread: 1 }), () => w.put('a'));
          if (n > 1) {
            await add('runed-b', 'runed', pool.openRunWatches({ transport: 'grpc', target: runed.grpcAddr, metadata: sides.runedMd, connections: n, streamsPerConnection: 1, namespace: LAYOUT_NS.b, status: SUBSCRIBED_PHASES, timeoutMs: 60_000, ...spread }), () => w.startRun('b'));
            await add('etcd-b', 'etcd', pool.openWatches({ side: 'etcd', target: etcd.clientAddr, key: '/bench/runs/watch/b', connections: n, watchesPerConnection: 1, timeoutMs: 60_000, ...spread }), () => w.put('b'));
          }
          await add('runed-c', 'runed', pool.openRunWatches({ transport: 'socket', target: socketPath, connections: n, streamsPerConnection: 1, namespace: LAYOUT_NS.c, status: SUBSCRIBED_PHASES, timeoutMs: 60_000, ...spread }), () => w.startRun('c'));
          // (m) runed's own multiplexing: N watches of kind runs on ONE WatchService.Watch stream,
          // each event one message listing the matching watch ids (no status filter there, so
          // each run's three writes reach every watch; the StartRun's revision is what is timed).
          if (n > 1) await add('runed-m', 'runed', pool.openWatches({ side: 'runed', target: runed.grpcAddr, metadata: sides.runedMd, kind: 'runs', namespace: LAYOUT_NS.m, connections: 1, watchesPerConnection: n, timeoutMs: 60_000, spread: 1 }), () => w.startRun('m'));
          ctx.log(`N=${n}: ${channels.length} subscriber groups open in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

          const measure = async (channel: Channel, count: number) => {
            const writes: { revision: number; before: number; ack: number }[] = [];
            const start = performance.now();
            for (let i = 0; i < count; i++) {
              await sleep(Math.max(0, start + (i * 1000) / EVENTS_PER_SECOND - performance.now()));
              const before = now();
              const revision = await channel.write();
              writes.push({ revision, before, ack: now() - before });
            }
            await channel.group.waitFor(writes.map((x) => x.revision), 15_000);
            const first = (x: { revision: number; before: number }) => channel.group.firstArrival?.(x.revision) ?? Number.NaN;
            return {
              latencies: writes.map((x) => channel.group.lastArrival(x.revision)! - x.before),
              acks: writes.map((x) => x.ack),
              toFirst: writes.map((x) => first(x) - x.before),
              spread: writes.map((x) => channel.group.lastArrival(x.revision)! - first(x)),
            };
          };
          // Warm-up: a few events through every group (connections, JIT, the jobs' runners).
          for (const channel of channels) await measure(channel, 2);

          const samples = new Map<string, ChannelSamples>(channels.map((c) => [c.key, { p50: [], p99: [], all: [], acks: [], toFirst: [], spread: [], spreadP50: [] }]));
          retried = retried.concat(await repeat(ctx, async (rep) => {
            const got = new Map<string, Awaited<ReturnType<typeof measure>>>();
            for (const channel of rep % 2 === 0 ? channels : [...channels].reverse()) got.set(channel.key, await measure(channel, events));
            for (const [key, g] of got) {
              const s = samples.get(key)!;
              s.p50.push(median(g.latencies));
              s.p99.push(p99(g.latencies));
              s.all.push(...g.latencies);
              s.acks.push(...g.acks);
              s.toFirst.push(...g.toFirst);
              s.spread.push(...g.spread);
              s.spreadP50.push(median(g.spread));
            }
            ctx.log(`N=${n}, rep ${rep + 1}: ${[...got].map(([key, g]) => `${key} ${median(g.latencies).toFixed(1)} / p99 ${p99(g.latencies).toFixed(1)} ms`).join(', ')}`);
          }));

          const rows: { label: string; runed: string; etcd: string; goals: { p50?: Goal; p99?: Goal } }[] = [];
          const vsEtcd: Goal = { maxRatio: 1, text: '≥ 1.0× etcd' };
          const plural = `${n} subscriber${n === 1 ? '' : 's'}`;
          if (n === 1) {
            rows.push({ label: `(a/b) 1 subscriber, gRPC WatchRuns (etcd: one watch)`, runed: 'runed-a', etcd: 'etcd-a', goals: {} });
            rows.push({ label: `(c) 1 subscriber, event socket (etcd: one watch)`, runed: 'runed-c', etcd: 'etcd-a', goals: {} });
          } else {
            rows.push({ label: `(a) ${plural}, gRPC WatchRuns, ${n} streams on one connection (etcd: ${n} watches on one stream)`, runed: 'runed-a', etcd: 'etcd-a', goals: n === 1000 ? { p99: { maxMedian: 10, text: 'p99 ≤ 10 ms' } } : {} });
            rows.push({ label: `(m) ${plural}, gRPC Watch (kind runs), ${n} watches multiplexed on one stream (etcd: ${n} watches on one stream)`, runed: 'runed-m', etcd: 'etcd-a', goals: n === 1000 ? { p99: { maxMedian: 10, text: 'p99 ≤ 10 ms' } } : {} });
            rows.push({ label: `(b) ${plural}, gRPC WatchRuns, one connection each, ${drivers} processes (etcd: same)`, runed: 'runed-b', etcd: 'etcd-b', goals: { p50: vsEtcd, p99: vsEtcd } });
            rows.push({ label: `(c) ${plural}, event socket, one connection each, ${drivers} processes (etcd: as (b))`, runed: 'runed-c', etcd: 'etcd-b', goals: { p50: vsEtcd, p99: vsEtcd } });
          }
          for (const row of rows) {
            const r = samples.get(row.runed)!;
            const e = samples.get(row.etcd)!;
            figures.push({ label: `${row.label}: median to the last subscriber`, unit: 'ms', runed: r.p50, reference: { name: 'etcd watch', samples: e.p50 }, ...(row.goals.p50 ? { goal: row.goals.p50 } : {}) });
            figures.push({ label: `${row.label}: p99 to the last subscriber (per repetition of ${events} events)`, unit: 'ms', runed: r.p99, reference: { name: 'etcd watch', samples: e.p99 }, ...(row.goals.p99 ? { goal: row.goals.p99 } : {}) });
            // Where the time goes at the largest N: the fan-out's own part, first → last subscriber.
            if (n === levels.at(-1) && n > 1 && r.spreadP50.some(Number.isFinite)) figures.push({ label: `${row.label}: runed fan-out spread, first → last subscriber (median)`, unit: 'ms', runed: r.spreadP50 });
          }
          details[`N=${n}`] = Object.fromEntries(
            [...samples].map(([key, s]) => [key, { p50: round(median(s.all)), p99: round(p99(s.all)), events: s.all.length, writeAckMs: round(median(s.acks)), ...(s.toFirst.length > 0 && !Number.isNaN(s.toFirst[0]!) ? { toFirstP50: round(median(s.toFirst)), toFirstP99: round(p99(s.toFirst)), spreadP50: round(median(s.spread)), spreadP99: round(p99(s.spread)) } : {}) }]),
          );
        } finally {
          for (const group of open) await group.close();
          // runed keeps a subscriber whose client closed (a half-close looks the same: `socat`
          // users send a request and keep reading) until a write to it fails: one event in the
          // socket's namespace frees the slots before the next level opens its connections.
          await w.startRun('c').catch(() => undefined);
          await sleep(300);
        }
      }
      return {
        figures,
        retried,
        details,
        notes: [
          ...list.notes,
          `Run events: one writer (the harness) starts a run ${EVENTS_PER_SECOND} times a second (StartRun of a job running /bin/true); subscribers select runs in phase pending (a status filter), so each gets the run:added event of every StartRun, while the run's later running and finished writes are filtered out in runed: one delivered event per write, as for etcd, ${events} events per group per repetition; etcd: Put of one key (a run's bytes) watched by key. Each figure is from just before the write call to the moment the last subscriber received the event (runed: the run:added event of the StartRun's revision), so it includes the durable write (runed's group commit, etcd's raft + fsync). Layouts: (a) one connection in one driver process (runed: N WatchRuns streams on one HTTP/2 connection; etcd: N watches on one Watch stream); (m) the same connection layout with runed's multiplexed Watch (N watches of kind runs on one stream, one message per event listing the watch ids; it has no status filter, so each run's three writes reach every watch); (b) one gRPC connection per subscriber; (c) one event-socket connection per subscriber; (b) and (c) spread over ${drivers} driver processes, and compared with the same etcd figures. Each runed layout watches a namespace of its own, and a level's groups stay open together (idle while another is measured). Receivers decode only revisions (WatchRuns: the events' revision fields; socket lines: the "revision" field near the start of each line), with a 16 MB flow-control window; their clocks are put on the harness's by IPC round trips. p99 per repetition is over ${events} events (their maximum); results.json has the p50/p99 pooled over all repetitions, each write's median acknowledgement time and, for runed, write → first subscriber and first → last subscriber (the fan-out's spread, also a row at the largest N).`,
        ],
      };
    } finally {
      w.close();
      await sides.stop();
    }
  },
};
