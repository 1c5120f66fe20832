/**
 * What the store reports about itself, for metrics. The store calls these and knows nothing of
 * Prometheus (tests run it without any). Every hook is called on a hot path: implementations
 * must be cheap (a counter increment or a histogram observation, no allocation).
 */
export interface StoreMetrics {
  /** One batch of the commit loop (group commit) reached disk: how many commits it held and how long the write took. */
  batchWritten(commits: number, seconds: number): void;
  /** `count` events were handed to watch subscribers (counted per subscriber). */
  eventsSent(count: number): void;
  /** A subscriber was cut off because it fell behind (RESOURCE_EXHAUSTED). */
  subscriberCutOff(): void;
}
