/**
 * Binds handlers to grpc-js: every method of every API service runs its handler inside the
 * interceptor chain, and errors leave as gRPC statuses (status.ts). A method without a handler
 * answers UNIMPLEMENTED; one whose proto declares no access rule is denied by the chain.
 */
import type {
  Metadata,
  ServerDuplexStream,
  ServerUnaryCall,
  ServerWritableStream,
  ServiceDefinition,
  UntypedServiceImplementation,
  sendUnaryData,
} from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { RuneError } from '../../shared/errors.js';
import { methods, type MethodInfo } from '../../shared/api/methods.js';
import { runChain, type CallContext, type Interceptor } from './chain.js';
import { toGrpcStatus } from './status.js';
import { rejectUnknownFields } from './unknown-fields.js';

export type UnaryHandler = (request: any, ctx: CallContext) => Promise<unknown>;
export type ServerStreamHandler = (request: any, ctx: CallContext, call: ServerWritableStream<any, any>) => Promise<void>;
export type BidiHandler = (ctx: CallContext, call: ServerDuplexStream<any, any>) => Promise<void>;
export type Handler = UnaryHandler | ServerStreamHandler | BidiHandler;

/** Handlers keyed by gRPC path ("/rune.v1.ServiceService/GetService"). */
export type HandlerMap = Record<string, Handler>;

export interface DispatchOptions {
  chain: readonly Interceptor[];
  log: Logger;
  /** Aborted on shutdown: ends every stream. */
  shutdown: AbortSignal;
}

export function implement(definition: ServiceDefinition, handlers: HandlerMap, options: DispatchOptions): UntypedServiceImplementation {
  const impl: UntypedServiceImplementation = {};
  const live = liveCalls(options.shutdown);
  for (const [key, def] of Object.entries(definition)) {
    const method = methods.get(def.path);
    if (!method) throw new Error(`method ${def.path} is missing from shared/api/methods.ts`);
    const handler = handlers[def.path];
    impl[key] = bind(method, handler, options, live);
  }
  return impl;
}

/** Per shutdown signal, the calls in progress: its one listener aborts each (none per call). */
const liveBySignal = new WeakMap<AbortSignal, Set<AbortController>>();

function liveCalls(shutdown: AbortSignal): Set<AbortController> {
  let live = liveBySignal.get(shutdown);
  if (!live) {
    const calls = (live = new Set<AbortController>());
    shutdown.addEventListener('abort', () => {
      for (const abort of calls) abort.abort(shutdown.reason);
    }, { once: true });
    liveBySignal.set(shutdown, calls);
  }
  return live;
}

function bind(method: MethodInfo, handler: Handler | undefined, options: DispatchOptions, live: Set<AbortController>) {
  /**
   * A call's context. `onEnd` sends the status of a call ended early by `ctx.end` (streams):
   * the handler's signal aborts, and whatever the handler does afterwards is not sent.
   * `abort` is the call's one controller: the client's cancel, runed's shutdown and `end` abort
   * it (cheaper per call than AbortSignal.any over three signals).
   */
  const context = (call: { metadata: Metadata; getPeer(): string }, request: unknown, abort: AbortController, onEnd: (err: RuneError) => void): CallContext => {
    const ctx: CallContext = {
      method,
      metadata: call.metadata,
      request,
      principal: undefined,
      signal: abort.signal,
      log: options.log,
      peer: peerAddress(call),
      access: [],
      authorize: () => {
        throw new RuneError('PERMISSION_DENIED', `${method.path}: no authorization was set up for this call`);
      },
      endedWith: undefined,
      end: (err) => {
        if (ctx.endedWith) return;
        ctx.endedWith = err;
        abort.abort(err);
        onEnd(err);
      },
    };
    return ctx;
  };
  const missing = () => Promise.reject(new RuneError('UNIMPLEMENTED', `${method.path} is not implemented by this runed`));
  /**
   * The call's controller, aborted when the client cancels or runed shuts down; `done` detaches
   * it once the chain has settled (grpc-js reports 'cancelled' for calls that already ended too).
   */
  const track = (call: { on(event: 'cancelled', listener: () => void): unknown; off(event: 'cancelled', listener: () => void): unknown }) => {
    const abort = new AbortController();
    const onCancel = () => abort.abort();
    call.on('cancelled', onCancel);
    if (options.shutdown.aborted) abort.abort(options.shutdown.reason);
    else live.add(abort);
    const done = () => {
      call.off('cancelled', onCancel);
      live.delete(abort);
    };
    return { abort, done };
  };

  if (!method.requestStream && !method.responseStream) {
    return (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
      const { abort, done } = track(call);
      const ctx = context(call, call.request, abort, () => undefined);
      let response: unknown;
      runChain(options.chain, ctx, async () => {
        rejectUnknownFields(ctx.request, method.name);
        response = handler ? await (handler as UnaryHandler)(ctx.request, ctx) : await missing();
      }).then(
        () => {
          done();
          callback(null, response);
        },
        (err) => {
          done();
          callback(toGrpcStatus(err));
        },
      );
    };
  }
  const endWith = (call: ServerWritableStream<unknown, unknown> | ServerDuplexStream<unknown, unknown>, err?: unknown) => {
    if (call.destroyed || call.writableEnded) return;
    if (err === undefined) call.end();
    else call.emit('error', toGrpcStatus(err));
  };
  if (!method.requestStream) {
    return (call: ServerWritableStream<unknown, unknown>) => {
      const { abort, done } = track(call);
      const ctx = context(call, call.request, abort, (err) => endWith(call, err));
      runChain(options.chain, ctx, async () => {
        rejectUnknownFields(ctx.request, method.name);
        await (handler ? (handler as ServerStreamHandler)(ctx.request, ctx, call) : missing());
      }).then(
        () => {
          done();
          endWith(call);
        },
        (err) => {
          done();
          endWith(call, err);
        },
      );
    };
  }
  return (call: ServerDuplexStream<unknown, unknown>) => {
    const { abort, done } = track(call);
    const ctx = context(call, undefined, abort, (err) => endWith(call, err));
    runChain(options.chain, ctx, () => (handler ? (handler as BidiHandler)(ctx, call) : missing())).then(
      () => {
        done();
        endWith(call);
      },
      (err) => {
        done();
        endWith(call, err);
      },
    );
  };
}

/**
 * The caller's address without the port: "ipv4:127.0.0.1:5123" → "127.0.0.1", "ipv6:[::1]:5123" → "::1".
 * A call with no network peer ("unknown") came over a Unix socket, and runed's only one is the
 * REST gateway's (server/gateway/gateway-socket.ts, in the 0700 data dir): its `x-forwarded-for`,
 * which the gateway sets from its HTTP client's connection, is the caller's address. Over TCP
 * that header is the client's own word and is ignored.
 */
export function peerAddress(call: { getPeer(): string; metadata?: Metadata }): string {
  let peer: string;
  try {
    peer = call.getPeer();
  } catch {
    return '';
  }
  if (peer === 'unknown' || peer.startsWith('unix:')) {
    const forwarded = call.metadata?.get('x-forwarded-for')[0];
    return typeof forwarded === 'string' ? forwarded : '';
  }
  const bare = peer.replace(/^(ipv4|ipv6|unix):/, '');
  const v6 = /^\[([^\]]+)\](?::\d+)?$/.exec(bare);
  if (v6) return v6[1]!;
  return bare.replace(/:\d+$/, '');
}
