/**
 * LogService: streams an instance's log, or a service's instances' logs interleaved by time.
 * Validates the request, resolves the target (server/logs/log-targets.ts) and streams it
 * (server/logs/log-stream.ts), one StreamLogsResponse per batch of lines.
 *
 * A client that stops reading holds the stream (backpressure) for up to `stallMs`, then the
 * stream ends with RESOURCE_EXHAUSTED; the client may ask again with `since`.
 */
import { once } from 'node:events';
import type { ServerWritableStream } from '@grpc/grpc-js';
import { RuneError } from '../../../shared/errors.js';
import { StreamLogsResponse, type StreamLogsRequest } from '../../../shared/gen/rune/v1/log_service.js';
import { streamLogs, type SourcedLine } from '../../logs/log-stream.js';
import { resolveLogTargets } from '../../logs/log-targets.js';
import type { Store } from '../../store/store.js';
import type { CallContext } from '../chain.js';
import type { HandlerMap } from '../dispatch.js';

export interface LogHandlerOptions {
  /** How often a followed log is checked for new lines, ms. Default 200. */
  pollMs?: number;
  /** How often a followed service's instances are listed again, ms. Default 1000. */
  discoverMs?: number;
  /** How long a client may read nothing before its stream ends, ms. Default 60,000. */
  stallMs?: number;
}

export function logHandlers(store: Store, options: LogHandlerOptions = {}): HandlerMap {
  return {
    '/rune.v1.LogService/StreamLogs': (req: StreamLogsRequest, ctx: CallContext, call: ServerWritableStream<StreamLogsRequest, StreamLogsResponse>) =>
      serveLogs(store, options, req, ctx, call),
  };
}

async function serveLogs(store: Store, options: LogHandlerOptions, req: StreamLogsRequest, ctx: CallContext, call: ServerWritableStream<StreamLogsRequest, StreamLogsResponse>): Promise<void> {
  if (!req.namespace) throw RuneError.invalid('namespace', 'is required');
  if (!req.target) throw RuneError.invalid('target', 'is required: an instance id or a service name');
  if (req.tail < -1) throw RuneError.invalid('tail', `must be -1 (no past lines), 0 (all) or a line count, not ${req.tail}`);
  const targets = await resolveLogTargets(store, req.namespace, req.target);
  const stallMs = options.stallMs ?? 60_000;
  await streamLogs(targets.sources, {
    tail: req.tail,
    since: req.since,
    follow: req.follow,
    signal: ctx.signal,
    discover: targets.discover,
    pollMs: options.pollMs,
    discoverMs: options.discoverMs,
    write: (lines) => sendLogLines(call, lines, ctx.signal, stallMs),
  });
}

/** Writes one message; when grpc-js buffers enough, waits for 'drain' (at most `stallMs`). */
export async function sendLogLines(call: ServerWritableStream<unknown, unknown>, lines: SourcedLine[], signal: AbortSignal, stallMs: number): Promise<void> {
  if (signal.aborted) return;
  const message = StreamLogsResponse.fromPartial({ lines: lines.map((l) => ({ instance: l.instance, text: l.text, time: l.time })) });
  if (call.write(message)) return;
  const stall = AbortSignal.timeout(stallMs);
  try {
    await once(call, 'drain', { signal: AbortSignal.any([signal, stall]) });
  } catch (err) {
    if (stall.aborted && !signal.aborted) {
      throw new RuneError('RESOURCE_EXHAUSTED', `the client read no log lines for ${stallMs / 1000}s; ask again with since to resume`);
    }
    if (!signal.aborted) throw err;
  }
}
