/**
 * Streaming RPCs over WebSocket (`ws`), at the RPC's own route path (any HTTP method: an
 * upgrade is always a GET).
 *
 * - Client → runed: each text (or binary) message is one request message in proto3 JSON
 *   (`{"start": {...}}`, `{"stdin": "aGkK"}` for Exec). For a server-streaming RPC the one
 *   request comes from the path and query string instead, as over plain HTTP.
 * - runed → client: `{"result": <response message>}` per message, then a normal close (1000)
 *   when the call ends OK; or a last `{"error": {"code", "status", "message", "details"}}`
 *   and a close with code 4000 + the HTTP status of the error (4401, 4403, 4404…).
 * - The client closing the socket cancels the call; runed stopping closes it with 1001.
 *
 * Credentials: `Authorization` / `X-API-Key` on the upgrade request, or, for browsers (which
 * cannot set headers on a WebSocket), the subprotocol list `rune.v1, rune.bearer.<token>`
 * (runed answers with `rune.v1`). A browser's `Origin` must be in the CORS allow-list.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type * as grpc from '@grpc/grpc-js';
import type { JsonObject, JsonValue } from '@bufbuild/protobuf';
import type { RawData, WebSocket, WebSocketServer } from 'ws';
import { RuneError } from '../../shared/errors.js';
import type { HttpError } from './http-errors.js';
import type { LoopbackClient } from './loopback-client.js';
import type { ProtoJson } from './proto-json.js';
import { mapRequest } from './request-mapper.js';
import type { Route, RouteTable } from './route-table.js';

export const WS_PROTOCOL = 'rune.v1';
const BEARER_PROTOCOL = 'rune.bearer.';
const PING_MS = 30_000;

export interface BridgeOptions {
  routes: RouteTable;
  codec: ProtoJson;
  loopback: LoopbackClient;
  maxPayload: number;
  /** The call's metadata from the upgrade request (credentials, x-forwarded-for). */
  metadataFor(req: IncomingMessage, bearer: string | undefined): grpc.Metadata;
  toHttpError(err: unknown): HttpError;
  /** Whether a browser Origin may connect (the CORS allow-list). */
  originAllowed(origin: string): boolean;
  /** Called when a session ends, for metrics. */
  onSessionEnd(route: Route, status: number, seconds: number): void;
  /** Answers an upgrade that is refused before it happens, as a plain HTTP error. */
  reject(socket: Duplex, error: HttpError): void;
}

export class WebSocketBridge {
  /** Loaded on the first upgrade: `ws` costs ~6 MB of RSS that most runeds never need. */
  private wss: Promise<WebSocketServer> | undefined;
  private readonly sessions = new Set<WebSocket>();

  constructor(private readonly options: BridgeOptions) {}

  private server(): Promise<WebSocketServer> {
    return (this.wss ??= import('ws').then(
      ({ WebSocketServer }) =>
        new WebSocketServer({
          noServer: true,
          maxPayload: this.options.maxPayload,
          handleProtocols: (protocols) => (protocols.has(WS_PROTOCOL) ? WS_PROTOCOL : false),
        }),
    ));
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const { options } = this;
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
    const origin = req.headers.origin;
    if (origin !== undefined && !options.originAllowed(origin)) {
      return options.reject(socket, options.toHttpError(new RuneError('PERMISSION_DENIED', `origin ${origin} may not open WebSockets here; start runed with --cors-origin ${origin} to allow it`)));
    }
    let found;
    try {
      found = options.routes.matchAny(path);
    } catch (err) {
      return options.reject(socket, options.toHttpError(RuneError.invalid('path', (err as Error).message)));
    }
    if (!found) return options.reject(socket, options.toHttpError(RuneError.notFound(`no route for ${path}; GET /openapi.json lists every route`)));
    let { route } = found;
    if (route.watchRoute && isTrue(query.get('watch'))) route = route.watchRoute;
    if (route.streaming === 'unary') {
      return options.reject(socket, options.toHttpError(RuneError.invalid('upgrade', `${route.rpc.name} is not a streaming RPC; call ${route.verb} ${route.pattern} without upgrading`)));
    }
    let firstRequest: Uint8Array | undefined;
    if (route.streaming === 'server') {
      try {
        const mapped = mapRequest(options.codec, route, found.values, query, undefined);
        firstRequest = options.codec.encode(route.input, mapped.json, { seen: mapped.seen, checked: true });
      } catch (err) {
        return options.reject(socket, options.toHttpError(err));
      }
    }
    const bearer = bearerFromProtocols(req.headers['sec-websocket-protocol']);
    void this.server().then(
      (wss) => wss.handleUpgrade(req, socket, head, (ws) => this.serve(ws, route, options.metadataFor(req, bearer), firstRequest)),
      (err: unknown) => options.reject(socket, options.toHttpError(err)),
    );
  }

  private serve(ws: WebSocket, route: Route, metadata: grpc.Metadata, firstRequest: Uint8Array | undefined): void {
    const { options } = this;
    const started = performance.now();
    this.sessions.add(ws);
    let ended = false;
    let status = 101;
    const call = options.loopback.call(route.rpc.path, metadata, firstRequest);

    const end = (err?: unknown) => {
      if (ended) return;
      ended = true;
      if (err === undefined) {
        ws.close(1000);
      } else {
        const error = options.toHttpError(err);
        status = error.status;
        if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ error: error.body }));
        ws.close(4000 + Math.min(error.status, 999), error.body.status);
      }
    };

    call.on('data', (message: Buffer) => {
      let text: string;
      try {
        text = JSON.stringify({ result: options.codec.decode(route.output, message) });
      } catch (err) {
        call.cancel();
        end(err);
        return;
      }
      ws.send(text);
      // Backpressure: stop reading the call while the socket's buffer is large.
      if (ws.bufferedAmount > 1024 * 1024) {
        call.pause();
        const wait = setInterval(() => {
          if (ws.bufferedAmount < 256 * 1024 || ws.readyState !== ws.OPEN) {
            clearInterval(wait);
            call.resume();
          }
        }, 10);
      }
    });
    let failure: unknown;
    call.on('error', (err) => {
      failure = err;
      if (call.readableLength === 0) end(err);
    });
    call.on('end', () => end(failure));

    if (firstRequest === undefined) {
      ws.on('message', (data: RawData) => {
        if (ended) return;
        try {
          const json = JSON.parse(rawToString(data)) as JsonValue;
          if (json === null || typeof json !== 'object' || Array.isArray(json)) throw RuneError.invalid('message', `expected a JSON object (${route.input.name})`);
          call.send(options.codec.encode(route.input, json as JsonObject));
        } catch (err) {
          call.cancel();
          end(err instanceof SyntaxError ? new RuneError('INVALID_ARGUMENT', `a WebSocket message is not valid JSON: ${err.message}`) : err);
        }
      });
    }

    let alive = true;
    ws.on('pong', () => (alive = true));
    const ping = setInterval(() => {
      if (!alive) return ws.terminate();
      alive = false;
      ws.ping();
    }, PING_MS);
    ping.unref();

    ws.on('close', () => {
      clearInterval(ping);
      this.sessions.delete(ws);
      if (!ended) {
        ended = true;
        call.cancel(); // the client went away
      }
      options.onSessionEnd(route, status, (performance.now() - started) / 1000);
    });
    ws.on('error', () => ws.terminate());
  }

  /** Closes every session (runed stopping) with 1001. */
  close(): void {
    for (const ws of this.sessions) ws.close(1001, 'runed is stopping');
    void this.wss?.then((wss) => wss.close());
  }
}

function rawToString(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data as ArrayBuffer).toString('utf8');
}

/** The token in a `rune.bearer.<token>` subprotocol, if offered. */
function bearerFromProtocols(header: string | undefined): string | undefined {
  for (const p of header?.split(',') ?? []) {
    const protocol = p.trim();
    if (protocol.startsWith(BEARER_PROTOCOL)) return protocol.slice(BEARER_PROTOCOL.length);
  }
  return undefined;
}

export function isTrue(value: string | null): boolean {
  return value === 'true' || value === '1' || value === '';
}
