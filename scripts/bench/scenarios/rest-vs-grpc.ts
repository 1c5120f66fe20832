/**
 * Scenario 9 (issue 5's benchmark): GET one service over the REST gateway against the same call
 * over gRPC, in one run, with the same driver (this process) and the same concurrency on both
 * sides. Goals: REST median latency ≤ 1.3× gRPC's, REST throughput ≥ 0.7× gRPC's.
 *
 * Each repetition runs a fixed number of calls per side at each concurrency, alternating sides;
 * gRPC through the generated grpc-js client on one channel, REST through Node's fetch (undici,
 * keep-alive) on one origin. runed runs with --rate-limit 0 so the limiter does not shape it.
 */
import * as grpc from '@grpc/grpc-js';
import { ServiceServiceClient } from '../../../shared/gen/rune/v1/service_service.js';
import { launchRuned } from '../lib/runed-launcher.js';
import { repeat } from '../lib/repeat.js';
import type { Figure, Scenario, ScenarioContext } from '../lib/scenario.js';
import { median } from '../lib/stats.js';

interface Run {
  /** Per-call latencies, ms. */
  latencies: number[];
  /** Calls per second over the whole run. */
  throughput: number;
}

/** `calls` calls with `concurrency` in flight; every call must succeed. */
async function drive(calls: number, concurrency: number, one: () => Promise<void>): Promise<Run> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < calls) {
      next++;
      const t0 = performance.now();
      await one();
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { latencies, throughput: calls / ((performance.now() - started) / 1000) };
}

export const restVsGrpc: Scenario = {
  name: 'rest-vs-grpc',
  title: 'REST gateway vs gRPC',
  issue: 9,
  async run(ctx: ScenarioContext) {
    const calls = ctx.mode === 'quick' ? 200 : 2000;
    const levels = ctx.mode === 'quick' ? [8] : [1, 8, 32];
    const runed = await launchRuned({ tag: `${ctx.tag}/runed`, dir: ctx.dir, cpuProfileDir: ctx.cpuProfileDir, extraArgs: ['--rate-limit', '0'] });
    const client = new ServiceServiceClient(runed.grpcAddr, grpc.credentials.createInsecure());
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${runed.token}`);
    const url = `http://${runed.httpAddr}/v1/namespaces/default/services/bench`;
    const headers = { authorization: `Bearer ${runed.token}` };
    const samples = new Map<number, { grpcMs: number[]; restMs: number[]; grpcRps: number[]; restRps: number[] }>();
    try {
      await runed.castService({ namespace: 'default', name: 'bench', command: 'sleep', args: ['300'], scale: 0 });
      const viaGrpc = () =>
        new Promise<void>((resolve, reject) => client.getService({ namespace: 'default', name: 'bench' }, md, (err) => (err ? reject(err) : resolve())));
      const viaRest = async () => {
        const res = await fetch(url, { headers });
        await res.arrayBuffer();
        if (res.status !== 200) throw new Error(`REST GET answered ${res.status}`);
      };
      // Warm both paths (connections, JIT) before measuring.
      await drive(200, 8, viaGrpc);
      await drive(200, 8, viaRest);
      const retried = await repeat(ctx, async () => {
        for (const c of levels) {
          const g = await drive(calls, c, viaGrpc);
          const r = await drive(calls, c, viaRest);
          const entry = samples.get(c) ?? { grpcMs: [], restMs: [], grpcRps: [], restRps: [] };
          entry.grpcMs.push(median(g.latencies));
          entry.restMs.push(median(r.latencies));
          entry.grpcRps.push(g.throughput);
          entry.restRps.push(r.throughput);
          samples.set(c, entry);
        }
      });
      const figures: Figure[] = [];
      for (const [c, s] of samples) {
        figures.push({ label: `${c} in flight: median latency of GET service`, unit: 'ms', runed: s.restMs, reference: { name: 'gRPC', samples: s.grpcMs }, goal: { maxRatio: 1.3, text: '≤ 1.3× gRPC' } });
        // Throughput as time per 1,000 calls, so that "smaller is better" holds for the ratio like
        // everywhere else in the table: ≥ 0.7× throughput is ≤ 1/0.7 = 1.43× the time.
        figures.push({ label: `${c} in flight: time per 1,000 calls (inverse throughput)`, unit: 'ms', runed: s.restRps.map((r) => 1e6 / r), reference: { name: 'gRPC', samples: s.grpcRps.map((r) => 1e6 / r) }, goal: { maxRatio: 1 / 0.7, text: '≥ 0.7× gRPC throughput' } });
      }
      return {
        figures,
        retried,
        notes: [`REST vs gRPC: ${calls} calls per side per concurrency level per repetition, alternating sides, driven from the harness process (grpc-js client on one channel; fetch with keep-alive), runed with --rate-limit 0; the figures are REST (runed's gateway) over gRPC.`],
      };
    } finally {
      client.close();
      await runed.stop();
    }
  },
};
