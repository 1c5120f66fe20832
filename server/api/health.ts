/**
 * The standard gRPC health service (grpc.health.v1.Health: Check and Watch), for load
 * balancers and `grpc_health_probe`. Written here rather than taken from grpc-health-check,
 * which loads its proto with @grpc/proto-loader (protobufjs) at start: ~5 MB of RSS and tens of
 * ms for two tiny messages. The wire format is two fields, encoded by hand below:
 *   HealthCheckRequest  { string service = 1; }
 *   HealthCheckResponse { ServingStatus status = 1; }  // 1 SERVING, 2 NOT_SERVING, 3 SERVICE_UNKNOWN
 */
import { BinaryReader, BinaryWriter } from '@bufbuild/protobuf/wire';
import * as grpc from '@grpc/grpc-js';

export type ServingStatus = 'SERVING' | 'NOT_SERVING';

const STATUS_NUMBERS = { SERVING: 1, NOT_SERVING: 2, SERVICE_UNKNOWN: 3 } as const;
/** Most Watch streams open at once (each holds a listener). */
const MAX_WATCHERS = 100;

function decodeRequest(bytes: Buffer): { service: string } {
  const reader = new BinaryReader(bytes);
  let service = '';
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === 1 && wireType === 2) service = reader.string();
    else reader.skip(wireType);
  }
  return { service };
}

function encodeResponse(status: keyof typeof STATUS_NUMBERS): Buffer {
  return Buffer.from(new BinaryWriter().uint32(8).int32(STATUS_NUMBERS[status]).finish());
}

const method = (path: string, responseStream: boolean) => ({
  path: `/grpc.health.v1.Health/${path}`,
  requestStream: false,
  responseStream,
  requestSerialize: (value: Buffer) => value,
  requestDeserialize: decodeRequest,
  responseSerialize: (value: Buffer) => value,
  responseDeserialize: (value: Buffer) => value,
});

const definition = { check: method('Check', false), watch: method('Watch', true) };

export class HealthService {
  private readonly statuses = new Map<string, ServingStatus>();
  private readonly watchers = new Map<string, Set<(status: ServingStatus) => void>>();
  private watching = 0;

  constructor(initial: Record<string, ServingStatus>) {
    for (const [service, status] of Object.entries(initial)) this.statuses.set(service, status);
  }

  setStatus(service: string, status: ServingStatus): void {
    this.statuses.set(service, status);
    for (const notify of this.watchers.get(service) ?? []) notify(status);
  }

  addToServer(server: grpc.Server): void {
    server.addService(definition as unknown as grpc.ServiceDefinition, {
      check: (call: grpc.ServerUnaryCall<{ service: string }, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
        const status = this.statuses.get(call.request.service);
        if (status) callback(null, encodeResponse(status));
        else callback({ code: grpc.status.NOT_FOUND, details: `health status unknown for service "${call.request.service}"` });
      },
      watch: (call: grpc.ServerWritableStream<{ service: string }, Buffer>) => {
        if (this.watching >= MAX_WATCHERS) {
          call.emit('error', { code: grpc.status.RESOURCE_EXHAUSTED, details: `at most ${MAX_WATCHERS} health watches at once` });
          return;
        }
        const service = call.request.service;
        const notify = (status: ServingStatus) => call.write(encodeResponse(status));
        let set = this.watchers.get(service);
        if (!set) this.watchers.set(service, (set = new Set()));
        set.add(notify);
        this.watching += 1;
        call.write(encodeResponse(this.statuses.get(service) ?? 'SERVICE_UNKNOWN'));
        call.on('cancelled', () => {
          set.delete(notify);
          this.watching -= 1;
        });
      },
    });
  }
}
