/**
 * The live status of a running runed: what the local event socket answers to
 * `{"action":"status"}` (as `{"event":"status", …}`), and how `runed status` asks for it.
 */
import { connect } from 'node:net';
import type { TaskStatus } from '../housekeeping/scheduler.js';

export interface LiveStatus {
  version: string;
  pid: number;
  /** ISO 8601. */
  startedAt: string;
  uptimeSeconds: number;
  dataDir: string;
  grpcAddr: string;
  httpAddr: string;
  /** The store's latest revision, and the oldest one a watch may resume from. */
  revision: number;
  compactedRevision: number;
  /** Processes supervised, and instances and services known (absent with the orchestrator off). */
  supervised?: number;
  instances?: number;
  services?: number;
  eventSocket: { path?: string; connections: number; subscriptions: number };
  housekeeping: TaskStatus[];
}

/**
 * Asks the event socket at `path` for the live status. Rejects with the reason (no socket,
 * permission denied, no answer within `timeoutMs`, an error line).
 */
export function queryLiveStatus(path: string, timeoutMs = 3000): Promise<LiveStatus> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    let input = '';
    const done = (err: Error | undefined, status?: LiveStatus) => {
      socket.destroy();
      if (err) reject(err);
      else resolve(status!);
    };
    socket.setEncoding('utf8');
    socket.setTimeout(timeoutMs, () => done(new Error(`no answer from ${path} within ${timeoutMs} ms`)));
    socket.on('error', (err) => done(err));
    socket.on('connect', () => socket.write('{"action":"status"}\n'));
    socket.on('data', (chunk: string) => {
      input += chunk;
      const nl = input.indexOf('\n');
      if (nl === -1) return;
      try {
        const line = JSON.parse(input.slice(0, nl)) as { event: string; message?: string } & LiveStatus;
        if (line.event !== 'status') return done(new Error(line.message ?? `unexpected answer: ${input.slice(0, nl)}`));
        const { event: _event, ...status } = line;
        done(undefined, status);
      } catch (err) {
        done(err as Error);
      }
    });
    socket.on('end', () => done(new Error(`${path} closed the connection without an answer`)));
  });
}
