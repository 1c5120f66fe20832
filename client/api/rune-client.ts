/**
 * The typed client library for runed's gRPC API: one channel, every call carrying
 * `authorization: Bearer <token>`, unary methods as promises with a per-call deadline, and
 * server-streaming watches as async iterators.
 *
 * Every method rejects with a RuneError (code = the gRPC status code name, message = the
 * server's message, violations = the server's google.rpc.BadRequest details). The connection
 * is plaintext (insecure credentials): runed listens on loopback.
 */
import * as grpc from '@grpc/grpc-js';
import { AuthServiceClient, WhoAmIRequest, type WhoAmIResponse } from '../../shared/gen/rune/v1/auth_service.js';
import {
  CreateNamespaceRequest,
  DeleteNamespaceRequest,
  GetNamespaceRequest,
  ListNamespacesRequest,
  NamespaceServiceClient,
  type CreateNamespaceResponse,
  type DeleteNamespaceResponse,
  type GetNamespaceResponse,
  type ListNamespacesResponse,
} from '../../shared/gen/rune/v1/namespace_service.js';
import {
  CastServiceRequest,
  DeleteServiceRequest,
  GetServiceRequest,
  ListServicesRequest,
  ServiceServiceClient,
  WatchServicesRequest,
  type CastServiceResponse,
  type DeepPartial,
  type DeleteServiceResponse,
  type GetServiceResponse,
  type ListServicesResponse,
} from '../../shared/gen/rune/v1/service_service.js';
import { GetVersionRequest, SystemServiceClient, type GetVersionResponse } from '../../shared/gen/rune/v1/system_service.js';
import { WatchServiceClient, type WatchResponse } from '../../shared/gen/rune/v1/watch_service.js';
import { DEFAULT_SERVER } from '../../shared/config/client-config.js';
import { fromGrpcError } from './grpc-error.js';

export interface RuneClientOptions {
  /** host:port of runed's gRPC endpoint. Default 127.0.0.1:7863. */
  server?: string;
  /** Bearer token sent with every call; without it calls fail with UNAUTHENTICATED. */
  token?: string;
  /** Deadline of each unary call, in seconds. Default 10. Watches have none. */
  timeoutSeconds?: number;
}

type Callback<Res> = (err: grpc.ServiceError | null, res: Res) => void;
type UnaryInvoker<Res> = (metadata: grpc.Metadata, options: Partial<grpc.CallOptions>, callback: Callback<Res>) => grpc.ClientUnaryCall;

export class RuneClient {
  readonly server: string;
  private readonly token: string | undefined;
  private readonly timeoutMs: number;
  private readonly services: ServiceServiceClient;
  private readonly namespaces: NamespaceServiceClient;
  private readonly auth: AuthServiceClient;
  private readonly system: SystemServiceClient;
  /** The multiplexed watch service; exposed for callers that need several watches on one stream. */
  readonly watch: WatchServiceClient;

  constructor(options: RuneClientOptions = {}) {
    this.server = options.server ?? DEFAULT_SERVER;
    this.token = options.token;
    this.timeoutMs = (options.timeoutSeconds ?? 10) * 1000;
    const credentials = grpc.credentials.createInsecure();
    this.services = new ServiceServiceClient(this.server, credentials);
    const shared = { channelOverride: this.services.getChannel() };
    this.namespaces = new NamespaceServiceClient(this.server, credentials, shared);
    this.auth = new AuthServiceClient(this.server, credentials, shared);
    this.system = new SystemServiceClient(this.server, credentials, shared);
    this.watch = new WatchServiceClient(this.server, credentials, shared);
  }

  /** Closes the channel; pending calls fail with CANCELLED. */
  close(): void {
    this.services.close();
  }

  /** Metadata for a call: the bearer token, when there is one. */
  metadata(): grpc.Metadata {
    const metadata = new grpc.Metadata();
    if (this.token !== undefined) metadata.set('authorization', `Bearer ${this.token}`);
    return metadata;
  }

  // Namespaces

  createNamespace(request: DeepPartial<CreateNamespaceRequest>): Promise<CreateNamespaceResponse> {
    return this.unary((md, o, cb) => this.namespaces.createNamespace(CreateNamespaceRequest.fromPartial(request), md, o, cb));
  }
  getNamespace(request: DeepPartial<GetNamespaceRequest>): Promise<GetNamespaceResponse> {
    return this.unary((md, o, cb) => this.namespaces.getNamespace(GetNamespaceRequest.fromPartial(request), md, o, cb));
  }
  listNamespaces(request: DeepPartial<ListNamespacesRequest> = {}): Promise<ListNamespacesResponse> {
    return this.unary((md, o, cb) => this.namespaces.listNamespaces(ListNamespacesRequest.fromPartial(request), md, o, cb));
  }
  deleteNamespace(request: DeepPartial<DeleteNamespaceRequest>): Promise<DeleteNamespaceResponse> {
    return this.unary((md, o, cb) => this.namespaces.deleteNamespace(DeleteNamespaceRequest.fromPartial(request), md, o, cb));
  }

  // Services

  castService(request: DeepPartial<CastServiceRequest>): Promise<CastServiceResponse> {
    return this.unary((md, o, cb) => this.services.castService(CastServiceRequest.fromPartial(request), md, o, cb));
  }
  getService(request: DeepPartial<GetServiceRequest>): Promise<GetServiceResponse> {
    return this.unary((md, o, cb) => this.services.getService(GetServiceRequest.fromPartial(request), md, o, cb));
  }
  /** `namespace: '*'` lists every namespace. */
  listServices(request: DeepPartial<ListServicesRequest>): Promise<ListServicesResponse> {
    return this.unary((md, o, cb) => this.services.listServices(ListServicesRequest.fromPartial(request), md, o, cb));
  }
  deleteService(request: DeepPartial<DeleteServiceRequest>): Promise<DeleteServiceResponse> {
    return this.unary((md, o, cb) => this.services.deleteService(DeleteServiceRequest.fromPartial(request), md, o, cb));
  }

  /**
   * Streams changes to services after `fromRevision` (a list's revision; 0 = from now). Ends
   * when the server ends the stream or `signal` aborts (then quietly); throws a RuneError when
   * the stream fails (UNAVAILABLE when runed went away: resume from the last revision seen).
   */
  async *watchServices(request: DeepPartial<WatchServicesRequest>, options: { signal?: AbortSignal } = {}): AsyncGenerator<WatchResponse, void, undefined> {
    const { signal } = options;
    if (signal?.aborted) return;
    const call = this.services.watchServices(WatchServicesRequest.fromPartial(request), this.metadata());
    const cancel = () => call.cancel();
    signal?.addEventListener('abort', cancel, { once: true });
    try {
      for await (const message of call) yield message as WatchResponse;
    } catch (err) {
      if (signal?.aborted) return;
      throw fromGrpcError(err);
    } finally {
      signal?.removeEventListener('abort', cancel);
      call.cancel();
    }
  }

  // Auth and system

  whoAmI(): Promise<WhoAmIResponse> {
    return this.unary((md, o, cb) => this.auth.whoAmI(WhoAmIRequest.fromPartial({}), md, o, cb));
  }
  getVersion(): Promise<GetVersionResponse> {
    return this.unary((md, o, cb) => this.system.getVersion(GetVersionRequest.fromPartial({}), md, o, cb));
  }

  private unary<Res>(invoke: UnaryInvoker<Res>): Promise<Res> {
    return new Promise((resolve, reject) => {
      invoke(this.metadata(), { deadline: Date.now() + this.timeoutMs }, (err, res) => (err ? reject(fromGrpcError(err)) : resolve(res)));
    });
  }
}
