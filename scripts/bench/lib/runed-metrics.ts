/**
 * What the harness reads from runed's own Prometheus metrics (GET /metrics on the REST address,
 * no credentials).
 *
 * Server-side time of one gRPC method, from runed's own histogram
 * `rune_grpc_request_duration_seconds` (GET /metrics on the REST address, no credentials): the
 * histogram's sum and count before and after a run give the mean time runed spent per call, from
 * its interceptor chain's start to the end of the handler, without the network or the client.
 */
import { waitFor } from './wait.js';

async function metricsText(httpAddr: string): Promise<string> {
  const res = await fetch(`http://${httpAddr}/metrics`);
  if (res.status !== 200) throw new Error(`GET /metrics answered ${res.status}`);
  return res.text();
}

/** The sum of every series of a gauge or counter named `name` (all label values). */
export async function readMetricSum(httpAddr: string, name: string): Promise<number> {
  let sum = 0;
  for (const line of (await metricsText(httpAddr)).split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/**
 * Waits until runed's controllers have nothing queued (rune_controller_queue_depth is 0), so
 * the reconciles a seed caused do not run during a measurement. Bounded by `timeoutMs`.
 */
export async function waitControllersIdle(httpAddr: string, timeoutMs: number): Promise<number> {
  const t0 = performance.now();
  await waitFor('runed\'s controller queues to drain', async () => (await readMetricSum(httpAddr, 'rune_controller_queue_depth')) === 0, { timeoutMs, everyMs: 100 });
  return performance.now() - t0;
}

export interface HistogramReading {
  sum: number;
  count: number;
}

/** The method's sum and count (all codes together) in runed's metrics now. */
export async function readRpcHistogram(httpAddr: string, method: string): Promise<HistogramReading> {
  const text = await metricsText(httpAddr);
  const reading = { sum: 0, count: 0 };
  for (const line of text.split('\n')) {
    if (!line.startsWith('rune_grpc_request_duration_seconds_') || !line.includes(`method="${method}"`)) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (line.startsWith('rune_grpc_request_duration_seconds_sum')) reading.sum += value;
    else if (line.startsWith('rune_grpc_request_duration_seconds_count')) reading.count += value;
  }
  return reading;
}

/** Mean server time per call between two readings, ms; NaN when no call ended in between. */
export function meanMs(before: HistogramReading, after: HistogramReading): number {
  const count = after.count - before.count;
  return count > 0 ? ((after.sum - before.sum) / count) * 1000 : Number.NaN;
}
