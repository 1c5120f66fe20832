/**
 * Run-event receivers of a driver worker (lib/driver-worker.ts, messages `run-watch-open` and
 * `run-watch-close`): runed's WatchRuns streams over gRPC, several streams per connection
 * (HTTP/2 streams on one channel) or one connection each, and subscribers of the local event
 * socket (one connection each). Like the store watches, every receiver here decodes only the
 * revisions, and an event is reported (`arrived`, on this process's clock) once every
 * subscriber of this worker got it; `first-arrived` reports when the first one here got it (the
 * spread between the two is the fan-out's own time).
 *
 * Event-socket connections are opened at most SOCKET_CONNECTS_IN_FLIGHT at a time: a Unix
 * socket refuses connections beyond the server's listen backlog at once (EAGAIN) where TCP
 * would retry, and real clients do not all connect in the same millisecond.
 */
import { createConnection, type Socket } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { decodeWatchRuns, readSocketLine, RUNS, watchRunsBody } from './run-wire.js';

export interface RunWatchOpenJob {
  type: 'run-watch-open';
  id: number;
  /** The group this part belongs to (several workers share it). */
  session: number;
  transport: 'grpc' | 'socket';
  /** grpc: host:port; socket: the socket file's path. */
  target: string;
  metadata: [string, string][];
  connections: number;
  /** grpc: WatchRuns streams on each connection; the socket has one subscription per connection. */
  streamsPerConnection: number;
  namespace: string;
  /** Only runs in these phases (the subscription's status filter); empty: every run event. */
  status: string[];
  timeoutMs: number;
}

interface RunWatchSession {
  clients: grpc.Client[];
  streams: grpc.ClientReadableStream<Buffer>[];
  sockets: Socket[];
}

const sessions = new Map<number, RunWatchSession>();
const SOCKET_CONNECTS_IN_FLIGHT = 64;
const now = () => performance.timeOrigin + performance.now();
const identity = (value: Buffer) => value;
const passBytes = (value: Uint8Array) => Buffer.from(value.buffer, value.byteOffset, value.byteLength);

export async function openRunWatches(job: RunWatchOpenJob, send: (message: object) => void): Promise<object> {
  const session: RunWatchSession = { clients: [], streams: [], sockets: [] };
  sessions.set(job.session, session);
  const perConnection = job.transport === 'grpc' ? job.streamsPerConnection : 1;
  const expected = job.connections * perConnection;
  /** Subscribers here that got each revision so far. */
  const got = new Map<number, number>();
  let created = 0;
  let onCreated: (() => void) | undefined;
  const arrive = (revision: number, at: number) => {
    const count = (got.get(revision) ?? 0) + 1;
    if (count === 1) send({ type: 'first-arrived', session: job.session, revision, at });
    if (count === expected) {
      got.delete(revision);
      send({ type: 'arrived', session: job.session, revision, at });
    } else got.set(revision, count);
  };
  let onFailed: ((message: string) => void) | undefined;
  const fail = (message: string) => {
    send({ type: 'watch-error', session: job.session, message });
    onFailed?.(message);
  };
  /** Called when a subscriber's history ended; socket connects wait on it. */
  let onAcknowledged: (() => void) | undefined;
  const acknowledged = () => {
    created++;
    onAcknowledged?.();
    if (created >= expected) onCreated?.();
  };

  if (job.transport === 'grpc') {
    const md = new grpc.Metadata();
    for (const [k, v] of job.metadata) md.set(k, v);
    const body = watchRunsBody(job.namespace, job.status);
    for (let c = 0; c < job.connections; c++) {
      // A local subchannel pool: each client its own HTTP/2 connection, even to the same target.
      const client = new grpc.Client(job.target, grpc.credentials.createInsecure(), {
        'grpc-node.flow_control_window': 16 * 1024 * 1024,
        'grpc.use_local_subchannel_pool': 1,
      });
      session.clients.push(client);
      for (let s = 0; s < perConnection; s++) {
        const stream = client.makeServerStreamRequest(RUNS.watch, passBytes, identity, body, md);
        let ended = false;
        stream.on('data', (bytes: Buffer) => {
          const at = now();
          const message = decodeWatchRuns(bytes);
          for (const revision of message.revisions) arrive(revision, at);
          if (message.historyEnd && !ended) {
            ended = true;
            acknowledged();
          }
        });
        stream.on('error', (err: grpc.ServiceError) => {
          if (err.code !== grpc.status.CANCELLED) fail(`WatchRuns: ${err.code} ${err.details}`);
        });
        session.streams.push(stream);
      }
    }
  } else {
    const request = `${JSON.stringify({ action: 'subscribe', namespaces: [job.namespace], ...(job.status.length > 0 ? { filter: { status: job.status } } : {}) })}\n`;
    for (let c = 0; c < job.connections; c++) {
      if (c - created >= SOCKET_CONNECTS_IN_FLIGHT) {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`event-socket subscribers: ${created} of ${c} acknowledged after ${job.timeoutMs} ms`)), job.timeoutMs);
          onAcknowledged = () => {
            if (c - created >= SOCKET_CONNECTS_IN_FLIGHT) return;
            clearTimeout(timer);
            onAcknowledged = undefined;
            onFailed = undefined;
            resolve();
          };
          onFailed = (message) => {
            clearTimeout(timer);
            onAcknowledged = undefined;
            onFailed = undefined;
            reject(new Error(message));
          };
        });
      }
      const socket = createConnection(job.target);
      let rest: Buffer | undefined;
      let ended = false;
      socket.on('connect', () => socket.write(request));
      socket.on('data', (chunk: Buffer) => {
        const at = now();
        const data = rest ? Buffer.concat([rest, chunk]) : chunk;
        let start = 0;
        for (let nl = data.indexOf(10); nl !== -1; nl = data.indexOf(10, start)) {
          const line = readSocketLine(data.subarray(start, nl));
          start = nl + 1;
          if (line.kind === 'event') arrive(line.revision, at);
          else if (line.kind === 'history-end' && !ended) {
            ended = true;
            acknowledged();
          } else if (line.kind === 'error') fail(`event socket: ${line.text}`);
        }
        // Keep an unfinished line (a copy: the chunk's buffer may be reused).
        rest = start < data.length ? Buffer.from(data.subarray(start)) : undefined;
      });
      socket.on('error', (err) => fail(`event socket: ${err.message}`));
      session.sockets.push(socket);
    }
  }
  if (created < expected) {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${created} of ${expected} ${job.transport} run subscribers acknowledged after ${job.timeoutMs} ms`)), job.timeoutMs);
      onCreated = () => {
        clearTimeout(timer);
        onCreated = undefined;
        onFailed = undefined;
        resolve();
      };
      onFailed = (message) => {
        clearTimeout(timer);
        onCreated = undefined;
        onFailed = undefined;
        reject(new Error(message));
      };
    });
  }
  return { created };
}

export function closeRunWatches(id: number): void {
  const session = sessions.get(id);
  if (!session) return;
  for (const stream of session.streams) stream.cancel();
  for (const client of session.clients) client.close();
  for (const socket of session.sockets) socket.destroy();
  sessions.delete(id);
}
