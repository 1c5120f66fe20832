/**
 * gRPC server reflection (what `grpcurl list` uses), built on first use. Decoding runed's
 * descriptor set for @grpc/reflection costs ~40 MB of RSS and ~0.4 s at start (measured on this
 * machine), for a service few clients ever call; so the reflection services are registered with
 * pass-through serializers and the real implementation is loaded, and handed the stream, only
 * when the first reflection call arrives.
 */
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import type { Server, ServerDuplexStream, ServiceDefinition, UntypedServiceImplementation } from '@grpc/grpc-js';

const VERSIONS = ['grpc.reflection.v1.ServerReflection', 'grpc.reflection.v1alpha.ServerReflection'] as const;
type Version = (typeof VERSIONS)[number];

interface Loaded {
  definition: ServiceDefinition;
  handler: (stream: unknown) => void;
}

const passThrough = (b: Buffer) => b;

export function addLazyReflection(server: Server, descriptorSetPath: string): void {
  let loading: Promise<Map<Version, Loaded>> | undefined;
  const load = () =>
    (loading ??= (async () => {
      const [{ loadFileDescriptorSetFromBuffer }, { ReflectionService }] = await Promise.all([import('@grpc/proto-loader'), import('@grpc/reflection')]);
      const reflection = new ReflectionService(loadFileDescriptorSetFromBuffer(readFileSync(descriptorSetPath)));
      const loaded = new Map<Version, Loaded>();
      // Capture the real definitions and handlers instead of registering them.
      reflection.addToServer({
        addService: (definition: ServiceDefinition, impl: UntypedServiceImplementation) => {
          const path = Object.values(definition)[0]!.path;
          const version = VERSIONS.find((v) => path.startsWith(`/${v}/`));
          if (version) loaded.set(version, { definition, handler: Object.values(impl)[0] as (stream: unknown) => void });
        },
      });
      return loaded;
    })());

  for (const version of VERSIONS) {
    const definition: ServiceDefinition = {
      ServerReflectionInfo: {
        path: `/${version}/ServerReflectionInfo`,
        requestStream: true,
        responseStream: true,
        requestSerialize: passThrough,
        requestDeserialize: passThrough,
        responseSerialize: passThrough,
        responseDeserialize: passThrough,
      },
    };
    server.addService(definition, {
      ServerReflectionInfo: (call: ServerDuplexStream<Buffer, Buffer>) => {
        // Hold the client's messages until the implementation is loaded, then replay them in order.
        const held: ['data' | 'end', Buffer?][] = [];
        let adapter: EventEmitter | undefined;
        call.on('data', (b: Buffer) => (adapter ? adapter.emit('data', decode(b)) : held.push(['data', b])));
        call.on('end', () => (adapter ? adapter.emit('end') : held.push(['end'])));
        let decode: (b: Buffer) => unknown = passThrough;
        load().then(
          (loaded) => {
            const real = loaded.get(version)!;
            const method = Object.values(real.definition)[0]!;
            decode = (b) => method.requestDeserialize(b);
            adapter = Object.assign(new EventEmitter(), {
              write: (message: unknown) => call.write(method.responseSerialize(message)),
              end: () => call.end(),
            });
            real.handler(adapter);
            for (const [event, b] of held) adapter.emit(event, event === 'data' ? decode(b!) : undefined);
          },
          (err: Error) => call.destroy(err),
        );
      },
    });
  }
}
