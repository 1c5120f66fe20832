/**
 * Helpers for access-control tests: subjects with tokens made through the admin API, generic
 * clients for every API service (built from `apiServices`, so RPCs added later are covered),
 * and the outcome of any call as a status code.
 */
import * as grpc from '@grpc/grpc-js';
import { apiServices, type MethodInfo } from '../../shared/api/methods.js';
import { auth, call, type clients } from './test-runed.js';

type Clients = ReturnType<typeof clients>;

/** Creates subject `name` holding `policies` and returns a token for it. */
export async function subjectToken(c: Clients, adminToken: string, name: string, policies: string[], options: { ttlSeconds?: number } = {}): Promise<string> {
  await call(c.admin, c.admin.createSubject, { name, type: 'user', policies }, auth(adminToken));
  const created = await call(c.admin, c.admin.createToken, { subject: name, ttlSeconds: options.ttlSeconds ?? 0, description: `test token for ${name}` }, auth(adminToken));
  return created.value;
}

/** The jti of a token, from its payload. */
export function tokenId(token: string): string {
  return (JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as { jti: string }).jti;
}

/** The gRPC error a promise rejects with (fails when it resolves). */
export async function grpcError(promise: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await promise;
  } catch (err) {
    return err as grpc.ServiceError;
  }
  throw new Error('the call succeeded');
}

interface GenericMethod {
  requestType: { fromPartial(o: unknown): unknown };
}

/** A grpc-js client per API service, keyed by full service name, calling with plain objects. */
export function genericClients(addr: string): { get(service: string): grpc.Client & Record<string, Function>; close(): void } {
  const map = new Map<string, grpc.Client & Record<string, Function>>();
  for (const { definition, grpc: def } of apiServices) {
    const Ctor = grpc.makeGenericClientConstructor(def as unknown as grpc.ServiceDefinition, definition.name);
    map.set(definition.fullName, new Ctor(addr, grpc.credentials.createInsecure()) as unknown as grpc.Client & Record<string, Function>);
  }
  return { get: (service) => map.get(service)!, close: () => map.forEach((c) => c.close()) };
}

/** A request of `method`'s type from a partial object. */
export function requestOf(method: MethodInfo, partial: unknown): unknown {
  const def = apiServices.find((s) => s.definition.fullName === method.service)!.definition as unknown as { methods: Record<string, GenericMethod> };
  return def.methods[method.key]!.requestType.fromPartial(partial ?? {});
}

export interface Outcome {
  /** The gRPC status code: 0 when a unary call succeeded or a stream sent a message or stayed open. */
  code: number;
  details: string;
}

/**
 * Calls any RPC once with `partial` (for bidi streams: sent as the first message) and reports
 * what came back first: the status of a unary call, or for a stream its first message (code 0,
 * or the code of a canceled-watch notice), its error, or its clean end; a stream that stays open
 * quietly for `openMs` counts as allowed.
 */
export function invoke(clients: ReturnType<typeof genericClients>, method: MethodInfo, partial: unknown, md: grpc.Metadata, openMs = 1500): Promise<Outcome> {
  const client = clients.get(method.service);
  const request = requestOf(method, partial);
  const fn = client[method.key]!.bind(client);
  if (!method.requestStream && !method.responseStream) {
    return new Promise((resolve) => {
      fn(request, md, { deadline: Date.now() + 10_000 }, (err: grpc.ServiceError | null) => resolve(err ? { code: err.code, details: err.details } : { code: 0, details: 'ok' }));
    });
  }
  return new Promise((resolve) => {
    const stream: grpc.ClientReadableStream<unknown> & Partial<grpc.ClientDuplexStream<unknown, unknown>> = method.requestStream ? fn(md) : fn(request, md);
    let done = false;
    const finish = (outcome: Outcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      stream.cancel();
      resolve(outcome);
    };
    const timer = setTimeout(() => finish({ code: 0, details: 'stream open' }), openMs);
    stream.on('data', (message: { canceled?: { code?: string; message?: string }[] }) => {
      // A refused watch of the multiplexed Watch arrives as a `canceled` notice, not an error.
      const canceled = Array.isArray(message.canceled) ? message.canceled[0] : undefined;
      if (canceled?.code) finish({ code: grpc.status[canceled.code as keyof typeof grpc.status] as number, details: canceled.message ?? '' });
      else finish({ code: 0, details: 'message' });
    });
    stream.on('error', (err: grpc.ServiceError) => finish({ code: err.code, details: err.details }));
    stream.on('end', () => finish({ code: 0, details: 'ended' }));
    if (method.requestStream) stream.write!(request);
  });
}
