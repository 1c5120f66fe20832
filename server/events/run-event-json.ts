/**
 * A run event as one JSON line of the local event socket. The line is built once per store
 * event and shared by every subscriber (a WeakMap keyed by the store's event object, as
 * WatchRuns shares its protobuf bytes); `run` is the proto3 JSON of the run, exactly as the
 * REST API renders it (camelCase, int64 as strings, timestamps in RFC 3339, defaults emitted).
 *
 * ```json
 * {"event":"run:progress","revision":123,"id":"01j9…","namespace":"default","job":"backup",
 *  "source":"local","status":"running","reason":"Started","progress":{"finished":3,"total":10},
 *  "currentTask":"copy","message":"","time":"2025-01-01T12:00:00.000Z","run":{…}}
 * ```
 *
 * `time` is when the run was last written (its `metadata.updatedAt`); for `run:deleted` that is
 * its last write before the deletion.
 */
import type { DescMessage } from '@bufbuild/protobuf';
import type { Run } from '../../shared/gen/rune/v1/run.js';
import { runEventType, type RunEventType } from '../domain/run-events.js';
import { ProtoJson } from '../gateway/proto-json.js';
import { loadApiRegistry } from '../gateway/proto-registry.js';
import type { StoreEvent } from '../store/store.js';

export interface RunEventLine {
  event: RunEventType;
  /** The store revision of the change: the event's id; resume with `fromRevision` set to it. */
  revision: number;
  id: string;
  namespace: string;
  job: string;
  source: string;
  status: string;
  reason: string;
  progress: { finished: number; total: number };
  currentTask: string;
  message: string;
  time: string;
  run: unknown;
}

/** JSON of the API's Run message (descriptors loaded on first use). */
let codec: { json: ProtoJson; run: DescMessage } | undefined;
function runCodec(): { json: ProtoJson; run: DescMessage } {
  if (!codec) {
    const registry = loadApiRegistry();
    const run = registry.getMessage('rune.v1.Run');
    if (!run) throw new Error('rune.v1.Run is missing from dist/rune.binpb: run "npm run codegen"');
    codec = { json: new ProtoJson(registry), run };
  }
  return codec;
}

const lines = new WeakMap<StoreEvent, Buffer>();

/** The event as a JSON line (with its trailing newline), built once per store event. */
export function runEventLine(event: StoreEvent): Buffer {
  let line = lines.get(event);
  if (!line) {
    line = Buffer.from(`${JSON.stringify(toRunEventLine(event))}\n`);
    lines.set(event, line);
  }
  return line;
}

export function toRunEventLine(event: StoreEvent): RunEventLine {
  const run = event.object as Run;
  const { json, run: desc } = runCodec();
  const status = run.status;
  return {
    event: runEventType(event),
    revision: event.revision,
    id: event.name,
    namespace: event.namespace,
    job: run.spec?.job ?? '',
    source: run.spec?.source || 'local',
    status: status?.phase ?? '',
    reason: status?.reason ?? '',
    progress: { finished: status?.progress?.finished ?? 0, total: status?.progress?.total ?? 0 },
    currentTask: status?.currentTask ?? '',
    message: status?.message ?? '',
    time: (run.metadata?.updatedAt ?? new Date()).toISOString(),
    run: json.decode(desc, event.encoded),
  };
}
