/**
 * runed's /metrics: the text parses as Prometheus exposition (with a registry parser) and the
 * counters move — gRPC requests by method and code, store batches, watch deliveries, controller
 * reconciles, instances by phase (with the orchestrator on) and restarts.
 */
import { expect } from 'chai';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { Service } from '../../shared/gen/rune/v1/service.js';
import { aNamespace } from '../support/builders.js';
import { eventually } from '../support/procs.js';
import { auth, call, clients, startTestRuned, type TestRuned } from '../support/test-runed.js';

type Family = { name: string; type: string; metrics: { labels?: Record<string, string>; value?: string; count?: string; sum?: string; buckets?: Record<string, string> }[] };

describe('observability: /metrics', function () {
  this.timeout(60_000);
  let t: TestRuned;
  let c: ReturnType<typeof clients>;

  before(async () => {
    t = await startTestRuned({ orchestrator: { backoff: { baseMs: 50, maxMs: 200 }, pollMs: 50 } });
    c = clients(t.runed.grpcAddr);
  });
  after(async () => {
    c?.close();
    await t?.stop();
  });

  type Scrape = Map<string, Family> & { text: string };
  const scrape = async (): Promise<Scrape> => {
    const res = await fetch(`${t.baseUrl}/metrics`);
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.match(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    const families = parsePrometheusTextFormat(text) as Family[];
    return Object.assign(new Map(families.map((f) => [f.name, f])), { text });
  };
  /**
   * The value of a counter or gauge series with these labels, or a histogram's count; 0 when
   * absent. (The parser folds labelled histograms into one, so their `_count` lines are read here.)
   */
  const value = (families: Scrape, name: string, labels: Record<string, string> = {}): number => {
    const family = families.get(name);
    if (family?.type === 'HISTOGRAM') {
      for (const line of families.text.split('\n')) {
        if (!line.startsWith(`${name}_count`)) continue;
        if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.split(' ').pop());
      }
      return 0;
    }
    const series = family?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
    return series ? Number(series.value) : 0;
  };

  it('parses as Prometheus text and lists every runed metric with its type', async () => {
    const families = await scrape();
    const expected: Record<string, string> = {
      rune_grpc_requests_total: 'COUNTER',
      rune_grpc_request_duration_seconds: 'HISTOGRAM',
      rune_http_requests_total: 'COUNTER',
      rune_http_request_duration_seconds: 'HISTOGRAM',
      rune_store_batch_write_seconds: 'HISTOGRAM',
      rune_store_batch_commits: 'HISTOGRAM',
      rune_store_watch_subscribers: 'GAUGE',
      rune_store_watch_events_sent_total: 'COUNTER',
      rune_store_watch_subscribers_cut_off_total: 'COUNTER',
      rune_controller_queue_depth: 'GAUGE',
      rune_controller_reconcile_duration_seconds: 'HISTOGRAM',
      rune_controller_reconcile_errors_total: 'COUNTER',
      rune_instances: 'GAUGE',
      rune_instance_restarts_total: 'COUNTER',
      process_cpu_user_seconds_total: 'COUNTER',
      process_resident_memory_bytes: 'GAUGE',
    };
    for (const [name, type] of Object.entries(expected)) expect(families.get(name)?.type, name).to.equal(type);
    // Informers and the token service watch the store; every queue reports its depth.
    expect(value(families, 'rune_store_watch_subscribers')).to.be.greaterThan(0);
    for (const queue of ['services', 'instances', 'namespaces']) expect(families.get('rune_controller_queue_depth')!.metrics.some((m) => m.labels?.queue === queue), queue).to.equal(true);
  });

  it('counts gRPC calls by method and code, store batches and watch deliveries', async () => {
    const get = '/rune.v1.ServiceService/GetService';
    const before = await scrape();
    const md = auth(t.token);
    await call(c.namespaces, c.namespaces.createNamespace, { namespace: aNamespace({ name: 'counted' }) }, md);
    for (let i = 0; i < 3; i++) await call(c.services, c.services.getService, { namespace: 'counted', name: 'ghost' }, md).catch(() => undefined);
    await call(c.services, c.services.getService, { namespace: 'counted', name: 'ghost' }, auth('not-a-token')).catch(() => undefined);
    const after = await scrape();
    expect(value(after, 'rune_grpc_requests_total', { method: get, code: 'NOT_FOUND' }) - value(before, 'rune_grpc_requests_total', { method: get, code: 'NOT_FOUND' })).to.equal(3);
    // Refused by authentication: answered before logging/metrics (the chain's declared order).
    expect(value(after, 'rune_grpc_requests_total', { method: get, code: 'UNAUTHENTICATED' }) - value(before, 'rune_grpc_requests_total', { method: get, code: 'UNAUTHENTICATED' })).to.equal(0);
    expect(value(after, 'rune_grpc_request_duration_seconds', { method: get, code: 'NOT_FOUND' })).to.be.greaterThanOrEqual(3);
    expect(value(after, 'rune_store_batch_write_seconds')).to.be.greaterThan(value(before, 'rune_store_batch_write_seconds'));
    expect(value(after, 'rune_store_batch_commits')).to.be.greaterThan(value(before, 'rune_store_batch_commits'));
    expect(value(after, 'rune_store_watch_events_sent_total')).to.be.greaterThan(value(before, 'rune_store_watch_events_sent_total'));
    expect(value(after, 'rune_controller_reconcile_duration_seconds', { queue: 'namespaces' })).to.be.greaterThan(value(before, 'rune_controller_reconcile_duration_seconds', { queue: 'namespaces' }));
  });

  it('shows a started instance by phase, and counts restarts', async () => {
    const md = auth(t.token);
    await call(c.namespaces, c.namespaces.createNamespace, { namespace: aNamespace({ name: 'phases' }) }, md);
    const cast = (name: string, command: string, args: string[]) =>
      call(c.services, c.services.castService, { service: Service.fromPartial({ metadata: { name, namespace: 'phases' }, spec: { runtime: 'process', scale: 1, command, args, restartPolicy: 'Always' } }), dryRun: false }, md);
    const before = await scrape();
    await cast('sleeper', 'sleep', ['300']);
    await eventually('an instance running or ready in rune_instances', async () => {
      const families = await scrape();
      return value(families, 'rune_instances', { phase: 'running' }) + value(families, 'rune_instances', { phase: 'ready' }) >= 1;
    });
    await cast('crasher', 'sh', ['-c', 'exit 3']);
    await eventually('rune_instance_restarts_total to move', async () => value(await scrape(), 'rune_instance_restarts_total') > value(before, 'rune_instance_restarts_total'));
    await call(c.namespaces, c.namespaces.deleteNamespace, { name: 'phases', cascade: true }, md);
    await eventually('no instance left in rune_instances', async () => {
      const family = (await scrape()).get('rune_instances');
      return (family?.metrics ?? []).every((m) => Number(m.value) === 0);
    }, 20_000);
  });
});
