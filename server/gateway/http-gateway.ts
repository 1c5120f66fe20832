/**
 * The REST gateway: runed's HTTP listener (`--http-addr`, default 127.0.0.1:7861).
 *
 * Every RPC with a google.api.http rule is served at its route (route-table.ts), as a gRPC call
 * over a loopback channel to runed's own gRPC listener (loopback-client.ts), so REST requests
 * pass through the one interceptor chain (authn → admin gate → RBAC → rate limit → observe)
 * and the gateway holds no auth logic. It forwards `Authorization` and `X-API-Key`, and sets
 * `x-forwarded-for` itself from the socket (a client's own is never passed on).
 *
 * Unary RPCs answer JSON; server-streaming RPCs stream NDJSON or SSE (stream-response.ts);
 * RPCs that stream requests take an NDJSON body, or a WebSocket (websocket-bridge.ts).
 * Besides: `GET /healthz` (alive), `/readyz` (store and controllers), `/version`,
 * `/openapi.json` (dist/openapi.json, generated at build time) and `/metrics` (Prometheus);
 * these need no credentials.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import type { JsonObject, JsonValue } from '@bufbuild/protobuf';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { RuneError } from '../../shared/errors.js';
import { methods as allMethods, type MethodInfo } from '../../shared/api/methods.js';
import { packageRoot } from '../../shared/version.js';
import type { TlsMaterial } from '../api/tls-material.js';
import { exposition } from '../metrics.js';
import type { Readiness } from '../readiness.js';
import { Cors } from './cors.js';
import { GatewayMetrics } from './gateway-metrics.js';
import type { RequestSpan, RequestTracer } from '../observability/request-tracer.js';
import { GatewayError, httpErrorFrom, type HttpError } from './http-errors.js';
import { LoopbackClient, type LoopbackCall, type LoopbackOptions } from './loopback-client.js';
import { PathDecodeError } from './path-template.js';
import { ProtoJson } from './proto-json.js';
import { loadApiRegistry } from './proto-registry.js';
import { DEFAULT_MAX_BODY_BYTES, parseJsonBody, parseJsonSequence, readBody } from './request-body.js';
import { mapRequest } from './request-mapper.js';
import { RouteTable, type Route } from './route-table.js';
import { pipeServerStream, streamFormatFor, type ActivePipe } from './stream-response.js';
import { isTrue, WebSocketBridge } from './websocket-bridge.js';

export interface GatewayOptions {
  /** host:port to listen on; port 0 picks a free one. */
  addr: string;
  /** Where every call goes: runed's gRPC server (its gateway socket, see gateway-socket.ts). */
  grpc: LoopbackOptions;
  /** Serve HTTPS with runed's TLS material (mutual TLS too), following its reloads; plain HTTP without. */
  tls?: TlsMaterial;
  log: Logger;
  version: string;
  /** Readiness for `/readyz`. */
  ready(): Promise<Readiness>;
  /** Where the gateway's metrics go; `/metrics` shows it and the process metrics. */
  metrics: Registry;
  /** When tracing is on: a span per request, named after its route, that the gRPC call joins (traceparent). */
  tracer?: RequestTracer;
  /** Browser origins allowed by CORS (and to open WebSockets); empty (default) = CORS off. */
  corsOrigins?: readonly string[];
  /** Largest request body (and WebSocket message); default 4 MiB. Larger bodies get 413. */
  maxBodyBytes?: number;
  /** The RPCs to route; default every method of shared/api/methods.ts. */
  methods?: Iterable<MethodInfo>;
  /** Default dist/rune.binpb. */
  descriptorSet?: string;
  /** Default dist/openapi.json. */
  openapiFile?: string;
}

export interface HttpGateway {
  /** The bound address, with the real port. */
  addr: string;
  readonly routes: RouteTable;
  /** Stops listening, ends streams (an UNAVAILABLE error frame) and WebSockets (1001), lets unary calls finish. */
  close(): Promise<void>;
}

/** The HTTP address is taken: runed exits with code 2. */
export class HttpAddressInUseError extends Error {}

const CLOSE_GRACE_MS = 5000;

export async function startHttpGateway(options: GatewayOptions): Promise<HttpGateway> {
  const registry = loadApiRegistry(options.descriptorSet);
  const routes = RouteTable.fromMethods(options.methods ?? allMethods.values(), registry);
  const codec = new ProtoJson(registry);
  const loopback = new LoopbackClient(options.grpc);
  const metrics = new GatewayMetrics(options.metrics);
  const cors = new Cors(options.corsOrigins);
  const maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const openapiFile = options.openapiFile ?? join(packageRoot(), 'dist', 'openapi.json');
  const log = options.log.child({ component: 'gateway' });
  const pipes = new Set<ActivePipe>();
  let closing = false;
  /** Each request's span when tracing is on; its loopback gRPC call carries it as `traceparent`. */
  const spans = new WeakMap<IncomingMessage, RequestSpan>();

  const toHttpError = (err: unknown): HttpError => httpErrorFrom(err instanceof PathDecodeError ? RuneError.invalid('path', err.message) : err, registry);

  const sendJson = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    if (res.headersSent) return;
    const text = JSON.stringify(body);
    res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...(closing ? { connection: 'close' } : {}) });
    res.end(text);
  };
  const sendError = (res: ServerResponse, req: IncomingMessage, error: HttpError) => {
    if (error.status >= 500 && error.body.status !== 'UNAVAILABLE' && error.body.status !== 'UNIMPLEMENTED') log.warn({ method: req.method, url: req.url, code: error.body.status }, error.body.message);
    sendJson(res, error.status, error.body, { ...cors.responseHeaders(req), ...error.headers });
  };

  const metadataFor = (req: IncomingMessage, bearer?: string): grpc.Metadata => {
    const md = new grpc.Metadata();
    const authorization = req.headers.authorization;
    if (authorization !== undefined) md.set('authorization', authorization);
    else if (bearer !== undefined) md.set('authorization', `Bearer ${bearer}`);
    const apiKey = req.headers['x-api-key'];
    if (typeof apiKey === 'string') md.set('x-api-key', apiKey);
    md.set('x-forwarded-for', req.socket.remoteAddress ?? 'unknown');
    const span = spans.get(req);
    if (span) md.set('traceparent', span.traceparent);
    return md;
  };

  /** Built-in endpoints: no credentials, GET (and HEAD) only. */
  const builtins: Record<string, (req: IncomingMessage, res: ServerResponse) => Promise<void>> = {
    '/healthz': async (req, res) => sendJson(res, 200, { status: 'ok' }, cors.responseHeaders(req)),
    '/readyz': async (req, res) => {
      const readiness = closing ? { ready: false, checks: { gateway: { ok: false, message: 'runed is stopping' } } } : await options.ready();
      sendJson(res, readiness.ready ? 200 : 503, { status: readiness.ready ? 'ready' : 'not ready', checks: readiness.checks }, cors.responseHeaders(req));
    },
    '/version': async (req, res) => sendJson(res, 200, { version: options.version }, cors.responseHeaders(req)),
    '/openapi.json': async (req, res) => {
      let text: string;
      try {
        text = await readFile(openapiFile, 'utf8');
      } catch {
        throw new RuneError('UNAVAILABLE', `${openapiFile} is missing: it is written by "npm run build"`);
      }
      res.writeHead(200, { ...cors.responseHeaders(req), 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    },
    '/metrics': async (_req, res) => {
      const { contentType, text } = await exposition(options.metrics);
      res.writeHead(200, { 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
      res.end(text);
    },
  };

  const handle = async (req: IncomingMessage, res: ServerResponse, route: { label: string }) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
    const verb = req.method ?? 'GET';

    const builtin = builtins[path];
    if (builtin) {
      route.label = path;
      if (verb === 'OPTIONS') return answerOptions(req, res, ['GET', 'HEAD']);
      if (verb !== 'GET' && verb !== 'HEAD') throw new GatewayError('UNIMPLEMENTED', 405, `${path} answers GET only`, { allow: 'GET, HEAD' });
      return builtin(req, res);
    }

    const match = routes.match(verb, path);
    if (match.kind === 'not-found') {
      const hint = path.length > 1 && path.endsWith('/') && routes.match(verb, path.slice(0, -1)).kind !== 'not-found' ? `; did you mean ${path.slice(0, -1)}?` : '';
      throw RuneError.notFound(`no route for ${verb} ${path}${hint}; GET /openapi.json lists every route`);
    }
    if (match.kind === 'method-not-allowed') {
      if (verb === 'OPTIONS') return answerOptions(req, res, match.allowed);
      throw new GatewayError('UNIMPLEMENTED', 405, `${path} does not answer ${verb}; it answers ${match.allowed.join(', ')}`, { allow: match.allowed.join(', ') });
    }
    let selected = match.route;
    const watch = query.get('watch');
    if (watch !== null) {
      if (!selected.watchRoute) throw RuneError.invalid('watch', `${selected.verb} ${selected.pattern} has no watch; "watch" is only for list routes with a ":watch" twin`);
      if (isTrue(watch)) selected = selected.watchRoute;
    }
    route.label = `${selected.verb} ${selected.pattern}`;
    if (closing) throw new RuneError('UNAVAILABLE', 'runed is stopping; retry against the next runed');

    const raw = await readBody(req, maxBody);
    const metadata = metadataFor(req);
    const headers = cors.responseHeaders(req);
    if (selected.streaming === 'client' || selected.streaming === 'bidi') return streamRequests(req, res, selected, raw, metadata, headers);

    const body = parseJsonBody(req, raw);
    const mapped = mapRequest(codec, selected, match.values, query, body);
    const request = codec.encode(selected.input, mapped.json, { seen: mapped.seen, checked: true });
    if (selected.streaming === 'server') {
      const pipe = pipeServerStream({
        call: loopback.call(selected.rpc.path, metadata, request),
        res,
        format: streamFormatFor(req),
        decode: (bytes) => responseJson(selected, bytes),
        toHttpError,
        sendError: (error) => sendError(res, req, error),
        headers,
      });
      pipes.add(pipe);
      await pipe.done;
      pipes.delete(pipe);
      return;
    }
    let call: LoopbackCall | undefined;
    res.on('close', () => {
      if (!res.writableFinished) call?.cancel(); // the client went away
    });
    const reply = await loopback.unary(selected.rpc.path, request, metadata, (c) => (call = c));
    sendJson(res, 200, responseJson(selected, reply), headers);
  };

  /** Client- and bidi-streaming RPCs over plain HTTP: an NDJSON body of requests, then the responses. */
  const streamRequests = async (req: IncomingMessage, res: ServerResponse, route: Route, raw: Buffer | undefined, metadata: grpc.Metadata, headers: Record<string, string>) => {
    const requests = parseJsonSequence(req, raw).map((json, i) => {
      if (json === null || typeof json !== 'object' || Array.isArray(json)) throw RuneError.invalid(`line ${i + 1}`, `expected a JSON object (${route.input.name})`);
      return codec.encode(route.input, json);
    });
    const call = loopback.call(route.rpc.path, metadata);
    for (const r of requests) call.send(r);
    call.end();
    if (route.streaming === 'bidi') {
      const pipe = pipeServerStream({ call, res, format: streamFormatFor(req), decode: (bytes) => responseJson(route, bytes), toHttpError, sendError: (error) => sendError(res, req, error), headers });
      pipes.add(pipe);
      await pipe.done;
      pipes.delete(pipe);
      return;
    }
    // Client streaming: one response.
    const reply = await new Promise<Buffer>((resolve, reject) => {
      let last: Buffer | undefined;
      call.on('data', (b: Buffer) => (last = b));
      call.on('error', reject);
      call.on('end', () => (last ? resolve(last) : reject(new RuneError('INTERNAL', `${route.rpc.name} ended without a response`))));
    });
    sendJson(res, 200, responseJson(route, reply), headers);
  };

  const responseJson = (route: Route, bytes: Buffer): JsonValue => {
    const json = codec.decode(route.output, bytes);
    if (!route.responseBody) return json;
    let value: JsonValue | undefined = json;
    for (const part of route.responseBody.split('.')) value = (value as JsonObject | undefined)?.[camel(part)];
    return value ?? null;
  };

  const answerOptions = (req: IncomingMessage, res: ServerResponse, allowed: readonly string[]) => {
    const methodsWithOptions = [...allowed, 'OPTIONS'];
    if (Cors.isPreflight(req)) {
      if (!cors.allows(req.headers.origin!)) throw new RuneError('PERMISSION_DENIED', `origin ${req.headers.origin} is not allowed; start runed with --cors-origin ${req.headers.origin} to allow it`);
      res.writeHead(204, { ...cors.preflightHeaders(req, methodsWithOptions), allow: methodsWithOptions.join(', ') });
    } else {
      res.writeHead(204, { allow: methodsWithOptions.join(', ') });
    }
    res.end();
  };

  // Requests in flight per connection: on close, connections with none are dropped at once
  // (Node's closeIdleConnections leaves a connection that has not sent a request yet).
  const inFlight = new Map<Socket, number>();
  const onRequest: RequestListener = (req, res) => {
    const started = performance.now();
    const route = { label: 'unmatched' };
    const socket = req.socket;
    inFlight.set(socket, (inFlight.get(socket) ?? 0) + 1);
    const traceparent = req.headers.traceparent;
    const span = options.tracer?.startRequest(`HTTP ${req.method}`, typeof traceparent === 'string' ? traceparent : undefined);
    if (span) spans.set(req, span);
    res.once('close', () => {
      metrics.observe(req.method ?? '', route.label, res.statusCode, (performance.now() - started) / 1000);
      span?.end(String(res.statusCode), undefined, `${req.method} ${route.label.replace(/^[A-Z]+ /, '')}`);
      const left = (inFlight.get(socket) ?? 1) - 1;
      inFlight.set(socket, left);
      if (closing && left === 0) socket.destroySoon();
    });
    handle(req, res, route).catch((err) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const error = toHttpError(err);
      if (error.status === 413) error.headers.connection = 'close';
      sendError(res, req, error);
      if (error.status === 413) {
        // Discard the rest of a body over the limit, and close the connection soon after.
        req.resume();
        setTimeout(() => req.socket.destroy(), 2000).unref();
      }
    });
  };
  const tls = options.tls;
  const server: Server = tls ? createHttpsServer(tls.serverOptions(), onRequest) : createServer(onRequest);
  const stopFollowingTls = tls?.onReload((event) => {
    if (event.ok) (server as HttpsServer).setSecureContext(tls.contextOptions());
  });

  const bridge = new WebSocketBridge({
    routes,
    codec,
    loopback,
    maxPayload: maxBody,
    metadataFor,
    toHttpError,
    originAllowed: (origin) => cors.allows(origin),
    onSessionEnd: (route, status, seconds) => metrics.observe('GET', `${route.verb} ${route.pattern}`, status, seconds),
    reject: (socket, error) => rejectUpgrade(socket, error),
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    if (closing) return rejectUpgrade(socket, toHttpError(new RuneError('UNAVAILABLE', 'runed is stopping')));
    if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') return rejectUpgrade(socket, toHttpError(RuneError.invalid('upgrade', 'only "Upgrade: websocket" is served')));
    bridge.handleUpgrade(req, socket, head);
  });

  server.on(tls ? 'secureConnection' : 'connection', (socket: Socket) => {
    inFlight.set(socket, 0);
    socket.once('close', () => inFlight.delete(socket));
  });
  const addr = await listen(server, options.addr);
  log.debug({ httpAddr: addr, routes: routes.routes.length }, 'REST gateway listening');

  let closed: Promise<void> | undefined;
  return {
    addr,
    routes,
    close: () =>
      (closed ??= (async () => {
        closing = true;
        stopFollowingTls?.();
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const pipe of pipes) pipe.abort(new RuneError('UNAVAILABLE', 'runed is stopping; reconnect to resume'));
        bridge.close();
        server.closeIdleConnections();
        for (const [socket, n] of inFlight) if (n === 0) socket.destroy();
        const grace = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
        await stopped;
        clearTimeout(grace);
        loopback.close();
      })()),
  };
}

function camel(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

function rejectUpgrade(socket: Duplex, error: HttpError): void {
  const text = JSON.stringify(error.body);
  const head = [`HTTP/1.1 ${error.status} ${statusText(error.status)}`, 'Content-Type: application/json', `Content-Length: ${Buffer.byteLength(text)}`, 'Connection: close'];
  for (const [k, v] of Object.entries(error.headers)) head.push(`${k}: ${v}`);
  socket.end(`${head.join('\r\n')}\r\n\r\n${text}`);
}

function statusText(status: number): string {
  return { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 413: 'Payload Too Large', 429: 'Too Many Requests', 503: 'Service Unavailable' }[status] ?? 'Error';
}

/** `host:port` or `[v6]:port` → listening; HttpAddressInUseError when taken. */
function listen(server: Server, addr: string): Promise<string> {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(addr);
  if (!m) return Promise.reject(new RuneError('INVALID_ARGUMENT', `--http-addr "${addr}" is not host:port`));
  const host = m[1] ?? m[2] ?? '';
  const port = Number(m[3]);
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') reject(new HttpAddressInUseError(`address ${addr} is already in use; stop what listens there or pass --http-addr`));
      else reject(new RuneError('INVALID_ARGUMENT', `cannot listen on ${addr}: ${err.message}`));
    };
    server.once('error', onError);
    server.listen({ host: host || undefined, port }, () => {
      server.off('error', onError);
      const bound = server.address();
      const realPort = typeof bound === 'object' && bound ? bound.port : port;
      resolve(addr.replace(/:\d+$/, `:${realPort}`));
    });
  });
}
