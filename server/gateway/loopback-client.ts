/**
 * The gateway's one gRPC channel to runed's own gRPC listener. Calls carry bytes both ways
 * (the gateway encodes and decodes with descriptors), so any RPC can be called by its path,
 * and each one runs the full interceptor chain (authn → admin gate → RBAC → rate limit →
 * observe) exactly as for any other gRPC client.
 */
import * as grpc from '@grpc/grpc-js';

export interface LoopbackOptions {
  /** runed's gRPC address as bound; a wildcard host (0.0.0.0, [::]) is dialled on loopback. */
  address: string;
  /**
   * The credentials to dial it with: insecure for a plaintext listener; for a TLS listener,
   * `grpc.credentials.createSsl(ca)` trusting runed's own certificate (with a client
   * certificate if the listener requires one) plus `grpc.ssl_target_name_override` in
   * `channelOptions` when the certificate does not name the loopback address.
   */
  credentials?: grpc.ChannelCredentials;
  channelOptions?: grpc.ChannelOptions;
}

const identity = (b: Buffer): Buffer => b;

export class LoopbackClient {
  private readonly client: grpc.Client;
  readonly target: string;

  constructor(options: LoopbackOptions) {
    this.target = loopbackTarget(options.address);
    this.client = new grpc.Client(this.target, options.credentials ?? grpc.credentials.createInsecure(), {
      'grpc.max_receive_message_length': -1,
      'grpc.max_send_message_length': -1,
      'grpc-node.flow_control_window': 4 * 1024 * 1024,
      'grpc.primary_user_agent': 'rune-gateway',
      ...options.channelOptions,
    });
  }

  unary(path: string, request: Uint8Array, metadata: grpc.Metadata, onCall?: (call: grpc.ClientUnaryCall) => void): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const call = this.client.makeUnaryRequest(path, identity, identity, Buffer.from(request.buffer, request.byteOffset, request.byteLength), metadata, {}, (err, value) =>
        err ? reject(err) : resolve(value!),
      );
      onCall?.(call);
    });
  }

  serverStream(path: string, request: Uint8Array, metadata: grpc.Metadata): grpc.ClientReadableStream<Buffer> {
    return this.client.makeServerStreamRequest(path, identity, identity, Buffer.from(request.buffer, request.byteOffset, request.byteLength), metadata, {});
  }

  bidi(path: string, metadata: grpc.Metadata): grpc.ClientDuplexStream<Buffer, Buffer> {
    return this.client.makeBidiStreamRequest(path, identity, identity, metadata, {});
  }

  close(): void {
    this.client.close();
  }
}

/** `0.0.0.0:7863` → `127.0.0.1:7863`, `[::]:7863` → `[::1]:7863`; anything else as it is. */
export function loopbackTarget(address: string): string {
  return address.replace(/^0\.0\.0\.0:/, '127.0.0.1:').replace(/^\[::\]:/, '[::1]:');
}
