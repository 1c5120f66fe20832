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
  for (const [key, def] of Object.entries(definition)) {
    const method = methods.get(def.path);
    if (!method) throw new Error(`method ${def.path} is missing from shared/api/methods.ts`);
    const handler = handlers[def.path];
    impl[key] = bind(method, handler, options);
  }
  return impl;
}

function bind(method: MethodInfo, handler: Handler | undefined, options: DispatchOptions) {
  const context = (metadata: Metadata, request: unknown, cancelled: AbortSignal): CallContext => ({
    method,
    metadata,
    request,
    principal: undefined,
    signal: AbortSignal.any([cancelled, options.shutdown]),
    log: options.log,
  });
  const missing = () => Promise.reject(new RuneError('UNIMPLEMENTED', `${method.path} is not implemented by this runed`));

  if (!method.requestStream && !method.responseStream) {
    return (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
      const abort = new AbortController();
      call.on('cancelled', () => abort.abort());
      const ctx = context(call.metadata, call.request, abort.signal);
      let response: unknown;
      runChain(options.chain, ctx, async () => {
        rejectUnknownFields(ctx.request, method.name);
        response = handler ? await (handler as UnaryHandler)(ctx.request, ctx) : await missing();
      }).then(
        () => callback(null, response),
        (err) => callback(toGrpcStatus(err)),
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
      const abort = new AbortController();
      call.on('cancelled', () => abort.abort());
      const ctx = context(call.metadata, call.request, abort.signal);
      runChain(options.chain, ctx, async () => {
        rejectUnknownFields(ctx.request, method.name);
        await (handler ? (handler as ServerStreamHandler)(ctx.request, ctx, call) : missing());
      }).then(
        () => endWith(call),
        (err) => endWith(call, err),
      );
    };
  }
  return (call: ServerDuplexStream<unknown, unknown>) => {
    const abort = new AbortController();
    call.on('cancelled', () => abort.abort());
    const ctx = context(call.metadata, undefined, abort.signal);
    runChain(options.chain, ctx, () => (handler ? (handler as BidiHandler)(ctx, call) : missing())).then(
      () => endWith(call),
      (err) => endWith(call, err),
    );
  };
}
