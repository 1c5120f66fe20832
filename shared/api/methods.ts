/**
 * Every RPC of the API with what the proto declares next to it: its REST route
 * (google.api.http) and its access rule (rune.v1.access). Later layers derive routes and RBAC
 * checks from this table; an RPC without an access rule is denied by the server.
 */
import { BinaryReader } from '@bufbuild/protobuf/wire';
import { HttpRule } from '../gen/google/api/http.js';
import { AccessRule } from '../gen/rune/v1/options.js';
import { AdminServiceDefinition, AdminServiceService } from '../gen/rune/v1/admin_service.js';
import { AuthServiceDefinition, AuthServiceService } from '../gen/rune/v1/auth_service.js';
import { ConfigMapServiceDefinition, ConfigMapServiceService } from '../gen/rune/v1/configmap_service.js';
import { ExecServiceDefinition, ExecServiceService } from '../gen/rune/v1/exec_service.js';
import { InstanceServiceDefinition, InstanceServiceService } from '../gen/rune/v1/instance_service.js';
import { JobServiceDefinition, JobServiceService } from '../gen/rune/v1/job_service.js';
import { KekServiceDefinition, KekServiceService } from '../gen/rune/v1/kek_service.js';
import { LogServiceDefinition, LogServiceService } from '../gen/rune/v1/log_service.js';
import { NamespaceServiceDefinition, NamespaceServiceService } from '../gen/rune/v1/namespace_service.js';
import { RunServiceDefinition, RunServiceService } from '../gen/rune/v1/run_service.js';
import { SecretServiceDefinition, SecretServiceService } from '../gen/rune/v1/secret_service.js';
import { ServiceServiceDefinition, ServiceServiceService } from '../gen/rune/v1/service_service.js';
import { SystemServiceDefinition, SystemServiceService } from '../gen/rune/v1/system_service.js';
import { WatchServiceDefinition, WatchServiceService } from '../gen/rune/v1/watch_service.js';

/**
 * Extension tags (field number << 3 | wire type 2) of rune.v1.access (51000, options.proto)
 * and google.api.http (72295728, annotations.proto): ts-proto keys unknown options by tag.
 */
const ACCESS_FIELD = 51000 * 8 + 2;
const HTTP_FIELD = 72295728 * 8 + 2;

interface GenericMethod {
  name: string;
  requestStream: boolean;
  responseStream: boolean;
  requestType: unknown;
  responseType: unknown;
  options: { _unknownFields?: Record<number, Uint8Array[]> };
}

interface GenericDefinition {
  name: string;
  fullName: string;
  methods: Record<string, GenericMethod>;
}

export interface MethodInfo {
  /** gRPC path, e.g. "/rune.v1.ServiceService/GetService". */
  path: string;
  service: string;
  /** RPC name, e.g. "GetService". */
  name: string;
  /** Key of the method in the grpc-js service definition, e.g. "getService". */
  key: string;
  requestStream: boolean;
  responseStream: boolean;
  /** Undefined when the proto declares none: such an RPC is always denied. */
  access: AccessRule | undefined;
  http: HttpRule | undefined;
}

/** Each API service: its generic definition (with options) and its grpc-js definition. */
export const apiServices = [
  { definition: NamespaceServiceDefinition, grpc: NamespaceServiceService },
  { definition: ServiceServiceDefinition, grpc: ServiceServiceService },
  { definition: InstanceServiceDefinition, grpc: InstanceServiceService },
  { definition: JobServiceDefinition, grpc: JobServiceService },
  { definition: RunServiceDefinition, grpc: RunServiceService },
  { definition: LogServiceDefinition, grpc: LogServiceService },
  { definition: ExecServiceDefinition, grpc: ExecServiceService },
  { definition: WatchServiceDefinition, grpc: WatchServiceService },
  { definition: SecretServiceDefinition, grpc: SecretServiceService },
  { definition: ConfigMapServiceDefinition, grpc: ConfigMapServiceService },
  { definition: KekServiceDefinition, grpc: KekServiceService },
  { definition: AuthServiceDefinition, grpc: AuthServiceService },
  { definition: AdminServiceDefinition, grpc: AdminServiceService },
  { definition: SystemServiceDefinition, grpc: SystemServiceService },
] as const;

function decodeOption<T>(method: GenericMethod, field: number, codec: { decode(b: Uint8Array): T }): T | undefined {
  const raw = method.options._unknownFields?.[field]?.[0];
  if (!raw) return undefined;
  // ts-proto keeps an unknown extension as its length-delimited payload: length, then bytes.
  return codec.decode(new BinaryReader(raw).bytes());
}

function describeService(def: GenericDefinition): MethodInfo[] {
  return Object.entries(def.methods).map(([key, m]) => ({
    path: `/${def.fullName}/${m.name}`,
    service: def.fullName,
    name: m.name,
    key,
    requestStream: m.requestStream,
    responseStream: m.responseStream,
    access: decodeOption(m, ACCESS_FIELD, AccessRule),
    http: decodeOption(m, HTTP_FIELD, HttpRule),
  }));
}

/** Every API method, keyed by gRPC path. */
export const methods: ReadonlyMap<string, MethodInfo> = new Map(
  apiServices.flatMap(({ definition }) => describeService(definition as unknown as GenericDefinition)).map((m) => [m.path, m]),
);
