/**
 * OpenTelemetry tracing, on only when an OTLP endpoint is configured
 * (`OTEL_EXPORTER_OTLP_ENDPOINT`). The SDK is imported here dynamically, so a runed without
 * tracing never loads it. Spans go to `<endpoint>/v1/traces` over OTLP/HTTP (JSON), batched
 * (`OTEL_BSP_SCHEDULE_DELAY` ms, default 1000); `stop()` flushes what is left.
 *
 * Spans: one per request (`startRequest`: the gRPC method, the HTTP route), one per reconcile
 * of a controller queue, and children for store commits and runner starts and stops.
 */
import type { Logger } from 'pino';
import type { RequestSpan, RequestTracer } from './request-tracer.js';

export interface TracingOptions {
  /** OTLP/HTTP base URL, e.g. http://127.0.0.1:4318; spans are POSTed to <endpoint>/v1/traces. */
  endpoint: string;
  /** `service.name` of the spans (default "runed"). */
  serviceName?: string;
  /** Milliseconds between exports (default $OTEL_BSP_SCHEDULE_DELAY, else 1000). */
  exportDelayMs?: number;
  version?: string;
  log?: Logger;
}

export interface Tracing extends RequestTracer {
  /** Wraps `target[method]` (an async method) in a child span named `name` of the active span. */
  /**
   * Wraps `target[method]` (an async method) in a span named `name`: a child of the active span,
   * or, unless `childOnly`, a new trace.
   */
  wrap<K extends string>(target: { [key in K]: (...args: any[]) => Promise<unknown> }, method: K, name: string, options?: { childOnly?: boolean; attributes?: (...args: any[]) => Record<string, string | number> }): void;
  /** Exports what is buffered and stops. */
  stop(): Promise<void>;
}

export async function startTracing(options: TracingOptions): Promise<Tracing> {
  const [api, { AsyncLocalStorageContextManager }, { W3CTraceContextPropagator }, { BasicTracerProvider, BatchSpanProcessor }, { OTLPTraceExporter }, { resourceFromAttributes }] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/context-async-hooks'),
    import('@opentelemetry/core'),
    import('@opentelemetry/sdk-trace-base'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
  ]);
  const { context, trace, SpanKind, SpanStatusCode } = api;
  // One context manager per process (several runeds may share it in tests); never replaced.
  if (!contextManagerSet) {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    contextManagerSet = true;
  }
  const exportDelayMs = options.exportDelayMs ?? (Number(process.env.OTEL_BSP_SCHEDULE_DELAY) || 1000);
  const exporter = new OTLPTraceExporter({ url: `${options.endpoint.replace(/\/+$/, '')}/v1/traces` });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': options.serviceName ?? 'runed', ...(options.version ? { 'service.version': options.version } : {}) }),
    spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: exportDelayMs })],
  });
  const tracer = provider.getTracer('rune');
  const propagator = new W3CTraceContextPropagator();
  const getter = { keys: (c: Record<string, string>) => Object.keys(c), get: (c: Record<string, string>, k: string) => c[k] };
  const setter = { set: (c: Record<string, string>, k: string, v: string) => void (c[k] = v) };

  const fail = (span: import('@opentelemetry/api').Span, err: unknown) => {
    span.recordException(err instanceof Error ? err : String(err));
    span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
  };
  const inSpan = <T>(name: string, attributes: Record<string, string | number>, run: () => Promise<T>): Promise<T> =>
    tracer.startActiveSpan(name, { attributes }, (span) =>
      run().then(
        (value) => {
          span.end();
          return value;
        },
        (err: unknown) => {
          fail(span, err);
          span.end();
          throw err;
        },
      ),
    );

  options.log?.info({ endpoint: options.endpoint }, 'tracing: exporting spans over OTLP/HTTP');
  return {
    startRequest(name: string, traceparent?: string): RequestSpan {
      const parent = traceparent ? propagator.extract(context.active(), { traceparent }, getter) : context.active();
      const span = tracer.startSpan(name, { kind: SpanKind.SERVER }, parent);
      const active = trace.setSpan(parent, span);
      const carrier: Record<string, string> = {};
      propagator.inject(active, carrier, setter);
      return {
        traceId: span.spanContext().traceId,
        traceparent: carrier.traceparent ?? '',
        run: (fn) => context.with(active, fn),
        end(code, error, name) {
          if (name) span.updateName(name);
          const http = /^\d{3}$/.test(code);
          span.setAttribute(http ? 'http.response.status_code' : 'rpc.grpc.status_code', http ? Number(code) : code);
          // gRPC: any code but OK is an error; HTTP: 5xx only (4xx is the client's, as OpenTelemetry says for servers).
          if (http ? code >= '500' : code !== 'OK') {
            if (error !== undefined) fail(span, error);
            else span.setStatus({ code: SpanStatusCode.ERROR, message: code });
          }
          span.end();
        },
      };
    },
    inSpan,
    wrap(target, method, name, wrapOptions = {}) {
      const original = target[method].bind(target);
      (target as Record<string, unknown>)[method] = (...args: unknown[]) =>
        wrapOptions.childOnly && !trace.getSpan(context.active()) ? original(...args) : inSpan(name, wrapOptions.attributes?.(...args) ?? {}, () => original(...args));
    },
    async stop() {
      await provider.shutdown().catch((err: unknown) => options.log?.warn({ err }, 'tracing: could not export the last spans'));
    },
  };
}

let contextManagerSet = false;
