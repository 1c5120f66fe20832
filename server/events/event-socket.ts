/**
 * The local event socket: `<data-dir>/runed.sock` (mode 0600), JSON lines both ways, no token.
 * The socket file's permissions are the authentication: only runed's user (and root) can
 * connect, and whoever can connect sees every namespace's run events.
 *
 * Requests (socket-request.ts) and what comes back, one JSON object per line:
 * - `{"action":"subscribe",…}` → the matching history (`includeHistory`, or every event after
 *   `fromRevision`), then `{"event":"history-end","revision":N}`, then live run events
 *   (run-event-json.ts) until the connection closes. One subscription per connection.
 * - `{"action":"status"}` → `{"event":"status",…}`: the daemon status (version, pid, uptime,
 *   store revision, supervised processes, housekeeping tasks' last and next runs).
 * - A bad request → `{"event":"error","code":"INVALID_ARGUMENT","field":"filter.status[0]","message":…}`;
 *   the connection stays usable (send the next request on the next line).
 *
 * Bounds: a request line longer than `maxLineBytes` gets an error and the connection is closed
 * (the rest of the line cannot be told from a next request); beyond `maxConnections` a new
 * connection gets an error line and is closed; a subscriber with more than `maxBufferedBytes`
 * written but unread is cut off: `{"event":"error","code":"RESOURCE_EXHAUSTED","fromRevision":R,…}`
 * is its last line, and subscribing again with `fromRevision` R loses and repeats nothing. A
 * subscription that cannot start or ends (`OUT_OF_RANGE`: resume point compacted away, list and
 * subscribe from now; `UNAVAILABLE`: runed is stopping) gets an error line the same way.
 *
 * Heartbeats: a subscriber that received nothing for `heartbeatMs` gets
 * `{"event":"heartbeat","revision":R}` (R: where it would resume). Clients may ignore it; its
 * point is that a client gone away without the server noticing (the socket allows half-open
 * connections, so a client that only closed its sending side keeps receiving) fails the write
 * and frees its connection, instead of holding one of `maxConnections` forever.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { RuneError } from '../../shared/errors.js';
import { openRunFeed } from '../domain/run-events.js';
import type { Store, StoreEvent, Subscription } from '../store/store.js';
import { listenPrivately, type PrivateSocket } from './private-socket.js';
import { runEventLine } from './run-event-json.js';
import { parseSocketRequest, type SubscribeRequest } from './socket-request.js';

export const SOCKET_FILE = 'runed.sock';

export interface EventSocketOptions {
  /** Socket file path (`--event-socket`; default `<data-dir>/runed.sock`). */
  path: string;
  store: Store;
  /** The body of the `status` answer (read on each request). */
  status: () => object;
  log?: Logger;
  /** Default 1024. */
  maxConnections?: number;
  /** Longest request line, bytes. Default 64 KiB. */
  maxLineBytes?: number;
  /** Bytes written to a connection but not yet read by the client before it is cut off. Default 8 MiB. */
  maxBufferedBytes?: number;
  /** How long a cut-off or refused connection may take to read its last line. Default 10 s. */
  closeGraceMs?: number;
  /** A subscriber idle this long gets a heartbeat line (dead peers are found by the write). Default 15 s. */
  heartbeatMs?: number;
}

export interface EventSocket {
  readonly path: string;
  readonly connections: number;
  readonly subscriptions: number;
  /** Stops accepting, ends every connection (subscribers get an UNAVAILABLE line) and removes the socket file. */
  close(): Promise<void>;
}

/** Error line fields. */
interface ErrorLine {
  code: string;
  message: string;
  field?: string;
  /** Subscribe again with this fromRevision to continue without loss or repeat. */
  fromRevision?: number;
}

export async function startEventSocket(options: EventSocketOptions): Promise<EventSocket> {
  const limits = {
    maxConnections: options.maxConnections ?? 1024,
    maxLineBytes: options.maxLineBytes ?? 64 * 1024,
    maxBufferedBytes: options.maxBufferedBytes ?? 8 * 1024 * 1024,
    closeGraceMs: options.closeGraceMs ?? 10_000,
  };
  const heartbeatMs = options.heartbeatMs ?? 15_000;
  const connections = new Set<Connection>();
  const server: Server = createServer({ allowHalfOpen: true }, (socket) => {
    const connection = new Connection(socket, options, limits);
    if (connections.size >= limits.maxConnections) {
      connection.refuse({ code: 'RESOURCE_EXHAUSTED', message: `the event socket serves at most ${limits.maxConnections} connections; close one and connect again` });
      return;
    }
    connections.add(connection);
    socket.once('close', () => connections.delete(connection));
  });
  server.on('error', (err) => options.log?.warn({ err, path: options.path }, 'event socket error'));
  // One timer for every connection; each sends a heartbeat only when it has been idle.
  const heartbeats = setInterval(() => {
    for (const c of connections) c.heartbeat(heartbeatMs);
  }, heartbeatMs);
  heartbeats.unref();
  const file: PrivateSocket = await listenPrivately(server, options.path);
  options.log?.debug({ path: file.path }, 'event socket listening');
  let closing: Promise<void> | undefined;
  return {
    path: file.path,
    get connections() {
      return connections.size;
    },
    get subscriptions() {
      let n = 0;
      for (const c of connections) if (c.subscribed) n++;
      return n;
    },
    close: () =>
      (closing ??= (async () => {
        clearInterval(heartbeats);
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const c of connections) c.shutdown();
        await closed;
        await file.remove();
      })()),
  };
}

type Limits = Required<Pick<EventSocketOptions, 'maxConnections' | 'maxLineBytes' | 'maxBufferedBytes' | 'closeGraceMs'>>;

/** One client: its request lines in, its answers and events out. */
class Connection {
  private input: Buffer[] = [];
  private inputBytes = 0;
  private inputEnded = false;
  private ended = false;
  /** A subscription is starting or running. */
  private feed: { subscription?: Subscription; closed: boolean } | undefined;
  /** Lines queued by the feed for the next flush, and the revision they bring the client up to. */
  private pending: Buffer[] = [];
  private pendingRevision = 0;
  private flushScheduled = false;
  /** The revision of the last event line written: where a cut-off subscriber resumes. */
  private written = 0;
  /** When anything was last written to a subscriber (performance.now()). */
  private lastWriteAt = performance.now();

  constructor(private readonly socket: Socket, private readonly options: EventSocketOptions, private readonly limits: Limits) {
    socket.on('error', () => this.closeFeed()); // EPIPE, ECONNRESET: the client went away
    socket.on('close', () => this.closeFeed());
    socket.on('data', (chunk: Buffer) => this.received(chunk));
    socket.on('end', () => {
      this.inputEnded = true;
      // The client is done sending: answer what it asked, then close; a subscriber keeps receiving.
      if (!this.subscribed) this.end();
    });
  }

  get subscribed(): boolean {
    return this.feed !== undefined && !this.feed.closed;
  }

  /** A heartbeat line when a subscriber has received nothing for `idleMs`. */
  heartbeat(idleMs: number): void {
    if (!this.subscribed || this.ended || performance.now() - this.lastWriteAt < idleMs) return;
    this.send(`{"event":"heartbeat","revision":${this.written}}\n`);
  }

  /** Too many connections: one error line, then closed. */
  refuse(error: ErrorLine): void {
    this.fail(error);
  }

  /** runed is stopping. */
  shutdown(): void {
    const subscribed = this.subscribed;
    this.fail({ code: 'UNAVAILABLE', message: 'runed is shutting down; connect again when it is back (subscribers: with fromRevision to resume)', ...(subscribed ? { fromRevision: this.written } : {}) }, 1000);
  }

  private received(chunk: Buffer): void {
    if (this.ended) return;
    let start = 0;
    for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
      const part = chunk.subarray(start, nl);
      start = nl + 1;
      if (this.inputBytes + part.length > this.limits.maxLineBytes) return this.lineTooLong();
      const line = this.input.length === 0 ? part : Buffer.concat([...this.input, part]);
      this.input = [];
      this.inputBytes = 0;
      this.handle(line.toString('utf8'));
      if (this.ended) return;
    }
    if (start < chunk.length) {
      this.input.push(chunk.subarray(start));
      this.inputBytes += chunk.length - start;
      if (this.inputBytes > this.limits.maxLineBytes) this.lineTooLong();
    }
  }

  private lineTooLong(): void {
    this.fail({ code: 'INVALID_ARGUMENT', field: 'request', message: `request: a line is longer than ${this.limits.maxLineBytes} bytes; the connection is closed` });
  }

  private handle(line: string): void {
    if (line.trim() === '') return;
    let request;
    try {
      request = parseSocketRequest(line);
    } catch (err) {
      this.sendError(errorLine(err));
      return;
    }
    if (request.action === 'status') {
      this.send(`${JSON.stringify({ event: 'status', ...this.options.status() })}\n`);
      return;
    }
    if (this.subscribed) {
      this.sendError({ code: 'FAILED_PRECONDITION', field: 'action', message: 'action: this connection already has a subscription; open another connection for another one' });
      return;
    }
    this.subscribe(request);
  }

  private subscribe(request: SubscribeRequest): void {
    const feed: { subscription?: Subscription; closed: boolean } = { closed: false };
    this.feed = feed;
    this.written = request.fromRevision;
    const ended = (err: unknown) => {
      if (feed.closed) return;
      // Lines queued before the error still go out first.
      this.flush();
      this.closeFeed();
      const e = errorLine(err);
      this.sendError(e.code === 'OUT_OF_RANGE' ? e : { ...e, fromRevision: this.written });
      if (this.inputEnded) this.end();
    };
    openRunFeed(
      this.options.store,
      request.selector,
      { includeHistory: request.includeHistory, fromRevision: request.fromRevision },
      {
        batch: (events, revision, historyEnd) => {
          if (feed.closed) return;
          for (const event of events) this.pending.push(runEventLine(event as StoreEvent));
          if (historyEnd) this.pending.push(Buffer.from(`{"event":"history-end","revision":${revision}}\n`));
          this.pendingRevision = revision;
          if (!this.flushScheduled) {
            this.flushScheduled = true;
            // setImmediate, not a microtask: commits finishing in the same I/O phase share one write.
            setImmediate(() => this.flush());
          }
        },
        error: ended,
      },
    ).then(
      (subscription) => {
        if (feed.closed) subscription.close();
        else feed.subscription = subscription;
      },
      ended,
    );
  }

  private flush(): void {
    this.flushScheduled = false;
    if (this.pending.length === 0 || this.ended) return;
    if (this.socket.writableLength > this.limits.maxBufferedBytes) {
      this.closeFeed();
      this.fail({
        code: 'RESOURCE_EXHAUSTED',
        fromRevision: this.written,
        message: `this subscriber fell behind (${this.socket.writableLength} bytes unread) and was cut off; subscribe again with fromRevision ${this.written}`,
      });
      return;
    }
    const lines = this.pending;
    this.pending = [];
    this.written = this.pendingRevision;
    this.lastWriteAt = performance.now();
    this.socket.write(lines.length === 1 ? lines[0]! : Buffer.concat(lines));
  }

  private send(line: string): void {
    if (this.ended) return;
    if (this.socket.writableLength > this.limits.maxBufferedBytes) {
      this.closeFeed();
      this.fail({ code: 'RESOURCE_EXHAUSTED', message: `this client does not read its answers (${this.socket.writableLength} bytes unread); the connection is closed` });
      return;
    }
    this.lastWriteAt = performance.now();
    this.socket.write(line);
  }

  private sendError(error: ErrorLine): void {
    this.send(`${JSON.stringify({ event: 'error', ...error })}\n`);
  }

  /** A last error line, then the connection closes (destroyed if the client does not read it in time). */
  private fail(error: ErrorLine, graceMs = this.limits.closeGraceMs): void {
    if (this.ended) return;
    this.closeFeed();
    this.socket.write(`${JSON.stringify({ event: 'error', ...error })}\n`);
    this.end(graceMs);
  }

  private end(graceMs = this.limits.closeGraceMs): void {
    if (this.ended) return;
    this.ended = true;
    this.socket.end();
    setTimeout(() => this.socket.destroy(), graceMs).unref();
  }

  private closeFeed(): void {
    if (!this.feed || this.feed.closed) return;
    this.feed.closed = true;
    this.feed.subscription?.close();
    this.pending = [];
  }
}

function errorLine(err: unknown): ErrorLine {
  const e = RuneError.from(err);
  const field = e.violations[0]?.field;
  return { code: e.code, ...(field ? { field } : {}), message: e.message };
}
