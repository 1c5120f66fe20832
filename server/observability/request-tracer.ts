/**
 * The tracing vocabulary the rest of runed sees: no OpenTelemetry types, so nothing imports
 * the SDK unless tracing is on (server/observability/tracing.ts loads it on demand).
 */

/** Starts spans; undefined wherever tracing is off. */
export interface RequestTracer {
  /**
   * Starts the span of one request (a gRPC method, an HTTP route). `traceparent` (W3C trace
   * context, e.g. from the REST gateway's loopback call) makes it a child of that span.
   */
  startRequest(name: string, traceparent?: string): RequestSpan;
  /** Runs `run` inside a span named `name`, a child of the active span or else a new trace. */
  inSpan<T>(name: string, attributes: Record<string, string | number>, run: () => Promise<T>): Promise<T>;
}

export interface RequestSpan {
  /** 32 lower-case hex digits: also the request id in the logs. */
  readonly traceId: string;
  /** W3C `traceparent` of this span, for a downstream call to join the trace. */
  readonly traceparent: string;
  /** Runs `run` with this span active, so spans started inside are its children. */
  run<T>(run: () => Promise<T>): Promise<T>;
  /**
   * Ends the span; `code` is the gRPC code name (any but OK marks the span an error) or the HTTP
   * status (5xx marks it an error); `name` renames it (an HTTP route is known only later).
   */
  end(code: string, error?: unknown, name?: string): void;
}

/** A request id when tracing is off: 32 random hex digits, shaped like a trace id. */
export function randomRequestId(): string {
  return globalThis.crypto.randomUUID().replace(/-/g, '');
}
