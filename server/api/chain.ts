/**
 * The interceptor chain every RPC passes through, gRPC and (through it) REST alike. It is an
 * onion: each interceptor runs code before and after `next()`. The one order, declared in
 * `interceptors()` below:
 *
 *   authenticate → audit → admin gate → authorize (RBAC) → rate limit → observe (log, metrics, trace span) → handler
 *
 * (the order the security design fixes: logging and metrics see the calls the gates let through;
 * refused calls are answered by the gates, and recorded by the audit log when authenticated.)
 *
 * - authenticate: the token (UNAUTHENTICATED); streams are registered by token so that a
 *   revocation, a deleted subject or the token's expiry ends them.
 * - audit: sits right inside authentication so it records the outcome of the gates too (a
 *   denied delete is worth recording); it appends mutating calls and exec/reveal/logs once
 *   they end. Unauthenticated calls have no subject and are not audited.
 * - admin gate: admin-only RPCs need an admin (PERMISSION_DENIED).
 * - authorize: RBAC on (resource, verb, namespace) from the RPC's declared rule and the request
 *   (PERMISSION_DENIED). Bidirectional streams have no request yet: their handlers check each
 *   message with `authorizeMessage` (or `ctx.authorize`).
 * - rate limit: a token bucket per subject (per peer address without one); RESOURCE_EXHAUSTED
 *   with a RetryInfo detail.
 * - observe: a log line per call with its request id (the trace id when tracing is on) and
 *   duration, `rune_grpc_*` metrics by method and code, and the request's span (the handler's
 *   store commits are its children).
 */
import type { Metadata } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { RuneError, type CodeName } from '../../shared/errors.js';
import type { MethodInfo } from '../../shared/api/methods.js';
import { AUDITED_VERBS } from '../../shared/spec/policy-spec.js';
import type { AuditLog } from '../audit/audit-log.js';
import { bearerToken, type Principal, type TokenService } from '../auth/token-service.js';
import type { AccessRequest, Rbac } from '../auth/rbac.js';
import type { RpcMetrics } from '../observability/metrics.js';
import { randomRequestId, type RequestTracer } from '../observability/request-tracer.js';
import type { RateLimiter } from './rate-limiter.js';
import type { StreamRegistry } from './stream-registry.js';

export interface CallContext {
  method: MethodInfo;
  metadata: Metadata;
  /** The decoded request; undefined for client-streaming RPCs (their messages are checked by the handler). */
  request: unknown;
  /** Set by `authenticate` for every non-public RPC. */
  principal: Principal | undefined;
  /** Aborted when the client cancels, the server shuts down, or the call is ended by `end`. */
  signal: AbortSignal;
  log: Logger;
  /** The caller's address without its port ("127.0.0.1", "::1"); '' when unknown. */
  peer: string;
  /** The access checks made for this call, in order: the first, and those with audited verbs. */
  access: AccessRequest[];
  /**
   * Checks `request` against the caller's policies (PERMISSION_DENIED) and records it in
   * `access`. Handlers use it for what the chain cannot see: bidi messages, `reveal`.
   */
  authorize(request: AccessRequest): void;
  /** Ends the call at once with `err` (the handler sees `signal` abort). For streams. */
  end(err: RuneError): void;
  /** The error `end` was called with, if it was. */
  endedWith: RuneError | undefined;
  /** Set by `observe`: the id in this call's log lines (its trace id when tracing is on). */
  requestId?: string;
}

export type Interceptor = (ctx: CallContext, next: () => Promise<void>) => Promise<void>;

export interface ChainDeps {
  tokens: TokenService;
  rbac: Rbac;
  limiter: RateLimiter;
  audit: AuditLog;
  streams: StreamRegistry;
  log: Logger;
  /** Request metrics and, when tracing is on, a span per call (both optional). */
  observability?: { metrics?: RpcMetrics; tracer?: RequestTracer };
}

/** The chain, in its one documented order. */
export function interceptors(deps: ChainDeps): Interceptor[] {
  return [authenticate(deps.tokens, deps.streams), audit(deps.audit), adminGate, authorizeCall(deps.rbac), rateLimit(deps.limiter), observe(deps.observability ?? {})];
}

/** Runs `handler` inside `chain`, outermost first. */
export function runChain(chain: readonly Interceptor[], ctx: CallContext, handler: () => Promise<void>): Promise<void> {
  const step = (i: number): Promise<void> => (i === chain.length ? handler() : chain[i]!(ctx, () => step(i + 1)));
  return step(0);
}

/** setTimeout's longest delay; longer waits are re-armed. */
const MAX_TIMER_MS = 2 ** 31 - 1;

function authenticate(tokens: TokenService, streams: StreamRegistry): Interceptor {
  return async (ctx, next) => {
    if (ctx.method.access?.public) return next();
    const header = (key: string) => {
      const value = ctx.metadata.get(key)[0];
      return typeof value === 'string' ? value : undefined;
    };
    const principal = await tokens.verify(bearerToken(header('authorization'), header('x-api-key')));
    ctx.principal = principal;
    if (!ctx.method.responseStream && !ctx.method.requestStream) return next();
    // A stream lives as long as its credentials: revocation, deletion or expiry end it.
    const forget = streams.register(principal.tokenId, principal.subject, (err) => ctx.end(err));
    let timer: NodeJS.Timeout | undefined;
    const armExpiry = () => {
      if (!principal.expiresAt) return;
      const left = principal.expiresAt.getTime() - Date.now();
      timer = setTimeout(() => (left > MAX_TIMER_MS ? armExpiry() : ctx.end(new RuneError('UNAUTHENTICATED', `token ${principal.tokenId} has expired; this stream is closed. Log in with a new token`))), Math.min(Math.max(left, 0), MAX_TIMER_MS));
      timer.unref();
    };
    armExpiry();
    try {
      await next();
    } finally {
      forget();
      clearTimeout(timer);
    }
  };
}

function audit(log: AuditLog): Interceptor {
  return async (ctx, next) => {
    const started = performance.now();
    let outcome: CodeName = 'OK';
    try {
      await next();
    } catch (err) {
      outcome = RuneError.from(err).code;
      throw err;
    } finally {
      const access = auditedAccess(ctx);
      if (access && ctx.principal) {
        const code = ctx.endedWith?.code ?? (outcome === 'OK' && ctx.signal.aborted ? 'CANCELLED' : outcome);
        await log
          .append({
            subject: ctx.principal.subject,
            tokenId: ctx.principal.tokenId,
            method: ctx.method.path,
            resource: access.resource,
            verb: access.verb,
            namespace: access.namespace,
            name: access.name ?? '',
            outcome: code,
            peer: ctx.peer,
            durationMs: Math.round(performance.now() - started),
          })
          .catch((err) => ctx.log.error({ err, rpc: ctx.method.path }, 'could not append to the audit log'));
      }
    }
  };
}

/**
 * What the audit records for a call, or undefined when the call is not audited: the last
 * check with an audited verb (a handler's `reveal` check counts), else the RPC's own rule when
 * its verb is audited (also when a gate refused the call before any check).
 */
function auditedAccess(ctx: CallContext): AccessRequest | undefined {
  for (let i = ctx.access.length - 1; i >= 0; i--) if (isAudited(ctx.access[i]!.verb)) return ctx.access[i];
  const rule = ctx.method.access;
  if (!rule || !isAudited(rule.verb)) return undefined;
  if (ctx.access[0]) return ctx.access[0];
  if (ctx.request !== undefined) return accessRequest(ctx.method, ctx.request);
  return { resource: rule.resource, verb: rule.verb, namespace: '' };
}

const isAudited = (verb: string): boolean => (AUDITED_VERBS as readonly string[]).includes(verb);
const MAX_ACCESS_KEPT = 8;

const adminGate: Interceptor = async (ctx, next) => {
  if (ctx.method.access?.adminOnly && !ctx.principal?.admin) {
    throw new RuneError('PERMISSION_DENIED', `${ctx.method.name} is for admins only; subject "${ctx.principal?.subject}" is not an admin (an admin can attach the admin policy)`);
  }
  await next();
};

function authorizeCall(rbac: Rbac): Interceptor {
  return async (ctx, next) => {
    const access = ctx.method.access;
    if (!access) throw new RuneError('PERMISSION_DENIED', `${ctx.method.path} declares no access rule, so it is denied to everyone`);
    if (!access.public) {
      ctx.authorize = (request) => {
        // Kept: the first check and the audited ones (bounded: a watch stream checks every create).
        if (ctx.access.length === 0 || isAudited(request.verb)) {
          ctx.access.push(request);
          if (ctx.access.length > MAX_ACCESS_KEPT) ctx.access.splice(1, 1);
        }
        rbac.authorize(ctx.principal!, request);
      };
      if (ctx.request !== undefined) ctx.authorize(accessRequest(ctx.method, ctx.request));
    }
    await next();
  };
}

function rateLimit(limiter: RateLimiter): Interceptor {
  return async (ctx, next) => {
    const who = ctx.principal ? `subject "${ctx.principal.subject}"` : `address ${ctx.peer || 'unknown'}`;
    const waitMs = limiter.take(ctx.principal ? `s:${ctx.principal.subject}` : `p:${ctx.peer}`);
    if (waitMs > 0) {
      const seconds = Math.max(0.1, Math.ceil(waitMs / 100) / 10);
      const at = new Date(Date.now() + waitMs).toISOString();
      throw new RuneError('RESOURCE_EXHAUSTED', `rate limit of ${limiter.perMinute} calls per minute reached for ${who}; retry in ${seconds}s (at ${at})`, { retryAfterMs: waitMs });
    }
    await next();
  };
}

function observe({ metrics, tracer }: NonNullable<ChainDeps['observability']>): Interceptor {
  return async (ctx, next) => {
    const started = performance.now();
    // The REST gateway's loopback call carries its HTTP span's context: one trace per request.
    const parent = tracer ? ctx.metadata.get('traceparent')[0] : undefined;
    const span = tracer?.startRequest(ctx.method.path, typeof parent === 'string' ? parent : undefined);
    const requestId = (ctx.requestId = span?.traceId ?? randomRequestId());
    let code: CodeName = 'OK';
    let failure: unknown;
    try {
      await (span ? span.run(next) : next());
      code = ctx.endedWith?.code ?? (ctx.signal.aborted ? 'CANCELLED' : 'OK');
      // Built only when debug is on: this runs for every call.
      if (ctx.log.isLevelEnabled('debug')) ctx.log.debug({ rpc: ctx.method.path, requestId, subject: ctx.principal?.subject, code, ms: +(performance.now() - started).toFixed(2) }, 'rpc ok');
    } catch (err) {
      const error = RuneError.from(err);
      code = error.code;
      failure = err;
      const level = error.code === 'INTERNAL' || error.code === 'UNKNOWN' ? 'error' : 'debug';
      ctx.log[level]({ rpc: ctx.method.path, requestId, subject: ctx.principal?.subject, code: error.code, ms: +(performance.now() - started).toFixed(2), err: level === 'error' ? err : undefined }, error.message);
      throw err;
    } finally {
      metrics?.rpcEnded(ctx.method.path, code, (performance.now() - started) / 1000);
      span?.end(code, failure);
    }
  };
}

/**
 * Checks one message of a bidirectional stream (e.g. Exec's `start`) with the RPC's declared
 * rule, exactly as the chain checks a unary request: the namespace field is read (and
 * defaulted) in the message. Returns the request checked; PERMISSION_DENIED when denied.
 */
export function authorizeMessage(ctx: CallContext, message: unknown): AccessRequest {
  const request = accessRequest(ctx.method, message);
  ctx.authorize(request);
  return request;
}

/**
 * The (resource, verb, namespace) of a call, from the method's declared rule and the request,
 * and the name of the object it is about when the request names one. An empty namespace field
 * is defaulted to "default" in the request itself, so RBAC and the handler see the same
 * namespace.
 */
export function accessRequest(method: MethodInfo, request: unknown): AccessRequest {
  const access = method.access!;
  let namespace = '';
  let holder = request as Record<string, unknown> | undefined;
  if (access.namespaceField) {
    const path = access.namespaceField.split('.');
    for (const part of path.slice(0, -1)) holder = holder?.[part] as Record<string, unknown> | undefined;
    const last = path[path.length - 1]!;
    if (holder && typeof holder === 'object') {
      if (!holder[last]) holder[last] = 'default';
      namespace = String(holder[last]);
    } else {
      namespace = 'default';
    }
  }
  const name = targetName(holder, request);
  return { resource: access.resource, verb: access.verb, namespace, ...(name ? { name } : {}) };
}

/** Fields that name the object of a request, in order of preference. */
const NAME_FIELDS = ['name', 'instance', 'target', 'id', 'subject'] as const;

/**
 * The object a request is about: a naming field next to the namespace field (e.g.
 * `service.metadata.name`, `start.instance`), else one at the top (`name`, `target`, `id`,
 * `subject`), else the `metadata.name` of a message field (`policy.metadata.name`).
 */
function targetName(holder: Record<string, unknown> | undefined, request: unknown): string | undefined {
  const pick = (o: unknown): string | undefined => {
    if (!o || typeof o !== 'object') return undefined;
    for (const field of NAME_FIELDS) {
      const value = (o as Record<string, unknown>)[field];
      if (typeof value === 'string' && value) return value;
    }
    return undefined;
  };
  const found = pick(holder) ?? pick(request);
  if (found) return found;
  if (!request || typeof request !== 'object') return undefined;
  for (const value of Object.values(request)) {
    const meta = value && typeof value === 'object' ? (value as { metadata?: unknown }).metadata : undefined;
    const name = pick(meta);
    if (name) return name;
  }
  return undefined;
}
