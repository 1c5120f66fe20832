/**
 * The typed client library for runed's gRPC API: one channel, every call carrying
 * `authorization: Bearer <token>`, unary methods as promises with a per-call deadline, and
 * server-streaming watches as async iterators.
 *
 * `exec` is the one bidirectional call: an ExecCall to send stdin and resizes on while reading
 * the command's output.
 *
 * Every method rejects with a RuneError (code = the gRPC status code name, message = the
 * server's message, violations = the server's google.rpc.BadRequest details). The connection
 * is plaintext unless `tls` is given (runed listens on loopback unless it serves TLS).
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
  RestartServiceRequest,
  ScaleServiceRequest,
  ServiceServiceClient,
  WatchServicesRequest,
  type CastServiceResponse,
  type DeepPartial,
  type DeleteServiceResponse,
  type GetServiceResponse,
  type ListServicesResponse,
  type RestartServiceResponse,
  type ScaleServiceResponse,
} from '../../shared/gen/rune/v1/service_service.js';
import { ExecRequest, ExecServiceClient, type ExecResponse, type ExecStart, type TerminalSize } from '../../shared/gen/rune/v1/exec_service.js';
import {
  GetInstanceRequest,
  InstanceServiceClient,
  ListInstancesRequest,
  WatchInstancesRequest,
  type GetInstanceResponse,
  type ListInstancesResponse,
} from '../../shared/gen/rune/v1/instance_service.js';
import { LogServiceClient, StreamLogsRequest, type StreamLogsResponse } from '../../shared/gen/rune/v1/log_service.js';
import {
  CastSecretRequest,
  DeleteSecretRequest,
  GetSecretRequest,
  ListSecretsRequest,
  SecretServiceClient,
  type CastSecretResponse,
  type DeleteSecretResponse,
  type GetSecretResponse,
  type ListSecretsResponse,
} from '../../shared/gen/rune/v1/secret_service.js';
import {
  CastConfigMapRequest,
  ConfigMapServiceClient,
  DeleteConfigMapRequest,
  GetConfigMapRequest,
  ListConfigMapsRequest,
  type CastConfigMapResponse,
  type DeleteConfigMapResponse,
  type GetConfigMapResponse,
  type ListConfigMapsResponse,
} from '../../shared/gen/rune/v1/configmap_service.js';
import {
  CastJobRequest,
  DeleteJobRequest,
  GetJobRequest,
  JobServiceClient,
  ListJobsRequest,
  type CastJobResponse,
  type DeleteJobResponse,
  type GetJobResponse,
  type ListJobsResponse,
} from '../../shared/gen/rune/v1/job_service.js';
import {
  CancelRunRequest,
  DeleteRunRequest,
  GetRunRequest,
  ListRunsRequest,
  RunServiceClient,
  StartRunRequest,
  StreamRunLogsRequest,
  WatchRunsRequest,
  type CancelRunResponse,
  type DeleteRunResponse,
  type GetRunResponse,
  type ListRunsResponse,
  type StartRunResponse,
  type WatchRunsResponse,
} from '../../shared/gen/rune/v1/run_service.js';
import { GetKekStatusRequest, KekServiceClient, RotateKekRequest, type GetKekStatusResponse, type RotateKekResponse } from '../../shared/gen/rune/v1/kek_service.js';
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
  /**
   * Connect with TLS: verify runed's certificate against `ca` (PEM; the system's roots when
   * absent) and, for mutual TLS, present `cert` with its `key` (PEM). Plaintext when undefined.
   */
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
}

/** Options of the streaming calls. */
export interface StreamOptions {
  /** Cancels the call; the stream then ends quietly instead of throwing CANCELLED. */
  signal?: AbortSignal;
}

/**
 * One running `exec`. The `start` message is already sent; send stdin and resizes while
 * reading `responses()` (the command's output, then its exit status).
 */
export interface ExecCall {
  /** stdout/stderr chunks and, last, `exit`, in order. Throws a RuneError when the call fails; ends quietly after cancel(). */
  responses(): AsyncGenerator<ExecResponse, void, undefined>;
  /** Sends bytes to the command's stdin; false when the send buffer is full (await drained()). */
  writeStdin(data: Uint8Array): boolean;
  /** Closes the command's stdin (stdinEof). */
  closeStdin(): void;
  /** Tells the command's terminal its new size (with tty). */
  resize(size: Pick<TerminalSize, 'rows' | 'cols'>): void;
  /** Resolves when the send buffer has room again. */
  drained(): Promise<void>;
  /** Ends the call; the server stops the command. */
  cancel(): void;
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
  private readonly instances: InstanceServiceClient;
  private readonly logs: LogServiceClient;
  private readonly execs: ExecServiceClient;
  private readonly secrets: SecretServiceClient;
  private readonly configMaps: ConfigMapServiceClient;
  private readonly keks: KekServiceClient;
  private readonly jobs: JobServiceClient;
  private readonly runs: RunServiceClient;
  /** The multiplexed watch service; exposed for callers that need several watches on one stream. */
  readonly watch: WatchServiceClient;

  constructor(options: RuneClientOptions = {}) {
    this.server = options.server ?? DEFAULT_SERVER;
    this.token = options.token;
    this.timeoutMs = (options.timeoutSeconds ?? 10) * 1000;
    const tls = options.tls;
    const credentials = tls ? grpc.credentials.createSsl(tls.ca ?? null, tls.key ?? null, tls.cert ?? null) : grpc.credentials.createInsecure();
    this.services = new ServiceServiceClient(this.server, credentials);
    const shared = { channelOverride: this.services.getChannel() };
    this.namespaces = new NamespaceServiceClient(this.server, credentials, shared);
    this.auth = new AuthServiceClient(this.server, credentials, shared);
    this.system = new SystemServiceClient(this.server, credentials, shared);
    this.watch = new WatchServiceClient(this.server, credentials, shared);
    this.instances = new InstanceServiceClient(this.server, credentials, shared);
    this.logs = new LogServiceClient(this.server, credentials, shared);
    this.execs = new ExecServiceClient(this.server, credentials, shared);
    this.secrets = new SecretServiceClient(this.server, credentials, shared);
    this.configMaps = new ConfigMapServiceClient(this.server, credentials, shared);
    this.keks = new KekServiceClient(this.server, credentials, shared);
    this.jobs = new JobServiceClient(this.server, credentials, shared);
    this.runs = new RunServiceClient(this.server, credentials, shared);
  }

  /**
   * A generated client of another API service sharing this client's channel (its server and
   * credentials); call it through `unary` / `serverStream` so the token and deadline apply.
   */
  attach<C extends grpc.Client>(Client: new (address: string, credentials: grpc.ChannelCredentials, options: Partial<grpc.ClientOptions>) => C): C {
    return new Client(this.server, grpc.credentials.createInsecure(), { channelOverride: this.services.getChannel() });
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

  /** Sets `spec.scale`; returns the updated service. NOT_FOUND when there is no such service. */
  scaleService(request: DeepPartial<ScaleServiceRequest>): Promise<ScaleServiceResponse> {
    return this.unary((md, o, cb) => this.services.scaleService(ScaleServiceRequest.fromPartial(request), md, o, cb));
  }
  /** Starts a rolling replacement of every instance (bumps the restart epoch); returns the service. */
  restartService(request: DeepPartial<RestartServiceRequest>): Promise<RestartServiceResponse> {
    return this.unary((md, o, cb) => this.services.restartService(RestartServiceRequest.fromPartial(request), md, o, cb));
  }

  /**
   * Streams changes to services after `fromRevision` (a list's revision; 0 = from now). Ends
   * when the server ends the stream or `signal` aborts (then quietly); throws a RuneError when
   * the stream fails (UNAVAILABLE when runed went away: resume from the last revision seen).
   */
  watchServices(request: DeepPartial<WatchServicesRequest>, options: StreamOptions = {}): AsyncGenerator<WatchResponse, void, undefined> {
    return this.serverStream(() => this.services.watchServices(WatchServicesRequest.fromPartial(request), this.metadata()), options);
  }

  // Instances

  /** One instance by id (`name`). NOT_FOUND when there is none in the namespace. */
  getInstance(request: DeepPartial<GetInstanceRequest>): Promise<GetInstanceResponse> {
    return this.unary((md, o, cb) => this.instances.getInstance(GetInstanceRequest.fromPartial(request), md, o, cb));
  }
  /** `namespace: '*'` lists every namespace; `service` narrows to one service's instances. */
  listInstances(request: DeepPartial<ListInstancesRequest>): Promise<ListInstancesResponse> {
    return this.unary((md, o, cb) => this.instances.listInstances(ListInstancesRequest.fromPartial(request), md, o, cb));
  }
  /** Streams changes to instances after `fromRevision`; the same contract as watchServices. */
  watchInstances(request: DeepPartial<WatchInstancesRequest>, options: StreamOptions = {}): AsyncGenerator<WatchResponse, void, undefined> {
    return this.serverStream(() => this.instances.watchInstances(WatchInstancesRequest.fromPartial(request), this.metadata()), options);
  }

  // Logs and exec

  /**
   * Streams log lines of a service (every instance, interleaved) or one instance. Without
   * `follow` the stream ends after the existing lines; with it, it runs until `signal` aborts
   * (then ends quietly) or fails (a RuneError; UNAVAILABLE when runed went away).
   */
  streamLogs(request: DeepPartial<StreamLogsRequest>, options: StreamOptions = {}): AsyncGenerator<StreamLogsResponse, void, undefined> {
    return this.serverStream(() => this.logs.streamLogs(StreamLogsRequest.fromPartial(request), this.metadata()), options);
  }

  /**
   * Starts a command in an instance: sends `start` at once and returns the call. Failures
   * (NOT_FOUND instance, PERMISSION_DENIED, ...) surface as a RuneError from `responses()`.
   */
  exec(start: DeepPartial<ExecStart>, options: StreamOptions = {}): ExecCall {
    const { signal } = options;
    const call = this.execs.exec(this.metadata());
    let cancelled = false;
    const cancel = () => {
      cancelled = true;
      call.cancel();
    };
    if (signal?.aborted) cancel();
    else signal?.addEventListener('abort', cancel, { once: true });
    const send = (request: DeepPartial<ExecRequest>) => (cancelled || call.writableEnded ? true : call.write(ExecRequest.fromPartial(request)));
    call.on('error', () => undefined); // reported by responses()
    send({ start });
    return {
      async *responses() {
        try {
          for await (const message of call) yield message as ExecResponse;
        } catch (err) {
          if (cancelled) return;
          throw fromGrpcError(err);
        } finally {
          signal?.removeEventListener('abort', cancel);
          if (!call.writableEnded) call.end();
        }
      },
      writeStdin: (data) => send({ stdin: Buffer.from(data) }),
      closeStdin: () => void send({ stdinEof: true }),
      resize: (size) => void send({ resize: { rows: size.rows, cols: size.cols } }),
      drained: () => (call.writableNeedDrain && !cancelled ? new Promise((resolve) => call.once('drain', () => resolve())) : Promise.resolve()),
      cancel,
    };
  }

  // Secrets, configmaps and the KEK

  /** Creates the secret or casts a new version; the response never holds values. */
  castSecret(request: DeepPartial<CastSecretRequest>): Promise<CastSecretResponse> {
    return this.unary((md, o, cb) => this.secrets.castSecret(CastSecretRequest.fromPartial(request), md, o, cb));
  }
  /** Keys and metadata; values too with `reveal` (PERMISSION_DENIED without the `reveal` verb). */
  getSecret(request: DeepPartial<GetSecretRequest>): Promise<GetSecretResponse> {
    return this.unary((md, o, cb) => this.secrets.getSecret(GetSecretRequest.fromPartial(request), md, o, cb));
  }
  listSecrets(request: DeepPartial<ListSecretsRequest>): Promise<ListSecretsResponse> {
    return this.unary((md, o, cb) => this.secrets.listSecrets(ListSecretsRequest.fromPartial(request), md, o, cb));
  }
  deleteSecret(request: DeepPartial<DeleteSecretRequest>): Promise<DeleteSecretResponse> {
    return this.unary((md, o, cb) => this.secrets.deleteSecret(DeleteSecretRequest.fromPartial(request), md, o, cb));
  }
  castConfigMap(request: DeepPartial<CastConfigMapRequest>): Promise<CastConfigMapResponse> {
    return this.unary((md, o, cb) => this.configMaps.castConfigMap(CastConfigMapRequest.fromPartial(request), md, o, cb));
  }
  getConfigMap(request: DeepPartial<GetConfigMapRequest>): Promise<GetConfigMapResponse> {
    return this.unary((md, o, cb) => this.configMaps.getConfigMap(GetConfigMapRequest.fromPartial(request), md, o, cb));
  }
  listConfigMaps(request: DeepPartial<ListConfigMapsRequest>): Promise<ListConfigMapsResponse> {
    return this.unary((md, o, cb) => this.configMaps.listConfigMaps(ListConfigMapsRequest.fromPartial(request), md, o, cb));
  }
  deleteConfigMap(request: DeepPartial<DeleteConfigMapRequest>): Promise<DeleteConfigMapResponse> {
    return this.unary((md, o, cb) => this.configMaps.deleteConfigMap(DeleteConfigMapRequest.fromPartial(request), md, o, cb));
  }
  /** Admin only. */
  getKekStatus(): Promise<GetKekStatusResponse> {
    return this.unary((md, o, cb) => this.keks.getKekStatus(GetKekStatusRequest.fromPartial({}), md, o, cb));
  }
  /** Admin only: re-wraps every secret's data key under a new KEK generated by runed. */
  rotateKek(): Promise<RotateKekResponse> {
    return this.unary((md, o, cb) => this.keks.rotateKek(RotateKekRequest.fromPartial({}), md, o, cb));
  }

  // Jobs and runs

  /** Creates the job or updates it (apply); a job without schedule starts a run when created. */
  castJob(request: DeepPartial<CastJobRequest>): Promise<CastJobResponse> {
    return this.unary((md, o, cb) => this.jobs.castJob(CastJobRequest.fromPartial(request), md, o, cb));
  }
  getJob(request: DeepPartial<GetJobRequest>): Promise<GetJobResponse> {
    return this.unary((md, o, cb) => this.jobs.getJob(GetJobRequest.fromPartial(request), md, o, cb));
  }
  listJobs(request: DeepPartial<ListJobsRequest>): Promise<ListJobsResponse> {
    return this.unary((md, o, cb) => this.jobs.listJobs(ListJobsRequest.fromPartial(request), md, o, cb));
  }
  deleteJob(request: DeepPartial<DeleteJobRequest>): Promise<DeleteJobResponse> {
    return this.unary((md, o, cb) => this.jobs.deleteJob(DeleteJobRequest.fromPartial(request), md, o, cb));
  }
  /** Runs, newest first. */
  listRuns(request: DeepPartial<ListRunsRequest>): Promise<ListRunsResponse> {
    return this.unary((md, o, cb) => this.runs.listRuns(ListRunsRequest.fromPartial(request), md, o, cb));
  }
  getRun(request: DeepPartial<GetRunRequest>): Promise<GetRunResponse> {
    return this.unary((md, o, cb) => this.runs.getRun(GetRunRequest.fromPartial(request), md, o, cb));
  }
  startRun(request: DeepPartial<StartRunRequest>): Promise<StartRunResponse> {
    return this.unary((md, o, cb) => this.runs.startRun(StartRunRequest.fromPartial(request), md, o, cb));
  }
  cancelRun(request: DeepPartial<CancelRunRequest>): Promise<CancelRunResponse> {
    return this.unary((md, o, cb) => this.runs.cancelRun(CancelRunRequest.fromPartial(request), md, o, cb));
  }
  deleteRun(request: DeepPartial<DeleteRunRequest>): Promise<DeleteRunResponse> {
    return this.unary((md, o, cb) => this.runs.deleteRun(DeleteRunRequest.fromPartial(request), md, o, cb));
  }
  /** Run events: history first (include_history), then live ones; resumable with from_revision. */
  watchRuns(request: DeepPartial<WatchRunsRequest>, options: StreamOptions = {}): AsyncGenerator<WatchRunsResponse, void, undefined> {
    return this.serverStream(() => this.runs.watchRuns(WatchRunsRequest.fromPartial(request), this.metadata()), options);
  }
  streamRunLogs(request: DeepPartial<StreamRunLogsRequest>, options: StreamOptions = {}): AsyncGenerator<StreamLogsResponse, void, undefined> {
    return this.serverStream(() => this.runs.streamRunLogs(StreamRunLogsRequest.fromPartial(request), this.metadata()), options);
  }

  // Auth and system

  whoAmI(): Promise<WhoAmIResponse> {
    return this.unary((md, o, cb) => this.auth.whoAmI(WhoAmIRequest.fromPartial({}), md, o, cb));
  }
  getVersion(): Promise<GetVersionResponse> {
    return this.unary((md, o, cb) => this.system.getVersion(GetVersionRequest.fromPartial({}), md, o, cb));
  }

  /** A server stream as an async iterator: quiet end on abort, RuneError on failure, always cancelled when left. */
  async *serverStream<Res>(open: () => grpc.ClientReadableStream<Res>, { signal }: StreamOptions): AsyncGenerator<Res, void, undefined> {
    if (signal?.aborted) return;
    const call = open();
    const cancel = () => call.cancel();
    signal?.addEventListener('abort', cancel, { once: true });
    try {
      for await (const message of call) yield message as Res;
    } catch (err) {
      if (signal?.aborted) return;
      throw fromGrpcError(err);
    } finally {
      signal?.removeEventListener('abort', cancel);
      call.cancel();
    }
  }

  /** A unary call with the token and the per-call deadline; rejects with a RuneError. */
  unary<Res>(invoke: UnaryInvoker<Res>): Promise<Res> {
    return new Promise((resolve, reject) => {
      invoke(this.metadata(), { deadline: Date.now() + this.timeoutMs }, (err, res) => (err ? reject(fromGrpcError(err)) : resolve(res)));
    });
  }
}
