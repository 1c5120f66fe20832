/**
 * A log stream that survives runed restarts while following: when the stream drops with
 * UNAVAILABLE it reconnects with `since` = the time of the last line delivered (tail: all
 * since then), skipping lines it already delivered, so each line arrives at most once.
 *
 * Retry semantics: UNAVAILABLE while following is transient — reconnect with capped exponential
 * backoff, at most `retries` times in a row (the count resets whenever lines arrive); without
 * follow, and for every other code, the error is permanent — throw. The server ending the stream
 * is the end (all lines sent, or the followed target is gone).
 */
import { RuneError } from '../../shared/errors.js';
import type { LogLine } from '../../shared/gen/rune/v1/log_service.js';
import { abortableSleep, backoffDelay, DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry-policy.js';
import type { RuneClient } from './rune-client.js';

export interface LogsRequest {
  namespace: string;
  /** A service name (all its instances) or an instance id. */
  target: string;
  follow: boolean;
  /** Last N lines of each instance; 0 all, -1 none (the StreamLogs convention). */
  tail: number;
  since?: Date;
}

export interface FollowLogsOptions {
  client: Pick<RuneClient, 'streamLogs'>;
  request: LogsRequest;
  /** Receives each batch of new lines; awaited (so a slow stdout slows the stream down). */
  onLines(lines: LogLine[]): void | Promise<void>;
  /** Told before each reconnect. `since` is the time the next attempt resumes from. */
  onRetry?(error: RuneError, attempt: number, delayMs: number, since: Date | undefined): void;
  /** Ends the stream quietly. */
  signal?: AbortSignal;
  retry?: Partial<RetryPolicy>;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** Streams until the server ends the stream or `signal` aborts (resolves), or a permanent error (rejects with a RuneError). */
export async function followLogs(options: FollowLogsOptions): Promise<void> {
  const { client, request, signal } = options;
  const policy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
  const sleep = options.sleep ?? abortableSleep;
  const delivered = new Delivered();
  let repeats: Repeats | undefined; // set while a resumed stream may replay delivered lines
  let next: LogsRequest = request;
  let failures = 0;

  while (!signal?.aborted) {
    try {
      for await (const message of client.streamLogs(next, { signal })) {
        failures = 0;
        const fresh = message.lines.filter((line) => !repeats?.isRepeat(line));
        for (const line of fresh) delivered.record(line);
        if (fresh.length > 0) await options.onLines(fresh);
      }
      return; // the server ended the stream: every line is out, or the target is gone
    } catch (err) {
      if (signal?.aborted) return;
      const error = RuneError.from(err);
      if (!request.follow || error.code !== 'UNAVAILABLE') throw error; // permanent
      failures++;
      if (failures > policy.retries) {
        throw new RuneError(error.code, `${error.message} (gave up after ${policy.retries} reconnect attempts)`, { cause: error });
      }
      // Transient: resume from the last line's time; nothing delivered yet means start over.
      if (delivered.time !== undefined) {
        next = { ...request, since: delivered.time, tail: 0 };
        repeats = delivered.repeats();
      }
      const delay = backoffDelay(policy, failures);
      options.onRetry?.(error, failures, delay, next.since);
      await sleep(delay, signal);
    }
  }
}

/** The newest line time delivered, and how many times each line was delivered at exactly that time. */
class Delivered {
  time: Date | undefined;
  private atTime = new Map<string, number>();

  record(line: LogLine): void {
    const t = line.time?.getTime();
    if (t === undefined) return;
    const last = this.time?.getTime();
    if (last !== undefined && t < last) return;
    if (last === undefined || t > last) {
      this.time = line.time;
      this.atTime = new Map();
    }
    const key = lineKey(line);
    this.atTime.set(key, (this.atTime.get(key) ?? 0) + 1);
  }

  /** What a stream resumed from `time` may send again. */
  repeats(): Repeats {
    return new Repeats(this.time!.getTime(), new Map(this.atTime));
  }
}

/**
 * Lines a resumed stream sends again: the server's clock is coarse and `since` may be
 * inclusive, so lines before the resume time, and those at it up to the count already
 * delivered, are repeats.
 */
class Repeats {
  constructor(
    private readonly time: number,
    private readonly remaining: Map<string, number>,
  ) {}

  isRepeat(line: LogLine): boolean {
    const t = line.time?.getTime();
    if (t === undefined || t > this.time) return false;
    if (t < this.time) return true;
    const key = lineKey(line);
    const left = this.remaining.get(key) ?? 0;
    if (left === 0) return false;
    this.remaining.set(key, left - 1);
    return true;
  }
}

function lineKey(line: LogLine): string {
  return `${line.instance}\u0000${line.text}`;
}
