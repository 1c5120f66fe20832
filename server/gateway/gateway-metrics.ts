/**
 * The gateway's Prometheus metrics: requests and their durations by HTTP method, route (the
 * route's template, `GET /v1/namespaces/{namespace}/services`, never the concrete path, so the
 * label set stays small) and HTTP status code. Streams are counted when they end.
 */
import { Counter, Histogram, type Registry } from 'prom-client';

export class GatewayMetrics {
  private readonly requests: Counter<'method' | 'route' | 'code'>;
  private readonly duration: Histogram<'method' | 'route' | 'code'>;

  constructor(registry: Registry) {
    this.requests = new Counter({
      name: 'rune_http_requests_total',
      help: 'HTTP requests served by the REST gateway, by method, route template and status code.',
      labelNames: ['method', 'route', 'code'],
      registers: [registry],
    });
    this.duration = new Histogram({
      name: 'rune_http_request_duration_seconds',
      help: 'Duration of HTTP requests served by the REST gateway (streams: until they end).',
      labelNames: ['method', 'route', 'code'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers: [registry],
    });
  }

  /** Records one request; `route` is a template or a fixed name (`unmatched`, `/healthz`). */
  observe(method: string, route: string, code: number, seconds: number): void {
    const labels = { method, route, code: String(code) };
    this.requests.inc(labels);
    this.duration.observe(labels, seconds);
  }
}
