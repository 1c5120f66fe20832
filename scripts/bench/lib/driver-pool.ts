/**
 * The load generator of the store scenarios: a few driver processes (lib/driver-worker.ts),
 * forked once per scenario and reused, so the client is not one event loop that saturates before
 * the server does. A unary run splits its concurrency and its calls across the workers, starts
 * them together and merges their latencies; throughput is all calls over the span from the first
 * worker's start to the last one's end. Each worker reports its own CPU time, so the report can
 * show how much headroom the driver had.
 *
 * Clocks: every worker's `timeOrigin + now()` is put on the harness's clock with an offset
 * measured by IPC round trips (the one with the smallest round trip wins), so receive times from
 * several processes compare with the harness's write times.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { childEnv, killGroup } from './cleanup.js';
import { sleep, withTimeout } from './wait.js';

export const now = () => performance.timeOrigin + performance.now();

export interface UnaryRun {
  /** Every call's latency, ms. */
  latencies: number[];
  /** Calls per second over the whole run. */
  throughput: number;
  /** Driver CPU over the run, as a share of one core, per worker (1 = a full core). */
  workerCpu: number[];
  errors: number;
  firstError: string;
}

export interface UnaryOptions {
  target: string;
  path: string;
  metadata?: [string, string][];
  /** Request bodies per worker (worker w sends bodies[w]; a single list is shared). */
  bodies: Uint8Array[] | Uint8Array[][];
  calls: number;
  concurrency: number;
  timeoutMs: number;
}

export interface WatchOpenOptions {
  side: 'runed' | 'etcd';
  target: string;
  metadata?: [string, string][];
  connections: number;
  watchesPerConnection: number;
  key?: string;
  kind?: string;
  namespace?: string;
  timeoutMs: number;
}

/** Subscribers of runed's run events (lib/run-receivers.ts). */
export interface RunWatchOpenOptions {
  transport: 'grpc' | 'socket';
  /** grpc: host:port; socket: the event socket's path. */
  target: string;
  metadata?: [string, string][];
  connections: number;
  /** grpc only: WatchRuns streams per connection (HTTP/2 streams on one channel). */
  streamsPerConnection: number;
  namespace: string;
  /** Only runs in these phases (the subscription's status filter); default: every run event. */
  status?: string[];
  timeoutMs: number;
}

interface Worker {
  child: ChildProcess;
  /** Add to this worker's times to put them on the harness's clock. */
  offset: number;
  exited: Promise<void>;
}

/** The receivers of one watch layout, spread over workers. */
export interface WatchGroup {
  /** Watches in the group. */
  watches: number;
  /** Harness-clock time at which the last watch of the group got `revision` (undefined yet). */
  lastArrival(revision: number): number | undefined;
  /** Harness-clock time at which the first watch of the group got `revision` (run-event groups only). */
  firstArrival?(revision: number): number | undefined;
  /** Waits until every watch got every revision of `revisions`; bounded. */
  waitFor(revisions: number[], timeoutMs: number): Promise<void>;
  errors: string[];
  close(): Promise<void>;
}

const workerEntry = join(import.meta.dirname, 'driver-worker.ts');

export class DriverPool {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (value: Record<string, unknown>) => void; reject: (err: Error) => void }>();
  private readonly arrivals = new Map<number, { perWorker: Map<number, number>[]; errors: string[]; first?: Map<number, number>[] }>();

  private constructor(private readonly workers: Worker[]) {}

  get size(): number {
    return this.workers.length;
  }

  /** Forks `count` workers tagged `tag` and measures their clock offsets. */
  static async start(options: { count: number; tag: string }): Promise<DriverPool> {
    const workers: Worker[] = [];
    const pool = new DriverPool(workers);
    try {
      for (let i = 0; i < options.count; i++) {
        // tsx's loader runs the worker's TypeScript; the worker is the driver, never what is measured.
        const child = fork(workerEntry, [], { env: childEnv(`${options.tag}/driver-${i}`), execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'], detached: true });
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        const ready = new Promise<void>((resolve, reject) => {
          child.once('error', reject);
          child.once('exit', (code) => reject(new Error(`driver worker exited (${code}) before it was ready`)));
          child.on('message', (message: { type: string }) => {
            if (message.type === 'ready') resolve();
          });
        });
        const index = workers.length;
        workers.push({ child, offset: 0, exited });
        child.on('message', (message: Record<string, unknown>) => pool.onMessage(index, message));
        await withTimeout('a driver worker to start', ready, 20_000);
      }
      for (let i = 0; i < workers.length; i++) workers[i]!.offset = await pool.measureOffset(i);
    } catch (err) {
      await pool.stop();
      throw err;
    }
    return pool;
  }

  private onMessage(index: number, message: Record<string, unknown>): void {
    if (message.type === 'reply') {
      const waiter = this.pending.get(message.id as number);
      if (!waiter) return;
      this.pending.delete(message.id as number);
      if (typeof message.error === 'string') waiter.reject(new Error(`driver worker ${index}: ${message.error}`));
      else waiter.resolve(message);
    } else if (message.type === 'arrived') {
      const group = this.arrivals.get(message.session as number);
      group?.perWorker[index]?.set(message.revision as number, (message.at as number) + this.workers[index]!.offset);
    } else if (message.type === 'first-arrived') {
      const group = this.arrivals.get(message.session as number);
      group?.first?.[index]?.set(message.revision as number, (message.at as number) + this.workers[index]!.offset);
    } else if (message.type === 'watch-error') {
      this.arrivals.get(message.session as number)?.errors.push(`worker ${index}: ${message.message as string}`);
    }
  }

  private request(index: number, job: Record<string, unknown>, timeoutMs: number): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    const answer = new Promise<Record<string, unknown>>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.workers[index]!.child.send({ ...job, id });
    });
    return withTimeout(`driver worker ${index} (${String(job.type)})`, answer, timeoutMs).finally(() => this.pending.delete(id));
  }

  /** The offset of worker `index`'s clock from ours, from the round trip with the least delay. */
  private async measureOffset(index: number): Promise<number> {
    let best = { rtt: Infinity, offset: 0 };
    for (let i = 0; i < 15; i++) {
      const sent = now();
      const reply = await this.request(index, { type: 'clock' }, 5_000);
      const received = now();
      const rtt = received - sent;
      if (rtt < best.rtt) best = { rtt, offset: (sent + received) / 2 - (reply.now as number) };
    }
    return best.offset;
  }

  /**
   * `calls` calls with `concurrency` in flight, split over the workers (fewer workers when the
   * concurrency is smaller than the pool). Every call must succeed: errors are counted and
   * returned, the caller decides.
   */
  async unary(options: UnaryOptions): Promise<UnaryRun> {
    const used = Math.min(this.workers.length, options.concurrency);
    const share = (total: number, w: number) => Math.floor(total / used) + (w < total % used ? 1 : 0);
    let offset = 0;
    const jobs = Array.from({ length: used }, (_, w) => {
      let list = Array.isArray(options.bodies[0]) ? (options.bodies as Uint8Array[][])[w]! : (options.bodies as Uint8Array[]);
      if (!Array.isArray(options.bodies[0])) {
        // A shared list: each worker starts where the previous one's calls end, so together they
        // send the list in order (a seed of n bodies with n calls sends each once).
        const at = offset % list.length;
        list = [...list.slice(at), ...list.slice(0, at)];
        offset += share(options.calls, w);
      }
      const bodies = list.map((b) => Buffer.from(b).toString('base64'));
      return { type: 'unary', target: options.target, path: options.path, metadata: options.metadata ?? [], bodies, calls: share(options.calls, w), concurrency: share(options.concurrency, w) };
    });
    const replies = await Promise.all(jobs.map((job, w) => this.request(w, job, options.timeoutMs)));
    const latencies: number[] = [];
    let first = Infinity;
    let last = -Infinity;
    let errors = 0;
    let firstError = '';
    const workerCpu: number[] = [];
    replies.forEach((r, w) => {
      latencies.push(...(r.latencies as number[]));
      const started = (r.startedAt as number) + this.workers[w]!.offset;
      const ended = (r.endedAt as number) + this.workers[w]!.offset;
      first = Math.min(first, started);
      last = Math.max(last, ended);
      errors += r.errors as number;
      firstError ||= r.firstError as string;
      workerCpu.push((r.cpuMs as number) / (ended - started));
    });
    return { latencies, throughput: options.calls / ((last - first) / 1000), workerCpu, errors, firstError };
  }

  /**
   * Opens watches: `connections` connections (one stream each, `watchesPerConnection` watches
   * per stream) spread evenly over `spread` workers (default: all). Resolves once every watch
   * is acknowledged.
   */
  openWatches(options: WatchOpenOptions & { spread?: number }): Promise<WatchGroup> {
    return this.openGroup({
      connections: options.connections,
      perConnection: options.watchesPerConnection,
      spread: options.spread,
      timeoutMs: options.timeoutMs,
      what: `${options.side} watch`,
      close: 'watch-close',
      open: (session, connections) => ({
        type: 'watch-open', session, side: options.side, target: options.target, metadata: options.metadata ?? [], connections, watchesPerConnection: options.watchesPerConnection,
        key: options.key ?? '', kind: options.kind ?? '', namespace: options.namespace ?? '', timeoutMs: options.timeoutMs,
      }),
    });
  }

  /**
   * Opens run-event subscribers of runed (lib/run-receivers.ts): `connections` connections
   * spread evenly over `spread` workers (default: all), each with `streamsPerConnection`
   * WatchRuns streams (grpc) or one event-socket subscription (socket). Resolves once every
   * subscriber has had its history end; arrivals are reported as for `openWatches`, plus the
   * first arrival of each event.
   */
  openRunWatches(options: RunWatchOpenOptions & { spread?: number }): Promise<WatchGroup> {
    const perConnection = options.transport === 'grpc' ? options.streamsPerConnection : 1;
    return this.openGroup({
      connections: options.connections,
      perConnection,
      spread: options.spread,
      timeoutMs: options.timeoutMs,
      what: `${options.transport === 'grpc' ? 'WatchRuns' : 'event-socket'} subscriber`,
      close: 'run-watch-close',
      firstArrivals: true,
      open: (session, connections) => ({
        type: 'run-watch-open', session, transport: options.transport, target: options.target, metadata: options.metadata ?? [], connections,
        streamsPerConnection: perConnection, namespace: options.namespace, status: options.status ?? [], timeoutMs: options.timeoutMs,
      }),
    });
  }

  /** A group of receivers over the workers: opening, arrivals (last, and first if asked), waiting, closing. */
  private async openGroup(options: {
    connections: number;
    perConnection: number;
    spread: number | undefined;
    timeoutMs: number;
    /** For messages: "etcd watch", "WatchRuns subscriber". */
    what: string;
    close: string;
    firstArrivals?: boolean;
    open: (session: number, connections: number) => Record<string, unknown>;
  }): Promise<WatchGroup> {
    const spread = Math.min(options.spread ?? this.workers.length, this.workers.length, options.connections);
    const session = this.nextId++;
    const perWorker = Array.from({ length: this.workers.length }, () => new Map<number, number>());
    const first = options.firstArrivals ? Array.from({ length: this.workers.length }, () => new Map<number, number>()) : undefined;
    const state = { perWorker, errors: [] as string[], ...(first ? { first } : {}) };
    this.arrivals.set(session, state);
    const used: number[] = [];
    const opens: Promise<unknown>[] = [];
    for (let w = 0; w < spread; w++) {
      const connections = Math.floor(options.connections / spread) + (w < options.connections % spread ? 1 : 0);
      used.push(w);
      // Every worker's part of the group shares the session id, so arrivals land in one place.
      opens.push(this.request(w, options.open(session, connections), options.timeoutMs + 5_000));
    }
    const close = async () => {
      await Promise.all(used.map((w) => this.request(w, { type: options.close, session }, 10_000).catch(() => undefined)));
      this.arrivals.delete(session);
    };
    try {
      await Promise.all(opens);
    } catch (err) {
      await close();
      throw err;
    }
    const lastArrival = (revision: number) => {
      let latest = -Infinity;
      for (const w of used) {
        const at = perWorker[w]!.get(revision);
        if (at === undefined) return undefined;
        latest = Math.max(latest, at);
      }
      return latest;
    };
    const firstArrival = first
      ? (revision: number) => {
          let earliest: number | undefined;
          for (const w of used) {
            const at = first[w]!.get(revision);
            if (at !== undefined && (earliest === undefined || at < earliest)) earliest = at;
          }
          return earliest;
        }
      : undefined;
    return {
      watches: options.connections * options.perConnection,
      lastArrival,
      ...(firstArrival ? { firstArrival } : {}),
      errors: state.errors,
      waitFor: async (revisions, timeoutMs) => {
        const until = Date.now() + timeoutMs;
        while (revisions.some((r) => lastArrival(r) === undefined)) {
          if (state.errors.length > 0) throw new Error(`a ${options.what} failed: ${state.errors[0]}`);
          if (Date.now() > until) throw new Error(`${options.what}s did not all get ${revisions.filter((r) => lastArrival(r) === undefined).length} of ${revisions.length} events within ${timeoutMs} ms`);
          await sleep(10);
        }
      },
      close,
    };
  }

  async stop(): Promise<void> {
    for (const worker of this.workers) {
      try {
        worker.child.disconnect();
      } catch {
        // already disconnected (it exited)
      }
      killGroup(worker.child.pid ?? 0);
    }
    await Promise.race([Promise.all(this.workers.map((w) => w.exited)), sleep(5_000)]);
  }
}
