/**
 * The interceptor chain every RPC passes through, gRPC and (through it) REST alike. It is an
 * onion: each interceptor runs code before and after `next()`. The one order, declared in
 * `interceptors()` below:
 *
 *   authenticate → admin gate → authorize (RBAC) → observe (log + duration) → handler
 *
 * (A rate limiter joins between authorize and observe with the security work.)
 */
import type { Metadata } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { RuneError } from '../../shared/errors.js';
import type { MethodInfo } from '../../shared/api/methods.js';
import { bearerToken, type Principal, type TokenService } from '../auth/token-service.js';
import { authorize, type AccessRequest } from '../auth/rbac.js';

export interface CallContext {
  method: MethodInfo;
  metadata: Metadata;
  /** The decoded request; undefined for client-streaming RPCs (their messages are checked by the handler). */
  request: unknown;
  /** Set by `authenticate` for every non-public RPC. */
  principal: Principal | undefined;
  /** Aborted when the client cancels or the server shuts down. */
  signal: AbortSignal;
  log: Logger;
}

export type Interceptor = (ctx: CallContext, next: () => Promise<void>) => Promise<void>;

export interface ChainDeps {
  tokens: TokenService;
  log: Logger;
}

/** The chain, in its one documented order. */
export function interceptors(deps: ChainDeps): Interceptor[] {
  return [authenticate(deps.tokens), adminGate, authorizeCall, observe];
}

/** Runs `handler` inside `chain`, outermost first. */
export function runChain(chain: readonly Interceptor[], ctx: CallContext, handler: () => Promise<void>): Promise<void> {
  const step = (i: number): Promise<void> => (i === chain.length ? handler() : chain[i]!(ctx, () => step(i + 1)));
  return step(0);
}

function authenticate(tokens: TokenService): Interceptor {
  return async (ctx, next) => {
    if (!ctx.method.access?.public) {
      const header = (key: string) => {
        const value = ctx.metadata.get(key)[0];
        return typeof value === 'string' ? value : undefined;
      };
      ctx.principal = await tokens.verify(bearerToken(header('authorization'), header('x-api-key')));
    }
    await next();
  };
}

const adminGate: Interceptor = async (ctx, next) => {
  if (ctx.method.access?.adminOnly && !ctx.principal?.admin) {
    throw new RuneError('PERMISSION_DENIED', `${ctx.method.name} is for admins only; subject "${ctx.principal?.subject}" is not an admin`);
  }
  await next();
};

const authorizeCall: Interceptor = async (ctx, next) => {
  const access = ctx.method.access;
  if (!access) throw new RuneError('PERMISSION_DENIED', `${ctx.method.path} declares no access rule, so it is denied to everyone`);
  if (!access.public && ctx.request !== undefined) {
    authorize(ctx.principal!, accessRequest(ctx.method, ctx.request));
  }
  await next();
};

const observe: Interceptor = async (ctx, next) => {
  const started = performance.now();
  try {
    await next();
    ctx.log.debug({ rpc: ctx.method.path, subject: ctx.principal?.subject, ms: +(performance.now() - started).toFixed(2) }, 'rpc ok');
  } catch (err) {
    const error = RuneError.from(err);
    const level = error.code === 'INTERNAL' || error.code === 'UNKNOWN' ? 'error' : 'debug';
    ctx.log[level]({ rpc: ctx.method.path, subject: ctx.principal?.subject, code: error.code, ms: +(performance.now() - started).toFixed(2), err: level === 'error' ? err : undefined }, error.message);
    throw err;
  }
};

/**
 * The (resource, verb, namespace) of a call, from the method's declared rule and the request.
 * An empty namespace field is defaulted to "default" in the request itself, so RBAC and the
 * handler see the same namespace.
 */
export function accessRequest(method: MethodInfo, request: unknown): AccessRequest {
  const access = method.access!;
  let namespace = '';
  if (access.namespaceField) {
    const path = access.namespaceField.split('.');
    let holder = request as Record<string, unknown> | undefined;
    for (const part of path.slice(0, -1)) holder = holder?.[part] as Record<string, unknown> | undefined;
    const last = path[path.length - 1]!;
    if (holder && typeof holder === 'object') {
      if (!holder[last]) holder[last] = 'default';
      namespace = String(holder[last]);
    } else {
      namespace = 'default';
    }
  }
  return { resource: access.resource, verb: access.verb, namespace };
}
