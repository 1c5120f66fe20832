/**
 * Prometheus metrics. Each runed has its own registry (`Runed.metrics`: tests run several runeds
 * in one process), where its parts register their metrics; process metrics (CPU, RSS, heap,
 * event loop lag, GC) are process-wide and collected once. `exposition()` renders both, as
 * `GET /metrics` serves them.
 */
import { collectDefaultMetrics, Registry } from 'prom-client';

let processRegistry: Registry | undefined;

/** A registry for one runed's own metrics. */
export function createMetricsRegistry(): Registry {
  return new Registry();
}

function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/** The Prometheus text exposition of the process metrics and `registry`'s. */
export async function exposition(registry: Registry): Promise<{ contentType: string; text: string }> {
  const merged = Registry.merge([processMetrics(), registry]);
  return { contentType: merged.contentType, text: await merged.metrics() };
}
