/**
 * The gateway's gRPC client for runed's own server: the gRPC wire protocol (HTTP/2, 5-byte
 * length-prefixed messages, status in trailers) spoken directly over one `node:http2` session to
 * the gateway socket. Calls carry bytes both ways (the gateway encodes and decodes with
 * descriptors), so any RPC is called by its path, and each one runs the full interceptor chain
 * (authn → admin gate → RBAC → rate limit → observe) exactly like any other gRPC client's.
 *
 * Why not grpc-js's client: it costs several times more CPU per call (resolver, load balancer,
 * retry and filter layers around each call) for a hop that has one fixed local peer, and the
 * gateway's latency budget is a fraction of the gRPC call itself. Plaintext only: the gateway
 * socket never needs TLS (see gateway-socket.ts).
 *
 * A call is a Readable of response messages (Buffers) with grpc-js's event contract, which the
 * stream bridges rely on: 'metadata' when the response headers arrive, 'data' per message,
 * then 'end' for an OK status, or 'error' (a ServiceError-shaped Error: code, details, metadata
 * from the trailers) for any other, emitted after the messages already received are pushed.
 */
import { connect as netConnect } from 'node:net';
import * as http2 from 'node:http2';
import { Readable } from 'node:stream';
import * as grpc from '@grpc/grpc-js';

const { NGHTTP2_CANCEL } = http2.constants;
const WINDOW = 4 * 1024 * 1024;

export interface LoopbackOptions {
  /** `unix:///path/to/gateway.sock` (runed's gateway socket), or `host:port` for a plaintext listener. */
  address: string;
}

/** The error of a failed call: grpc-js's ServiceError shape. */
export interface CallError extends Error {
  code: number;
  details: string;
  metadata: grpc.Metadata;
}

/** One call: response messages to read; request messages to write for streaming requests. */
export class LoopbackCall extends Readable {
  private pending: Buffer = Buffer.alloc(0);
  private settled = false;
  private cancelled = false;
  private headers: http2.IncomingHttpHeaders | undefined;

  constructor(private readonly stream: http2.ClientHttp2Stream) {
    super({ objectMode: true, highWaterMark: 16 });
    stream.on('response', (headers) => {
      this.headers = headers;
      // Trailers-only (an error before any message): the status is in these headers.
      if (headers['grpc-status'] === undefined) this.emit('metadata', grpc.Metadata.fromHttp2Headers(headers));
    });
    stream.on('data', (chunk: Buffer) => this.onData(chunk));
    stream.on('trailers', (trailers) => this.finish(trailers));
    stream.on('end', () => this.finish(this.headers?.['grpc-status'] !== undefined ? this.headers : undefined));
    stream.on('close', () => this.finish(undefined));
    stream.on('error', () => undefined); // reported through 'close' as UNAVAILABLE or CANCELLED
  }

  /** Sends one request message (streaming requests). */
  send(message: Uint8Array): boolean {
    return this.stream.write(frame(message));
  }

  /** No more request messages. */
  end(): void {
    if (!this.stream.writableEnded) this.stream.end();
  }

  /** Cancels the call (RST_STREAM CANCEL); reported as CANCELLED if not settled yet. */
  cancel(): void {
    if (this.settled) return;
    this.cancelled = true;
    this.stream.close(NGHTTP2_CANCEL);
  }

  override _read(): void {
    if (this.stream.isPaused()) this.stream.resume();
  }

  private onData(chunk: Buffer): void {
    this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    while (this.pending.length >= 5) {
      const length = this.pending.readUInt32BE(1);
      if (this.pending.length < 5 + length) break;
      if (this.pending[0] !== 0) {
        this.fail(12, 'the server sent a compressed message; the gateway does not ask for compression', new grpc.Metadata());
        return;
      }
      const message = this.pending.subarray(5, 5 + length);
      this.pending = this.pending.subarray(5 + length);
      // Backpressure: stop reading the HTTP/2 stream (its flow control then holds the server).
      if (!this.push(message)) this.stream.pause();
    }
  }

  private finish(trailers: http2.IncomingHttpHeaders | undefined): void {
    if (this.settled) return;
    if (!trailers) {
      // The stream closed without a status: cancelled by us, or the connection went away.
      if (this.cancelled) this.fail(1, 'cancelled by the gateway', new grpc.Metadata());
      else this.fail(14, 'the connection to runed closed before the call ended', new grpc.Metadata());
      return;
    }
    const code = Number(trailers['grpc-status'] ?? 2);
    const metadata = grpc.Metadata.fromHttp2Headers(trailers);
    if (code === 0) {
      this.settled = true;
      this.push(null);
      return;
    }
    const raw = trailers['grpc-message'];
    this.fail(code, typeof raw === 'string' ? decodeMessage(raw) : '', metadata);
  }

  private fail(code: number, details: string, metadata: grpc.Metadata): void {
    if (this.settled) return;
    this.settled = true;
    const error = Object.assign(new Error(`${code} ${details}`), { code, details, metadata }) as CallError;
    this.push(null);
    this.emit('error', error);
    if (!this.stream.closed) this.stream.close(NGHTTP2_CANCEL);
  }
}

export class LoopbackClient {
  private session: http2.ClientHttp2Session | undefined;
  private closed = false;
  readonly target: string;

  constructor(private readonly options: LoopbackOptions) {
    this.target = options.address;
  }

  private connect(): http2.ClientHttp2Session {
    if (this.closed) throw Object.assign(new Error('14 the gateway is closed'), { code: 14, details: 'the gateway is closed', metadata: new grpc.Metadata() });
    if (this.session && !this.session.closed && !this.session.destroyed) return this.session;
    const unix = /^unix:(?:\/\/)?(\/.*)$/.exec(this.options.address);
    const authority = unix ? 'http://localhost' : `http://${loopbackTarget(this.options.address)}`;
    const session = http2.connect(authority, {
      ...(unix ? { createConnection: () => netConnect(unix[1]!) } : {}),
      settings: { initialWindowSize: WINDOW },
    });
    session.on('connect', () => session.setLocalWindowSize(WINDOW));
    session.on('error', () => undefined); // each open call reports it through its stream
    session.on('close', () => {
      if (this.session === session) this.session = undefined;
    });
    session.unref();
    this.session = session;
    return session;
  }

  /** Starts a call; `request` (unary and server-streaming RPCs) is sent and the request side ended. */
  call(path: string, metadata: grpc.Metadata, request?: Uint8Array): LoopbackCall {
    const stream = this.connect().request(
      { ...metadata.toHttp2Headers(), ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', 'user-agent': 'rune-gateway' },
      { endStream: false },
    );
    const call = new LoopbackCall(stream);
    if (request !== undefined) {
      stream.end(frame(request));
    }
    return call;
  }

  /** A unary call: its one response message, or the CallError. */
  unary(path: string, request: Uint8Array, metadata: grpc.Metadata, onCall?: (call: LoopbackCall) => void): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const call = this.call(path, metadata, request);
      onCall?.(call);
      let reply: Buffer | undefined;
      call.on('data', (m: Buffer) => (reply = m));
      call.on('error', reject);
      call.on('end', () => (reply ? resolve(reply) : reject(Object.assign(new Error('13 no response message'), { code: 13, details: `${path} ended without a response message`, metadata: new grpc.Metadata() }))));
    });
  }

  close(): void {
    this.closed = true;
    this.session?.close();
    this.session = undefined;
  }
}

/** One gRPC message frame: uncompressed flag, 4-byte big-endian length, the bytes. */
function frame(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + message.byteLength);
  out[0] = 0;
  out.writeUInt32BE(message.byteLength, 1);
  out.set(message, 5);
  return out;
}

/** grpc-message is percent-encoded (gRPC spec); a malformed one is shown as it came. */
function decodeMessage(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** `0.0.0.0:7863` → `127.0.0.1:7863`, `[::]:7863` → `[::1]:7863`; anything else as it is. */
export function loopbackTarget(address: string): string {
  return address.replace(/^0\.0\.0\.0:/, '127.0.0.1:').replace(/^\[::\]:/, '[::1]:');
}
