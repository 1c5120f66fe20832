/**
 * A real gRPC server on 127.0.0.1:0 serving one API service through `implement()` with a chain
 * of one interceptor that allows every call (no authentication, every RBAC check passes): for
 * handler tests that need streams but not the whole runed.
 */
import * as grpc from '@grpc/grpc-js';
import type { Interceptor } from '../../server/api/chain.js';
import { implement, type HandlerMap } from '../../server/api/dispatch.js';
import { createLogger } from '../../server/logger.js';

export interface TestServer {
  addr: string;
  stop(): Promise<void>;
}

/** Lets every call and every message check (`ctx.authorize`) through. */
const allowAll: Interceptor = async (ctx, next) => {
  ctx.authorize = () => {};
  await next();
};

export async function serveForTest(definition: grpc.ServiceDefinition, handlers: HandlerMap): Promise<TestServer> {
  const shutdown = new AbortController();
  const server = new grpc.Server();
  server.addService(definition, implement(definition, handlers, { chain: [allowAll], log: createLogger('silent'), shutdown: shutdown.signal }));
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  );
  return {
    addr: `127.0.0.1:${port}`,
    stop: async () => {
      shutdown.abort();
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 2000);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
    },
  };
}
