/**
 * Token buckets keyed by caller (a subject, or a peer address for calls without a subject).
 * Each bucket holds up to `burst` calls and refills at `perMinute` per minute; a call takes
 * one. Memory is bounded: a bucket that has refilled completely is the same as no bucket and
 * is dropped by a sweep (at most once a minute), and beyond `maxKeys` buckets the least
 * recently used one goes.
 */

export interface RateLimiterOptions {
  /** Calls per minute per key; 0 disables the limiter. */
  perMinute: number;
  /** Most calls a key may make at once after being idle. Default: `perMinute` (a minute's worth). */
  burst?: number;
  /** Most buckets kept. Default 10,000. */
  maxKeys?: number;
  /** Clock, ms (tests). */
  now?: () => number;
}

interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date, ms. */
  at: number;
}

const SWEEP_EVERY_MS = 60_000;

export class RateLimiter {
  readonly perMinute: number;
  readonly burst: number;
  private readonly maxKeys: number;
  private readonly now: () => number;
  /** In least-recently-used order (a used key is moved to the end). */
  private readonly buckets = new Map<string, Bucket>();
  private lastSweep: number;

  constructor(options: RateLimiterOptions) {
    if (!(options.perMinute >= 0)) throw new Error(`rate limit must be 0 or more calls per minute (got ${options.perMinute})`);
    this.perMinute = options.perMinute;
    this.burst = Math.max(1, options.burst ?? options.perMinute);
    this.maxKeys = options.maxKeys ?? 10_000;
    this.now = options.now ?? Date.now;
    this.lastSweep = this.now();
  }

  get enabled(): boolean {
    return this.perMinute > 0;
  }

  /** Takes one call from `key`'s bucket: 0 when allowed, else the ms until one is available. */
  take(key: string): number {
    if (!this.enabled) return 0;
    const now = this.now();
    if (now - this.lastSweep >= SWEEP_EVERY_MS) this.sweep(now);
    const bucket = this.refilled(this.buckets.get(key), now);
    this.buckets.delete(key);
    this.buckets.set(key, bucket);
    if (this.buckets.size > this.maxKeys) this.buckets.delete(this.buckets.keys().next().value!);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.ceil((1 - bucket.tokens) / this.ratePerMs);
  }

  /** How many buckets are held. */
  get size(): number {
    return this.buckets.size;
  }

  private get ratePerMs(): number {
    return this.perMinute / 60_000;
  }

  private refilled(bucket: Bucket | undefined, now: number): Bucket {
    if (!bucket) return { tokens: this.burst, at: now };
    const tokens = Math.min(this.burst, bucket.tokens + Math.max(0, now - bucket.at) * this.ratePerMs);
    return { tokens, at: now };
  }

  private sweep(now: number): void {
    this.lastSweep = now;
    for (const [key, bucket] of this.buckets) {
      if (this.refilled(bucket, now).tokens >= this.burst) this.buckets.delete(key);
    }
  }
}

/** Parses `--rate-limit`: "N/min", "N/s", "N/h" or a bare N (per minute); calls per minute. */
export function parseRateLimit(text: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(?:\/\s*(s|sec|second|m|min|minute|h|hour))?\s*$/.exec(text);
  if (!match) throw new Error(`--rate-limit: "${text}" is not a rate; use e.g. 6000/min, 100/s or 0 to turn the limit off`);
  const n = Number(match[1]);
  const unit = match[2] ?? 'min';
  const perMinute = unit.startsWith('s') ? n * 60 : unit.startsWith('h') ? n / 60 : n;
  return perMinute;
}
