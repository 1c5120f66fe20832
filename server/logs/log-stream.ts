/**
 * Streams the logs of several instances as one: what is there first, interleaved by time (a
 * merge of the instances' lines, each instance's in its own order), then, when following, new
 * lines as they come (each poll's lines sorted by time), picking up instances that appear.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { LogReader, type TimedLine } from './log-reader.js';

/** One instance's log. */
export interface LogSource {
  instance: string;
  /** '' while the instance has no log yet (skipped until it has). */
  logPath: string;
}

export interface SourcedLine extends TimedLine {
  instance: string;
}

export interface StreamLogsOptions {
  /** Last N lines of each instance; 0 all; -1 none. */
  tail: number;
  since?: Date;
  follow: boolean;
  /** Ends the stream (between batches). */
  signal: AbortSignal;
  /** Receives each batch; the stream waits for the returned promise (backpressure). */
  write: (lines: SourcedLine[]) => Promise<void>;
  /**
   * When following: the sources now (e.g. the instances of a service, re-listed), asked every
   * `discoverMs`; new ones are read from their start. Default: the initial sources only.
   */
  discover?: () => Promise<LogSource[]>;
  /** How often a followed log is checked for new lines. Default 200 ms. */
  pollMs?: number;
  /** How often `discover` is asked. Default 1000 ms. */
  discoverMs?: number;
  /** Text bytes per batch, about. Default 64 KiB. */
  maxBatchBytes?: number;
  /** For readers: the clock of lines not indexed yet. Default Date.now. */
  now?: () => number;
}

interface Open {
  source: LogSource;
  reader: LogReader;
  /** Lines read but not written yet (merge phase), from `head` on. */
  queue: TimedLine[];
  head: number;
  done: boolean;
}

/** Streams until everything there was is written (no follow) or `signal` aborts (follow). */
export async function streamLogs(sources: LogSource[], options: StreamLogsOptions): Promise<void> {
  const maxBatchBytes = options.maxBatchBytes ?? 64 * 1024;
  const opened = new Map<string, Open>();
  try {
    for (const source of sources) {
      if (!source.logPath || opened.has(source.instance)) continue;
      const reader = await LogReader.open(source.logPath, { tail: options.tail, since: options.since, snapshot: !options.follow, now: options.now });
      opened.set(source.instance, { source, reader, queue: [], head: 0, done: false });
    }
    await mergeExisting([...opened.values()], options, maxBatchBytes);
    if (!options.follow) {
      const rest: SourcedLine[] = [];
      for (const o of opened.values()) {
        const line = o.reader.flush();
        if (line) rest.push({ instance: o.source.instance, ...line });
      }
      if (rest.length > 0 && !options.signal.aborted) await options.write(byTime(rest));
      return;
    }
    await follow(opened, options, maxBatchBytes);
  } finally {
    for (const o of opened.values()) await o.reader.close();
  }
}

/** Writes what each log holds now, merged by time. */
async function mergeExisting(open: Open[], options: StreamLogsOptions, maxBatchBytes: number): Promise<void> {
  let batch: SourcedLine[] = [];
  let batchBytes = 0;
  // Bounded: each pass writes one line or retires a reader (whose log is read to its end).
  while (!options.signal.aborted) {
    let next: Open | undefined;
    for (const o of open) {
      if (o.done) continue;
      if (o.head === o.queue.length) {
        o.queue = await o.reader.read({ maxBytes: maxBatchBytes });
        o.head = 0;
        if (o.queue.length === 0) {
          o.done = true;
          continue;
        }
      }
      if (!next || o.queue[o.head]!.time < next.queue[next.head]!.time) next = o;
    }
    if (!next) break;
    const line = next.queue[next.head++]!;
    batch.push({ instance: next.source.instance, ...line });
    batchBytes += line.text.length + 32;
    if (batchBytes >= maxBatchBytes) {
      await options.write(batch);
      batch = [];
      batchBytes = 0;
    }
  }
  if (batch.length > 0 && !options.signal.aborted) await options.write(batch);
}

async function follow(opened: Map<string, Open>, options: StreamLogsOptions, maxBatchBytes: number): Promise<void> {
  const pollMs = options.pollMs ?? 200;
  const discoverMs = options.discoverMs ?? 1000;
  let discoveredAt = Date.now();
  while (!options.signal.aborted) {
    if (options.discover && Date.now() - discoveredAt >= discoverMs) {
      discoveredAt = Date.now();
      for (const source of await options.discover()) {
        if (!source.logPath || opened.has(source.instance)) continue;
        // A new instance: all of its log is new (still only lines since `since`).
        const reader = await LogReader.open(source.logPath, { since: options.since, now: options.now });
        opened.set(source.instance, { source, reader, queue: [], head: 0, done: false });
      }
    }
    const lines: SourcedLine[] = [];
    for (const o of opened.values()) {
      for (const line of await o.reader.read({ maxBytes: maxBatchBytes })) lines.push({ instance: o.source.instance, ...line });
    }
    if (lines.length === 0) {
      await sleep(pollMs, undefined, { signal: options.signal }).catch(() => {});
      continue;
    }
    const sorted = byTime(lines);
    // One message per poll unless it is large.
    for (let i = 0; i < sorted.length && !options.signal.aborted; ) {
      let size = 0;
      let j = i;
      while (j < sorted.length && (j === i || size < maxBatchBytes)) size += sorted[j++]!.text.length + 32;
      await options.write(sorted.slice(i, j));
      i = j;
    }
  }
}

/** Sorted by time; the sort is stable, so lines of one instance keep their order (their times never go back). */
function byTime(lines: SourcedLine[]): SourcedLine[] {
  return [...lines].sort((a, b) => a.time.getTime() - b.time.getTime());
}
