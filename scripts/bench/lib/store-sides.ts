/**
 * What the store scenarios (durable-writes, point-reads, list, watch-fanout) share: runed and
 * etcd started side by side, the driver pool, the prebuilt request bodies of each side, and the
 * figures they report.
 *
 * The object both sides store is the same: a process service at scale 0 (so runed's
 * orchestrator starts nothing), ~100 bytes encoded. runed gets it as a CastService request;
 * etcd gets its protobuf bytes as the value of a Put, so both write the same payload.
 */
import { ListServicesRequest, CastServiceRequest, GetServiceRequest } from '../../../shared/gen/rune/v1/service_service.js';
import { Service } from '../../../shared/gen/rune/v1/service.js';
import { DriverPool, type UnaryRun } from './driver-pool.js';
import { launchEtcd, type EtcdUnderTest } from './etcd-launcher.js';
import { launchRuned, type RunedUnderTest } from './runed-launcher.js';
import type { Figure, Goal, ScenarioContext } from './scenario.js';
import { cpuSeconds } from './proc.js';
import { repeat } from './repeat.js';
import { median, p99 } from './stats.js';
import { etcdPut, etcdRange } from './wire.js';

export interface Sides {
  runed: RunedUnderTest;
  etcd: EtcdUnderTest;
  pool: DriverPool;
  /** runed's call metadata (bearer token) for driver jobs. */
  runedMd: [string, string][];
  stop(): Promise<void>;
}

/**
 * Starts runed (rate limiter off: it would shape the load), etcd and `drivers` driver
 * processes. On a failure, stops whatever started.
 */
export async function startSides(ctx: ScenarioContext, options: { drivers: number; namespaces?: string[] }): Promise<Sides> {
  const started: { stop(): Promise<void> }[] = [];
  const stopAll = async () => {
    for (const part of started.reverse()) await part.stop().catch(() => undefined);
  };
  try {
    const runed = await launchRuned({ tag: `${ctx.tag}/runed`, dir: `${ctx.dir}/runed`, cpuProfileDir: ctx.cpuProfileDir, extraArgs: ['--rate-limit', '0'] });
    started.push(runed);
    const etcd = await launchEtcd({ tag: `${ctx.tag}/etcd`, dir: `${ctx.dir}/etcd` });
    started.push(etcd);
    const pool = await DriverPool.start({ count: options.drivers, tag: ctx.tag });
    started.push(pool);
    for (const namespace of options.namespaces ?? []) await runed.createNamespace(namespace);
    ctx.log(`runed ${runed.grpcAddr} (ready in ${runed.startMs.toFixed(0)} ms), etcd ${etcd.clientAddr} (${etcd.startMs.toFixed(0)} ms), ${pool.size} driver process(es)`);
    return { runed, etcd, pool, runedMd: [['authorization', `Bearer ${runed.token}`]], stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** The benchmark's service object: scale 0, label `v` varies so each update is a real write. */
export function benchService(namespace: string, name: string, version: number): Service {
  return Service.fromPartial({
    metadata: { name, namespace, labels: { app: 'bench', v: String(version) } },
    spec: { runtime: 'process', command: 'sleep', args: ['300'], scale: 0 },
  });
}

export function castBody(service: Service): Uint8Array {
  return CastServiceRequest.encode({ service, dryRun: false }).finish();
}

export function getBody(namespace: string, name: string): Uint8Array {
  return GetServiceRequest.encode({ namespace, name }).finish();
}

export function listBody(namespace: string, limit: number): Uint8Array {
  return ListServicesRequest.encode({ namespace, options: { limit, continueToken: '', labelSelector: '' } }).finish();
}

/** etcd's key for the same object. */
export function etcdKey(namespace: string, name: string): string {
  return `/bench/services/${namespace}/${name}`;
}

export function putBody(service: Service): Uint8Array {
  const meta = service.metadata!;
  return etcdPut(etcdKey(meta.namespace, meta.name), Service.encode(service).finish());
}

export function rangeBody(namespace: string, name: string): Uint8Array {
  return etcdRange({ key: etcdKey(namespace, name), serializable: true });
}

/** One run's samples as the figures use them. */
export interface RunSample {
  /** ms per 1,000 calls (inverse throughput: smaller is better, like every other figure). */
  per1000: number;
  p50: number;
  p99: number;
}

export function sampleOf(run: UnaryRun): RunSample {
  return { per1000: 1e6 / run.throughput, p50: median(run.latencies), p99: p99(run.latencies) };
}

/** Throws when a run had failed calls: a benchmark of errors measures nothing. */
export function checkRun(side: string, run: UnaryRun): UnaryRun {
  if (run.errors > 0) throw new Error(`${side}: ${run.errors} calls failed, first: ${run.firstError}`);
  return run;
}

/** Runs `body` while measuring the CPU the given process used, as a share of one core. */
export async function withCpu<T>(pid: number, body: () => Promise<T>): Promise<{ value: T; cpu: number }> {
  const c0 = cpuSeconds(pid) ?? 0;
  const t0 = performance.now();
  const value = await body();
  const cpu = ((cpuSeconds(pid) ?? 0) - c0) / ((performance.now() - t0) / 1000);
  return { value, cpu };
}

/** Per-level samples of both sides, plus what the driver and the servers used. */
export class LevelSamples {
  readonly runed: RunSample[] = [];
  readonly etcd: RunSample[] = [];
  /** Highest driver-process CPU share (of one core) seen at this level. */
  driverCpuMax = 0;
  readonly serverCpu = { runed: [] as number[], etcd: [] as number[] };

  add(side: 'runed' | 'etcd', run: UnaryRun, serverCpu: number): void {
    this[side].push(sampleOf(run));
    this.serverCpu[side].push(serverCpu);
    this.driverCpuMax = Math.max(this.driverCpuMax, ...run.workerCpu);
  }

  /**
   * The three rows of one concurrency level: inverse throughput, p50 and p99 (each sample a
   * repetition's figure over all its calls).
   */
  figures(label: string, goals: { throughput?: Goal; p50?: Goal; p99?: Goal } = {}): Figure[] {
    const of = (key: keyof RunSample, side: RunSample[]) => side.map((s) => s[key]);
    return [
      { label: `${label}: time per 1,000 calls (inverse throughput)`, unit: 'ms', runed: of('per1000', this.runed), reference: { name: 'etcd', samples: of('per1000', this.etcd) }, ...(goals.throughput ? { goal: goals.throughput } : {}) },
      { label: `${label}: median latency`, unit: 'ms', runed: of('p50', this.runed), reference: { name: 'etcd', samples: of('p50', this.etcd) }, ...(goals.p50 ? { goal: goals.p50 } : {}) },
      { label: `${label}: p99 latency (per repetition)`, unit: 'ms', runed: of('p99', this.runed), reference: { name: 'etcd', samples: of('p99', this.etcd) }, ...(goals.p99 ? { goal: goals.p99 } : {}) },
    ];
  }

  details(): Record<string, unknown> {
    return { driverCpuMaxOfOneCore: round(this.driverCpuMax), runedCpuOfOneCore: this.serverCpu.runed.map(round), etcdCpuOfOneCore: this.serverCpu.etcd.map(round), runed: this.runed, etcd: this.etcd };
  }
}

/**
 * Every concurrency level on both sides, once per repetition (the side going first alternates),
 * each run's latencies and the server's CPU kept per level. `calls[level]` calls per run.
 */
export async function measureLevels(
  ctx: ScenarioContext,
  sides: Sides,
  calls: Record<number, number>,
  run: (side: 'runed' | 'etcd', concurrency: number, calls: number) => Promise<UnaryRun>,
): Promise<{ samples: Map<number, LevelSamples>; retried: string[] }> {
  const levels = Object.keys(calls).map(Number);
  const samples = new Map(levels.map((c) => [c, new LevelSamples()]));
  const retried = await repeat(ctx, async (rep) => {
    const order = rep % 2 === 0 ? (['runed', 'etcd'] as const) : (['etcd', 'runed'] as const);
    const got: { c: number; side: 'runed' | 'etcd'; run: UnaryRun; cpu: number }[] = [];
    for (const c of levels) {
      for (const side of order) {
        const { value, cpu } = await withCpu(side === 'runed' ? sides.runed.pid : sides.etcd.pid, () => run(side, c, calls[c]!));
        got.push({ c, side, run: checkRun(side, value), cpu });
      }
    }
    // Recorded only once the whole repetition succeeded (a failed one is run again).
    for (const g of got) samples.get(g.c)!.add(g.side, g.run, g.cpu);
    ctx.log(`rep ${rep + 1}: ${levels.map((c) => `${c}: runed ${samples.get(c)!.runed.at(-1)!.per1000.toFixed(0)} / etcd ${samples.get(c)!.etcd.at(-1)!.per1000.toFixed(0)} ms per 1k`).join(', ')}`);
  });
  return { samples, retried };
}

export const round = (value: number, digits = 2) => Math.round(value * 10 ** digits) / 10 ** digits;

/** A note on the driver's headroom for the report. */
export function driverNote(pool: DriverPool, levels: Map<number, LevelSamples>): string {
  const parts = [...levels].map(([c, s]) => `${c} in flight: driver ≤ ${Math.round(s.driverCpuMax * 100)} %, runed ${Math.round(median(s.serverCpu.runed) * 100)} %, etcd ${Math.round(median(s.serverCpu.etcd) * 100)} %`);
  return `Driver: ${pool.size} driver processes (the concurrency split between them), grpc-js generic calls on prebuilt request bodies, the same code for both sides; CPU as a share of one core (per driver process; median for the servers) — ${parts.join('; ')}. On 2 cores the driver and the server share the machine: a server near 100 % is the bottleneck; a driver process near 100 % would be.`;
}
