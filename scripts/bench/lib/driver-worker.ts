/**
 * One driver process of lib/driver-pool.ts (forked with an IPC channel, run under tsx's loader:
 * it is the load generator, not what is measured). It drives runed and etcd with the same
 * code: grpc-js generic calls on prebuilt request bodies, responses read as raw bytes (or, for
 * watches, decoded by lib/wire.ts only as far as revisions and watch ids), so the work per call
 * is the same whichever server answers.
 *
 * Messages (parent → worker → parent), each with the parent's `id`:
 *   clock                          → { now }           this process's clock, for the offset
 *   unary { target, path, ... }    → { latencies, startedAt, endedAt, cpuMs, errors }
 *   watch-open { side, ... }       → { created }       then 'arrived' { revision, at } pushed
 *                                                       as soon as every watch here got it
 *   watch-close                    → {}
 *   run-watch-open { transport, ...} → { created }     runed's run events (lib/run-receivers.ts):
 *                                                       WatchRuns streams or event-socket
 *                                                       subscribers; 'arrived' as for watches,
 *                                                       plus 'first-arrived' { revision, at }
 *   run-watch-close                → {}
 * Times are epoch ms from `performance.timeOrigin + performance.now()`; the parent corrects
 * each worker's offset (measured by 'clock' round trips) before comparing them.
 */
import * as grpc from '@grpc/grpc-js';
import { closeRunWatches, openRunWatches, type RunWatchOpenJob } from './run-receivers.js';
import { decodeEtcdWatch, decodeRunedWatch, etcdWatchCreate, runedWatchCreate } from './wire.js';

const now = () => performance.timeOrigin + performance.now();
const identity = (value: Buffer) => value;
const passBytes = (value: Uint8Array) => Buffer.from(value.buffer, value.byteOffset, value.byteLength);

export interface UnaryJob {
  type: 'unary';
  id: number;
  target: string;
  path: string;
  /** Metadata as [key, value] pairs (runed's bearer token). */
  metadata: [string, string][];
  /** Request bodies, base64; call i sends bodies[i % length]. */
  bodies: string[];
  calls: number;
  concurrency: number;
}

export interface WatchOpenJob {
  type: 'watch-open';
  id: number;
  /** The group this part belongs to (several workers share it). */
  session: number;
  side: 'runed' | 'etcd';
  target: string;
  metadata: [string, string][];
  /** Connections to open, each one stream. */
  connections: number;
  /** Watches on each stream. */
  watchesPerConnection: number;
  /** etcd: the key watched. runed: kind and namespace watched. */
  key: string;
  kind: string;
  namespace: string;
  timeoutMs: number;
}

type Job = UnaryJob | WatchOpenJob | { type: 'clock'; id: number } | { type: 'watch-close'; id: number; session: number } | RunWatchOpenJob | { type: 'run-watch-close'; id: number; session: number };

const send = (message: object) => process.send?.(message);

/** One channel per target for unary calls; watch connections get their own (below). */
const unaryClients = new Map<string, grpc.Client>();
function unaryClient(target: string): grpc.Client {
  let client = unaryClients.get(target);
  if (!client) {
    client = new grpc.Client(target, grpc.credentials.createInsecure(), { 'grpc-node.flow_control_window': 16 * 1024 * 1024 });
    unaryClients.set(target, client);
  }
  return client;
}

function metadataOf(pairs: [string, string][]): grpc.Metadata {
  const md = new grpc.Metadata();
  for (const [k, v] of pairs) md.set(k, v);
  return md;
}

async function runUnary(job: UnaryJob): Promise<object> {
  const client = unaryClient(job.target);
  const md = metadataOf(job.metadata);
  const bodies = job.bodies.map((b) => Buffer.from(b, 'base64'));
  const latencies = new Array<number>(job.calls);
  let next = 0;
  let errors = 0;
  let firstError = '';
  const call = (body: Buffer) =>
    new Promise<void>((resolve) => {
      client.makeUnaryRequest(job.path, identity, identity, body, md, (err) => {
        if (err) {
          errors++;
          firstError ||= `${err.code} ${err.details}`;
        }
        resolve();
      });
    });
  const cpu0 = process.cpuUsage();
  const startedAt = now();
  const loop = async () => {
    while (next < job.calls) {
      const i = next++;
      const t0 = performance.now();
      await call(bodies[i % bodies.length]!);
      latencies[i] = performance.now() - t0;
    }
  };
  await Promise.all(Array.from({ length: Math.min(job.concurrency, job.calls) }, loop));
  const endedAt = now();
  const cpu = process.cpuUsage(cpu0);
  return { latencies, startedAt, endedAt, cpuMs: (cpu.user + cpu.system) / 1000, errors, firstError };
}

interface WatchSession {
  clients: grpc.Client[];
  streams: grpc.ClientDuplexStream<Buffer, Buffer>[];
}
const sessions = new Map<number, WatchSession>();

async function openWatches(job: WatchOpenJob): Promise<object> {
  const session: WatchSession = { clients: [], streams: [] };
  sessions.set(job.session, session);
  const md = metadataOf(job.metadata);
  const expected = job.connections * job.watchesPerConnection;
  /** Watches here that got each revision so far. */
  const got = new Map<number, number>();
  let created = 0;
  let canceled = 0;
  let onCreated: (() => void) | undefined;
  const arrive = (revision: number, watches: number, at: number) => {
    const count = (got.get(revision) ?? 0) + watches;
    got.set(revision, count);
    if (count === expected) {
      got.delete(revision);
      send({ type: 'arrived', session: job.session, revision, at });
    }
  };
  const path = job.side === 'etcd' ? '/etcdserverpb.Watch/Watch' : '/rune.v1.WatchService/Watch';
  for (let c = 0; c < job.connections; c++) {
    // A local subchannel pool: each client its own HTTP/2 connection, even to the same target.
    const client = new grpc.Client(job.target, grpc.credentials.createInsecure(), {
      'grpc-node.flow_control_window': 16 * 1024 * 1024,
      'grpc.use_local_subchannel_pool': 1,
    });
    const stream = client.makeBidiStreamRequest(path, passBytes, identity, md);
    stream.on('data', (bytes: Buffer) => {
      const at = now();
      if (job.side === 'etcd') {
        const message = decodeEtcdWatch(bytes);
        if (message.created) created++;
        if (message.canceled) canceled++;
        for (const revision of message.revisions) arrive(revision, 1, at);
      } else {
        const message = decodeRunedWatch(bytes);
        created += message.created;
        canceled += message.canceled;
        for (const event of message.events) arrive(event.revision, event.watches, at);
      }
      if (created >= expected) onCreated?.();
    });
    stream.on('error', (err: grpc.ServiceError) => {
      if (err.code !== grpc.status.CANCELLED) send({ type: 'watch-error', session: job.session, message: `${err.code} ${err.details}` });
    });
    for (let w = 0; w < job.watchesPerConnection; w++) {
      const watchId = c * job.watchesPerConnection + w + 1;
      stream.write(job.side === 'etcd' ? etcdWatchCreate(job.key, watchId) : runedWatchCreate(watchId, job.kind, job.namespace));
    }
    session.clients.push(client);
    session.streams.push(stream);
  }
  if (created < expected) {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${created} of ${expected} ${job.side} watches acknowledged after ${job.timeoutMs} ms (${canceled} canceled)`)), job.timeoutMs);
      onCreated = () => {
        clearTimeout(timer);
        onCreated = undefined;
        resolve();
      };
    });
  }
  return { created, canceled };
}

function closeWatches(id: number): void {
  const session = sessions.get(id);
  if (!session) return;
  for (const stream of session.streams) stream.cancel();
  for (const client of session.clients) client.close();
  sessions.delete(id);
}

process.on('message', (job: Job) => {
  const reply = (body: object) => send({ ...body, type: 'reply', id: job.id });
  const fail = (err: unknown) => send({ type: 'reply', id: job.id, error: (err as Error).message ?? String(err) });
  switch (job.type) {
    case 'clock':
      reply({ now: now() });
      break;
    case 'unary':
      runUnary(job).then(reply, fail);
      break;
    case 'watch-open':
      openWatches(job).then(reply, fail);
      break;
    case 'watch-close':
      closeWatches(job.session);
      reply({});
      break;
    case 'run-watch-open':
      openRunWatches(job, send).then(reply, fail);
      break;
    case 'run-watch-close':
      closeRunWatches(job.session);
      reply({});
      break;
  }
});
process.on('disconnect', () => process.exit(0));
send({ type: 'ready' });
