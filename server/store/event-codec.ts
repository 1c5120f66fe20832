/**
 * Encoding of one event-log entry. Written by hand with the protobuf wire primitives rather
 * than as a proto message: it is an on-disk format private to the store, and the object inside
 * is kept as the exact bytes that were written, so watchers can forward them without
 * re-encoding.
 */
import { BinaryReader, BinaryWriter } from '@bufbuild/protobuf/wire';
import type { KindRegistry } from './kinds.js';
import type { EventType, StoreEvent } from './store.js';

const TYPES: readonly EventType[] = ['ADDED', 'MODIFIED', 'DELETED'];

export function encodeEvent(event: StoreEvent, timeMs: number): Uint8Array {
  return new BinaryWriter()
    .uint32(8).uint32(TYPES.indexOf(event.type) + 1)
    .uint32(16).int64(event.revision)
    .uint32(26).string(event.kind)
    .uint32(34).string(event.namespace)
    .uint32(42).string(event.name)
    .uint32(50).bytes(event.encoded)
    .uint32(56).int64(timeMs)
    .finish();
}

export interface DecodedEvent extends StoreEvent {
  /** When the event was committed (ms since the epoch). */
  time: number;
}

/** Decodes a log entry; with `headerOnly` the object is left undecoded (compaction). */
export function decodeEvent(bytes: Uint8Array, kinds: KindRegistry, options: { headerOnly?: boolean } = {}): DecodedEvent {
  const reader = new BinaryReader(bytes);
  const event: DecodedEvent = { type: 'ADDED', revision: 0, kind: '', namespace: '', name: '', object: {}, encoded: new Uint8Array(), time: 0 };
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    switch (field) {
      case 1: event.type = TYPES[reader.uint32() - 1] ?? 'MODIFIED'; break;
      case 2: event.revision = Number(reader.int64()); break;
      case 3: event.kind = reader.string(); break;
      case 4: event.namespace = reader.string(); break;
      case 5: event.name = reader.string(); break;
      case 6: event.encoded = reader.bytes(); break;
      case 7: event.time = Number(reader.int64()); break;
      default: reader.skip(wireType);
    }
  }
  if (!options.headerOnly) event.object = kinds.get(event.kind).codec.decode(event.encoded);
  return event;
}
