/**
 * runed's Prometheus metrics, on the registry `GET /metrics` serves (`Runed.metrics`; the
 * gateway adds its `rune_http_*` there and server/metrics.ts the process metrics). The parts of
 * runed report through small interfaces that know nothing of prom-client (`StoreMetrics`,
 * `OrchestratorMetrics`, `RpcMetrics`); gauges that mirror state (watch subscribers, queue
 * depth, instances by phase) are read when scraped, never kept up to date per event.
 *
 * | metric | type | labels |
 * |---|---|---|
 * | rune_grpc_requests_total | counter | method (gRPC path), code (gRPC code name) |
 * | rune_grpc_request_duration_seconds | histogram | method, code (streams: until they end) |
 * | rune_store_batch_write_seconds | histogram | (one per group commit) |
 * | rune_store_batch_commits | histogram | (commits per group commit) |
 * | rune_store_watch_subscribers | gauge | |
 * | rune_store_watch_events_sent_total | counter | |
 * | rune_store_watch_subscribers_cut_off_total | counter | |
 * | rune_controller_queue_depth | gauge | queue (keys queued or being reconciled) |
 * | rune_controller_reconcile_duration_seconds | histogram | queue |
 * | rune_controller_reconcile_errors_total | counter | queue |
 * | rune_instances | gauge | phase |
 * | rune_instance_restarts_total | counter | |
 * | rune_housekeeping_runs_total | counter | task, result (ok, error) |
 * | rune_housekeeping_last_run_timestamp_seconds | gauge | task (when its last run ended) |
 * | rune_housekeeping_duration_seconds | histogram | task |
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { HousekeepingMetrics } from '../housekeeping/scheduler.js';
import type { OrchestratorMetrics } from '../orchestrator/orchestrator.js';
import type { QueueObserver } from '../orchestrator/work-queue.js';
import type { StoreMetrics } from '../store/store-metrics.js';
import type { RequestTracer } from './request-tracer.js';

/** What the gRPC interceptor chain reports: one call ended with `code` after `seconds`. */
export interface RpcMetrics {
  rpcEnded(method: string, code: string, seconds: number): void;
}

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export class RunedMetrics implements RpcMetrics, StoreMetrics, OrchestratorMetrics, HousekeepingMetrics {
  private readonly rpcs: Counter<'method' | 'code'>;
  private readonly rpcDuration: Histogram<'method' | 'code'>;
  private readonly batchSeconds: Histogram;
  private readonly batchCommits: Histogram;
  private readonly events: Counter;
  private readonly cutOff: Counter;
  private readonly reconcileSeconds: Histogram<'queue'>;
  private readonly reconcileErrors: Counter<'queue'>;
  private readonly restarts: Counter;
  private readonly housekeepingRuns: Counter<'task' | 'result'>;
  private readonly housekeepingLastRun: Gauge<'task'>;
  private readonly housekeepingSeconds: Histogram<'task'>;
  private readonly queues: { readonly name: string; readonly length: number }[] = [];
  private subscribers: (() => number) | undefined;
  private instances: (() => Iterable<{ status?: { phase: string } }>) | undefined;
  /** When tracing is on: each reconcile runs in a span `reconcile <queue>`. */
  tracer: RequestTracer | undefined;

  constructor(readonly registry: Registry) {
    const registers = [registry];
    this.rpcs = new Counter({ name: 'rune_grpc_requests_total', help: 'gRPC calls handled (REST calls included: the gateway calls gRPC), by method and gRPC code.', labelNames: ['method', 'code'], registers });
    this.rpcDuration = new Histogram({ name: 'rune_grpc_request_duration_seconds', help: 'Duration of gRPC calls by method and code (streams: until they end).', labelNames: ['method', 'code'], buckets: LATENCY_BUCKETS, registers });
    this.batchSeconds = new Histogram({ name: 'rune_store_batch_write_seconds', help: 'Time to write (and sync) one batch of the store commit loop.', buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1], registers });
    this.batchCommits = new Histogram({ name: 'rune_store_batch_commits', help: 'Commits per written batch (group commit size).', buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024], registers });
    const self = this;
    new Gauge({ name: 'rune_store_watch_subscribers', help: 'Open watch subscriptions on the store.', registers, collect() { this.set(self.subscribers?.() ?? 0); } });
    this.events = new Counter({ name: 'rune_store_watch_events_sent_total', help: 'Events delivered to store watch subscribers (once per subscriber).', registers });
    this.cutOff = new Counter({ name: 'rune_store_watch_subscribers_cut_off_total', help: 'Watch subscribers cut off because they fell behind.', registers });
    new Gauge({
      name: 'rune_controller_queue_depth',
      help: 'Keys queued or being reconciled, per controller queue.',
      labelNames: ['queue'],
      registers,
      collect() {
        for (const q of self.queues) this.set({ queue: q.name }, q.length);
      },
    });
    this.reconcileSeconds = new Histogram({ name: 'rune_controller_reconcile_duration_seconds', help: 'Duration of one reconcile, per controller queue.', labelNames: ['queue'], buckets: LATENCY_BUCKETS, registers });
    this.reconcileErrors = new Counter({ name: 'rune_controller_reconcile_errors_total', help: 'Reconciles that failed (and were requeued with backoff), per queue.', labelNames: ['queue'], registers });
    new Gauge({
      name: 'rune_instances',
      help: 'Instances by phase (pending, starting, running, ready, stopping, exited, failed).',
      labelNames: ['phase'],
      registers,
      collect() {
        this.reset();
        if (!self.instances) return;
        const counts = new Map<string, number>();
        for (const i of self.instances()) {
          const phase = i.status?.phase || 'pending';
          counts.set(phase, (counts.get(phase) ?? 0) + 1);
        }
        for (const [phase, n] of counts) this.set({ phase }, n);
      },
    });
    this.restarts = new Counter({ name: 'rune_instance_restarts_total', help: 'Restarts scheduled by the restart policy after an instance exited.', registers });
    this.housekeepingRuns = new Counter({ name: 'rune_housekeeping_runs_total', help: 'Housekeeping task runs, by task and result (ok, error).', labelNames: ['task', 'result'], registers });
    this.housekeepingLastRun = new Gauge({ name: 'rune_housekeeping_last_run_timestamp_seconds', help: 'When the last run of a housekeeping task ended (Unix time).', labelNames: ['task'], registers });
    this.housekeepingSeconds = new Histogram({ name: 'rune_housekeeping_duration_seconds', help: 'Duration of housekeeping task runs.', labelNames: ['task'], buckets: LATENCY_BUCKETS, registers });
  }

  /** Where `rune_store_watch_subscribers` is read from. */
  watchStore(store: { readonly subscriberCount: number }): void {
    this.subscribers = () => store.subscriberCount;
  }

  /** Where `rune_instances` is read from (the orchestrator's instance informer). */
  watchInstances(instances: { values(): Iterable<{ status?: { phase: string } }> }): void {
    this.instances = () => instances.values();
  }

  rpcEnded(method: string, code: string, seconds: number): void {
    const labels = { method, code };
    this.rpcs.inc(labels);
    this.rpcDuration.observe(labels, seconds);
  }

  batchWritten(commits: number, seconds: number): void {
    this.batchSeconds.observe(seconds);
    this.batchCommits.observe(commits);
  }

  eventsSent(count: number): void {
    this.events.inc(count);
  }

  subscriberCutOff(): void {
    this.cutOff.inc();
  }

  queue(queue: { readonly name: string; readonly length: number }): QueueObserver {
    this.queues.push(queue);
    const duration = this.reconcileSeconds.labels(queue.name);
    const errors = this.reconcileErrors.labels(queue.name);
    errors.inc(0);
    const tracer = this.tracer;
    const spanName = `reconcile ${queue.name}`;
    return {
      reconciled: (seconds, failed) => {
        duration.observe(seconds);
        if (failed) errors.inc();
      },
      ...(tracer ? { trace: <T>(key: string, run: () => Promise<T>) => tracer.inSpan(spanName, { 'rune.key': key }, run) } : {}),
    };
  }

  restarted(): void {
    this.restarts.inc();
  }

  taskAdded(task: string): void {
    for (const result of ['ok', 'error']) this.housekeepingRuns.inc({ task, result }, 0);
  }

  taskRan(task: string, result: 'ok' | 'error', seconds: number, endedAtMs: number): void {
    this.housekeepingRuns.inc({ task, result });
    this.housekeepingLastRun.set({ task }, endedAtMs / 1000);
    this.housekeepingSeconds.observe({ task }, seconds);
  }
}
