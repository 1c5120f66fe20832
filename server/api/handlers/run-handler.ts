/**
 * RunService: list, get, start, cancel and delete runs, their event stream (WatchRuns) and
 * their logs. WatchRuns writes pre-encoded bytes: each RunEvent is encoded once per store event
 * and shared by every stream (the run's bytes are the store's own), and whatever reached a
 * stream in one turn of the event loop leaves as one message. A stream whose client stops
 * reading is cut off with RESOURCE_EXHAUSTED naming the revision to resume from.
 */
import type { ServerWritableStream } from '@grpc/grpc-js';
import { BinaryWriter } from '@bufbuild/protobuf/wire';
import { RuneError } from '../../../shared/errors.js';
import type { Run } from '../../../shared/gen/rune/v1/run.js';
import type {
  CancelRunRequest,
  DeleteRunRequest,
  GetRunRequest,
  ListRunsRequest,
  StartRunRequest,
  StreamRunLogsRequest,
  WatchRunsRequest,
} from '../../../shared/gen/rune/v1/run_service.js';
import { openRunFeed, runEventType, MAX_RUN_HISTORY } from '../../domain/run-events.js';
import { cancelRun, checkRunFilter, deleteRun, getRun, isTerminal, listRuns, startRun } from '../../domain/runs.js';
import { streamLogs } from '../../logs/log-stream.js';
import type { Store, StoreEvent } from '../../store/store.js';
import type { CallContext } from '../chain.js';
import type { HandlerMap } from '../dispatch.js';
import { sendLogLines, type LogHandlerOptions } from './log-handler.js';

/** Messages a WatchRuns client may leave unread before it is cut off. */
const MAX_PENDING_MESSAGES = 1024;

export function runHandlers(store: Store, logOptions: LogHandlerOptions = {}): HandlerMap {
  return {
    '/rune.v1.RunService/ListRuns': async (req: ListRunsRequest) => listRuns(store, req.namespace, req.filter, req.options ?? {}),
    '/rune.v1.RunService/GetRun': async (req: GetRunRequest) => ({ run: await getRun(store, req.namespace, req.id) }),
    '/rune.v1.RunService/StartRun': async (req: StartRunRequest) => {
      if (!req.job) throw RuneError.invalid('job', 'is required: the name of the job to run');
      return { run: await startRun(store, req.namespace, req.job, req.env) };
    },
    '/rune.v1.RunService/CancelRun': async (req: CancelRunRequest) => ({ run: await cancelRun(store, req.namespace, req.id, req.reason) }),
    '/rune.v1.RunService/DeleteRun': async (req: DeleteRunRequest) => ({ run: await deleteRun(store, req.namespace, req.id) }),
    '/rune.v1.RunService/WatchRuns': (req: WatchRunsRequest, ctx: CallContext, call: ServerWritableStream<unknown, unknown>) => serveWatchRuns(store, req, ctx, call),
    '/rune.v1.RunService/StreamRunLogs': (req: StreamRunLogsRequest, ctx: CallContext, call: ServerWritableStream<unknown, unknown>) =>
      serveRunLogs(store, logOptions, req, ctx, call),
  };
}

/** RunEvent bytes per store event, shared by every stream. */
const encodedRunEvents = new WeakMap<StoreEvent, Uint8Array>();

function encodeRunEvent(event: StoreEvent): Uint8Array {
  let bytes = encodedRunEvents.get(event);
  if (!bytes) {
    bytes = new BinaryWriter().uint32(8).int64(event.revision).uint32(18).string(runEventType(event)).uint32(26).bytes(event.encoded).finish();
    encodedRunEvents.set(event, bytes);
  }
  return bytes;
}

function serveWatchRuns(store: Store, req: WatchRunsRequest, ctx: CallContext, call: ServerWritableStream<unknown, unknown>): Promise<void> {
  checkRunFilter(req.filter);
  if (req.includeHistory < 0 || req.includeHistory > MAX_RUN_HISTORY) {
    throw RuneError.invalid('includeHistory', `must be between 0 and ${MAX_RUN_HISTORY} (got ${req.includeHistory})`);
  }
  if (req.fromRevision < 0) throw RuneError.invalid('fromRevision', `must not be negative (got ${req.fromRevision})`);
  return new Promise<void>((resolve, reject) => {
    let pending: StoreEvent[] = [];
    let pendingRevision = 0;
    let historyEnd = false;
    let scheduled = false;
    let done = false;
    let subscription: { close(): void } | undefined;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      subscription?.close();
      if (err) reject(err);
      else resolve();
    };
    const flush = () => {
      scheduled = false;
      if (done) return;
      if (call.writableLength > MAX_PENDING_MESSAGES) {
        finish(new RuneError('RESOURCE_EXHAUSTED', `run event stream fell behind (${call.writableLength} messages unread); it was cut off: watch again with fromRevision ${lastSent}`));
        return;
      }
      const writer = new BinaryWriter();
      for (const event of pending) writer.uint32(10).bytes(encodeRunEvent(event));
      writer.uint32(16).int64(pendingRevision);
      if (historyEnd) writer.uint32(24).bool(true);
      lastSent = pendingRevision;
      pending = [];
      historyEnd = false;
      call.write(writer.finish());
    };
    let lastSent = req.fromRevision;
    openRunFeed(
      store,
      { namespaces: [req.namespace || '*'], filter: req.filter },
      { includeHistory: req.includeHistory, fromRevision: req.fromRevision },
      {
        batch: (events, revision, end) => {
          pending.push(...events);
          pendingRevision = revision;
          historyEnd ||= end;
          if (!scheduled) {
            scheduled = true;
            // setImmediate, not a microtask: commits finishing in the same I/O phase share one message.
            setImmediate(flush);
          }
        },
        error: (err) => finish(RuneError.from(err)),
      },
    ).then(
      (sub) => {
        subscription = sub;
        if (done) sub.close();
      },
      (err: unknown) => finish(RuneError.from(err)),
    );
    ctx.signal.addEventListener('abort', () => finish(), { once: true });
    call.on('error', () => finish());
  });
}

/** Follows the log of a run; with follow, ends once the run has ended and its last lines were read. */
async function serveRunLogs(store: Store, options: LogHandlerOptions, req: StreamRunLogsRequest, ctx: CallContext, call: ServerWritableStream<unknown, unknown>): Promise<void> {
  if (req.tail < 0) throw RuneError.invalid('tail', `must be 0 (all lines) or a line count, not ${req.tail}`);
  const run = await getRun(store, req.namespace, req.id);
  const source = (r: Run) => ({ instance: r.metadata!.name, logPath: r.status?.logPath ?? '' });
  const stop = new AbortController();
  const signal = AbortSignal.any([ctx.signal, stop.signal]);
  let ended = isTerminal(run);
  await streamLogs(run.status?.logPath ? [source(run)] : [], {
    tail: req.tail,
    follow: req.follow && !ended,
    signal,
    pollMs: options.pollMs,
    discoverMs: options.discoverMs,
    // One more pass after the run ended, so its last lines are read before the stream ends.
    discover: async () => {
      if (ended) stop.abort();
      const current = await store.get<Run>('runs', req.namespace, req.id);
      if (!current || isTerminal(current)) ended = true;
      return current?.status?.logPath ? [source(current)] : [];
    },
    write: (lines) => sendLogLines(call, lines, signal, options.stallMs ?? 60_000),
  });
}
