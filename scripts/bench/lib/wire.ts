/**
 * Hand-written protobuf encoders and minimal decoders for the few messages the store scenarios
 * send and read, on both sides: etcd's `etcdserverpb` (rpc.proto of etcd 3.4, the copy in
 * node_modules/etcd3/proto) and runed's WatchResponse. Requests are encoded once, before a run
 * (prebuilt bodies, like h2load's), and responses are decoded only as far as the measurement
 * needs (a revision, watch ids), the same amount of work on each side, so the driver's cost does
 * not depend on which server it talks to.
 */
import { BinaryReader, BinaryWriter, WireType } from '@bufbuild/protobuf/wire';

const utf8 = new TextEncoder();

/** The gRPC paths the drivers call. */
export const ETCD = {
  put: '/etcdserverpb.KV/Put',
  range: '/etcdserverpb.KV/Range',
  watch: '/etcdserverpb.Watch/Watch',
} as const;

export const RUNED = {
  cast: '/rune.v1.ServiceService/CastService',
  get: '/rune.v1.ServiceService/GetService',
  list: '/rune.v1.ServiceService/ListServices',
  watch: '/rune.v1.WatchService/Watch',
} as const;

/** etcd PutRequest { key = 1; value = 2 }. */
export function etcdPut(key: string, value: Uint8Array): Uint8Array {
  return new BinaryWriter().uint32(10).bytes(utf8.encode(key)).uint32(18).bytes(value).finish();
}

/** The key just past every key with this prefix (etcd's range_end for a prefix). */
export function prefixEnd(prefix: string): Uint8Array {
  const end = Uint8Array.from(utf8.encode(prefix));
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return end.slice(0, i + 1);
    }
  }
  return new Uint8Array([0]);
}

/** etcd RangeRequest { key = 1; range_end = 2; limit = 3; serializable = 7 }. */
export function etcdRange(options: { key: string; prefix?: boolean; limit?: number; serializable: boolean }): Uint8Array {
  const writer = new BinaryWriter().uint32(10).bytes(utf8.encode(options.key));
  if (options.prefix) writer.uint32(18).bytes(prefixEnd(options.key));
  if (options.limit) writer.uint32(24).int64(options.limit);
  if (options.serializable) writer.uint32(56).bool(true);
  return writer.finish();
}

/** etcd WatchRequest { create_request = 1 { key = 1; watch_id = 7 } }; ids start at 1 (0 means "server picks"). */
export function etcdWatchCreate(key: string, watchId: number): Uint8Array {
  return new BinaryWriter().uint32(10).fork().uint32(10).bytes(utf8.encode(key)).uint32(56).int64(watchId).join().finish();
}

/** runed WatchRequest { create = 1 { watch_id = 1; kind = 2; namespace = 3 } }, from now. */
export function runedWatchCreate(watchId: number, kind: string, namespace: string): Uint8Array {
  return new BinaryWriter().uint32(10).fork().uint32(8).int64(watchId).uint32(18).string(kind).uint32(26).string(namespace).join().finish();
}

/** Reads each field of `bytes`, calling `field(no, wireType, reader)`; unread fields are skipped. */
function fields(bytes: Uint8Array, field: (no: number, type: WireType, reader: BinaryReader) => boolean): void {
  const reader = new BinaryReader(bytes);
  while (reader.pos < reader.len) {
    const [no, type] = reader.tag();
    if (!field(no, type, reader)) reader.skip(type, no);
  }
}

/** The header revision of any etcd response (ResponseHeader is field 1; its revision field 3). */
export function etcdHeaderRevision(bytes: Uint8Array): number {
  let revision = 0;
  fields(bytes, (no, _t, r) => {
    if (no !== 1) return false;
    fields(r.bytes(), (hNo, _ht, hr) => {
      if (hNo !== 3) return false;
      revision = Number(hr.int64());
      return true;
    });
    return true;
  });
  return revision;
}

/** What a watch receiver needs from one etcd WatchResponse. */
export interface EtcdWatchMessage {
  created: boolean;
  canceled: boolean;
  /** mod_revision of each event's kv. */
  revisions: number[];
}

/** etcd WatchResponse { created = 3; canceled = 4; events = 11 { kv = 2 { mod_revision = 3 } } }. */
export function decodeEtcdWatch(bytes: Uint8Array): EtcdWatchMessage {
  const message: EtcdWatchMessage = { created: false, canceled: false, revisions: [] };
  fields(bytes, (no, _t, r) => {
    if (no === 3) message.created = r.bool();
    else if (no === 4) message.canceled = r.bool();
    else if (no === 11) {
      fields(r.bytes(), (eNo, _et, er) => {
        if (eNo !== 2) return false;
        fields(er.bytes(), (kNo, _kt, kr) => {
          if (kNo !== 3) return false;
          message.revisions.push(Number(kr.int64()));
          return true;
        });
        return true;
      });
    } else return false;
    return true;
  });
  return message;
}

/** What a watch receiver needs from one runed WatchResponse. */
export interface RunedWatchMessage {
  /** Watches acknowledged by this message. */
  created: number;
  canceled: number;
  /** Per event: its revision and how many of this stream's watches it matched. */
  events: { revision: number; watches: number }[];
}

/** runed WatchResponse { events = 1 { revision = 2; watch_ids = 20 (packed) }; created = 2; canceled = 3 }. */
export function decodeRunedWatch(bytes: Uint8Array): RunedWatchMessage {
  const message: RunedWatchMessage = { created: 0, canceled: 0, events: [] };
  fields(bytes, (no, _t, r) => {
    if (no === 2) {
      message.created++;
      return false;
    }
    if (no === 3) {
      message.canceled++;
      return false;
    }
    if (no !== 1) return false;
    const event = { revision: 0, watches: 0 };
    fields(r.bytes(), (eNo, eType, er) => {
      if (eNo === 2) event.revision = Number(er.int64());
      else if (eNo === 20 && eType === WireType.LengthDelimited) {
        const end = er.uint32() + er.pos;
        while (er.pos < end) {
          er.int64();
          event.watches++;
        }
      } else if (eNo === 20) {
        er.int64();
        event.watches++;
      } else return false;
      return true;
    });
    message.events.push(event);
    return true;
  });
  return message;
}
