/**
 * What the run-events scenario sends and reads on the wire, decoded only as far as the
 * measurement needs (like lib/wire.ts): the revisions of the events of a WatchRunsResponse and
 * whether it ends the history; the revision of a line of the local event socket. The request
 * bodies are built once, before a run.
 */
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import { ListRunsRequest, StartRunRequest, WatchRunsRequest } from '../../../shared/gen/rune/v1/run_service.js';

export const RUNS = {
  list: '/rune.v1.RunService/ListRuns',
  start: '/rune.v1.RunService/StartRun',
  watch: '/rune.v1.RunService/WatchRuns',
  castJob: '/rune.v1.JobService/CastJob',
} as const;

/** WatchRuns of the runs in `namespace` (in one of `status`'s phases; empty: all), from now (no history). */
export function watchRunsBody(namespace: string, status: string[] = []): Uint8Array {
  return WatchRunsRequest.encode({ namespace, filter: status.length > 0 ? { job: '', status, source: '' } : undefined, includeHistory: 0, fromRevision: 0 }).finish();
}

export function startRunBody(namespace: string, job: string): Uint8Array {
  return StartRunRequest.encode({ namespace, job, env: {} }).finish();
}

export function listRunsBody(namespace: string, limit: number): Uint8Array {
  return ListRunsRequest.encode({ namespace, filter: undefined, options: { limit, continueToken: '', labelSelector: '' } }).finish();
}

/** What a receiver needs from one WatchRunsResponse. */
export interface RunsWatchMessage {
  historyEnd: boolean;
  /** The revision of each event. */
  revisions: number[];
}

/** WatchRunsResponse { events = 1 { revision = 1 }; revision = 2; history_end = 3 }. */
export function decodeWatchRuns(bytes: Uint8Array): RunsWatchMessage {
  const message: RunsWatchMessage = { historyEnd: false, revisions: [] };
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const [no, type] = reader.tag();
    if (no === 3 && type === WireType.Varint) message.historyEnd = reader.bool();
    else if (no === 1 && type === WireType.LengthDelimited) {
      const event = new BinaryReader(reader.bytes());
      while (event.pos < event.len) {
        const [eNo, eType] = event.tag();
        if (eNo === 1 && eType === WireType.Varint) {
          message.revisions.push(Number(event.int64()));
          break; // the revision is the event's first field: the rest is not needed
        }
        event.skip(eType, eNo);
      }
    } else reader.skip(type, no);
  }
  return message;
}

const REVISION = Buffer.from('"revision":');
const HISTORY_END = Buffer.from('{"event":"history-end"');
const ERROR = Buffer.from('{"event":"error"');

/** One line of the event socket, read as far as the measurement needs. */
export type SocketLine = { kind: 'event'; revision: number } | { kind: 'history-end' } | { kind: 'error'; text: string } | { kind: 'other' };

/** Reads `line` (without its newline): run event lines carry `"revision":N` near the start. */
export function readSocketLine(line: Buffer): SocketLine {
  if (line.subarray(0, HISTORY_END.length).equals(HISTORY_END)) return { kind: 'history-end' };
  if (line.subarray(0, ERROR.length).equals(ERROR)) return { kind: 'error', text: line.toString('utf8') };
  // {"event":"run:added","revision":123,...: look only at the first bytes.
  const at = line.subarray(0, 64).indexOf(REVISION);
  if (at < 0) return { kind: 'other' };
  let revision = 0;
  for (let i = at + REVISION.length; i < line.length; i++) {
    const c = line[i]!;
    if (c < 48 || c > 57) break;
    revision = revision * 10 + (c - 48);
  }
  return { kind: 'event', revision };
}
