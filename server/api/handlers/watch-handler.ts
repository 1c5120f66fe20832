/**
 * The watch RPCs. `Watch` is one bidirectional stream holding many watches (created and
 * canceled by the client's messages); `WatchServices` and friends are one watch on a
 * server stream, ending with the watch's error status if it is canceled by the server.
 */
import type { ServerDuplexStream, ServerWritableStream } from '@grpc/grpc-js';
import { RuneError } from '../../../shared/errors.js';
import type { WatchRequest } from '../../../shared/gen/rune/v1/watch_service.js';
import type { KindRegistry } from '../../store/kinds.js';
import type { Store } from '../../store/store.js';
import type { CallContext } from '../chain.js';
import type { HandlerMap } from '../dispatch.js';
import { rejectUnknownFields } from '../unknown-fields.js';
import { WatchStream, type WatchSpec } from '../watch-stream.js';

export function watchHandlers(store: Store, kinds: KindRegistry): HandlerMap {
  return {
    '/rune.v1.WatchService/Watch': (ctx: CallContext, call: ServerDuplexStream<WatchRequest, unknown>) => serveMultiplexed(store, kinds, ctx, call),
  };
}

function serveMultiplexed(store: Store, kinds: KindRegistry, ctx: CallContext, call: ServerDuplexStream<WatchRequest, unknown>): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const stream = new WatchStream({
      store,
      kinds,
      sink: call as unknown as { write(m: Uint8Array): boolean; writableLength: number },
      onFatal: (err) => finish(err),
    });
    const finish = (err?: unknown) => {
      stream.close();
      if (err) reject(err);
      else resolve();
    };
    call.on('data', (message: WatchRequest) => {
      try {
        rejectUnknownFields(message, 'WatchRequest');
      } catch (err) {
        finish(err);
        return;
      }
      if (message.create) {
        const { watchId, kind, namespace, fromRevision } = message.create;
        const ns = namespace || '*';
        // RBAC per watch: each create message is a request of its own.
        try {
          ctx.authorize({ resource: kind || '*', verb: 'watch', namespace: ns });
        } catch (err) {
          stream.reject(watchId, RuneError.from(err));
          return;
        }
        stream.add({ watchId, kind, namespace: ns, fromRevision });
      } else if (message.cancel) {
        stream.cancel(message.cancel.watchId);
      }
    });
    call.on('end', () => {
      finish();
    });
    call.on('error', () => finish());
    ctx.signal.addEventListener('abort', () => finish(), { once: true });
  });
}

/** Serves one watch on a server stream until the client goes away or the watch is canceled. */
export function serveSingleWatch(options: { store: Store; kinds: KindRegistry; ctx: CallContext; call: ServerWritableStream<unknown, unknown>; spec: WatchSpec }): Promise<void> {
  const { store, kinds, ctx, call, spec } = options;
  return new Promise<void>((resolve, reject) => {
    let stream: WatchStream;
    const sink = {
      write: (message: Uint8Array) => call.write(message),
      get writableLength() {
        return call.writableLength;
      },
    };
    const finish = (err?: unknown) => {
      stream.close();
      if (err) reject(err);
      else resolve();
    };
    stream = new WatchStream({ store, kinds, sink, onFatal: finish, onCanceled: (_id, err) => finish(err) });
    ctx.signal.addEventListener('abort', () => finish(), { once: true });
    stream.add(spec);
  });
}
