/**
 * A gRPC response stream → an HTTP response stream, in one of two formats:
 *
 * - newline-delimited JSON (`application/x-ndjson`, the default): `{"result": <message>}` per
 *   line, and a last line `{"error": {"code", "status", "message", "details"}}` if the call fails
 *   after the first message;
 * - Server-Sent Events (`Accept: text/event-stream`): one `data: <message>` event per message,
 *   a final `event: error` whose data is the error body, and a `: keep-alive` comment every 15 s.
 *
 * The HTTP status and headers are sent when the server sends its response headers (with its
 * first message), so a call that fails at once (401, 404…) is an ordinary HTTP error. The client
 * going away cancels the call; a slow client pauses it (HTTP/2 flow control then holds runed's
 * side, where a watch that falls too far behind is cut off with an error, never silently thinned).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { JsonValue } from '@bufbuild/protobuf';
import type { ErrorBody, HttpError } from './http-errors.js';
import type { LoopbackCall } from './loopback-client.js';

export interface StreamFormat {
  contentType: string;
  result(message: JsonValue): string;
  error(body: ErrorBody): string;
  /** Written every KEEPALIVE_MS while the stream is idle, if set. */
  keepAlive?: string;
}

export const NDJSON: StreamFormat = {
  contentType: 'application/x-ndjson',
  result: (message) => `${JSON.stringify({ result: message })}\n`,
  error: (body) => `${JSON.stringify({ error: body })}\n`,
};

export const SSE: StreamFormat = {
  contentType: 'text/event-stream',
  result: (message) => `data: ${JSON.stringify(message)}\n\n`,
  error: (body) => `event: error\ndata: ${JSON.stringify(body)}\n\n`,
  keepAlive: ': keep-alive\n\n',
};

const KEEPALIVE_MS = 15_000;

/** SSE when the client accepts `text/event-stream`, else newline-delimited JSON. */
export function streamFormatFor(req: IncomingMessage): StreamFormat {
  return /\btext\/event-stream\b/i.test(req.headers.accept ?? '') ? SSE : NDJSON;
}

export interface PipeOptions {
  call: LoopbackCall;
  res: ServerResponse;
  format: StreamFormat;
  decode(message: Buffer): JsonValue;
  toHttpError(err: unknown): HttpError;
  /** Sends a complete error response (used when nothing was streamed yet). */
  sendError(error: HttpError): void;
  headers: Record<string, string>;
}

/** A running pipe; `abort` ends it with an error frame (runed stopping). */
export interface ActivePipe {
  done: Promise<void>;
  abort(err: unknown): void;
}

export function pipeServerStream(options: PipeOptions): ActivePipe {
  const { call, res, format } = options;
  let started = false;
  let finished = false;
  let keepAlive: NodeJS.Timeout | undefined;
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));

  const start = () => {
    if (started) return;
    started = true;
    res.writeHead(200, { ...options.headers, 'content-type': format.contentType, 'cache-control': 'no-cache', 'x-accel-buffering': 'no' });
    res.flushHeaders();
    if (format.keepAlive) {
      keepAlive = setInterval(() => res.write(format.keepAlive!), KEEPALIVE_MS);
      keepAlive.unref();
    }
  };
  const finish = (err?: unknown) => {
    if (finished) return;
    finished = true;
    clearInterval(keepAlive);
    if (!res.destroyed) {
      if (err === undefined) {
        start();
        res.end();
      } else if (!started) {
        options.sendError(options.toHttpError(err));
      } else {
        res.end(format.error(options.toHttpError(err).body));
      }
    }
    resolveDone();
  };

  call.on('metadata', start);
  call.on('data', (message: Buffer) => {
    if (finished) return;
    start();
    let text: string;
    try {
      text = format.result(options.decode(message));
    } catch (err) {
      call.cancel();
      finish(err);
      return;
    }
    if (!res.write(text)) {
      call.pause();
      res.once('drain', () => call.resume());
    }
  });
  // An OK status ends the stream once every buffered message is out ('end'); an error arrives
  // at once, and waits for the messages before it when some are still buffered (paused).
  let failure: unknown;
  call.on('error', (err) => {
    failure = err;
    if (call.readableLength === 0) finish(err);
  });
  call.on('end', () => finish(failure));
  res.on('close', () => {
    if (!finished) {
      finished = true;
      clearInterval(keepAlive);
      call.cancel(); // the client went away
      resolveDone();
    }
  });
  return {
    done,
    abort: (err) => {
      if (finished) return;
      call.cancel();
      finish(err);
    },
  };
}
