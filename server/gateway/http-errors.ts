/**
 * gRPC status → HTTP: the standard status mapping and the error body
 *
 *   {"code": 5, "status": "NOT_FOUND", "message": "…", "details": [{"@type": "type.googleapis.com/google.rpc.BadRequest", "fieldViolations": […]}]}
 *
 * (`code`, `message` and `details` are google.rpc.Status in proto3 JSON, as grpc-gateway
 * writes it; `status` is the code's name.) Details come from the call's
 * `grpc-status-details-bin` trailer. Errors the gateway raises itself (a bad body, an unknown
 * route) are RuneErrors and take the same path.
 */
import type { Metadata, ServiceError } from '@grpc/grpc-js';
import { fromBinary, toJson, type JsonObject, type JsonValue, type Registry } from '@bufbuild/protobuf';
import { AnySchema, type Any } from '@bufbuild/protobuf/wkt';
import { Code, codeName, RuneError, type CodeName } from '../../shared/errors.js';
import { toGrpcStatus } from '../api/status.js';

/** The HTTP status for each canonical code (google.rpc.Code's documented mapping). */
export const HTTP_STATUS: Readonly<Record<CodeName, number>> = {
  OK: 200,
  CANCELLED: 499,
  UNKNOWN: 500,
  INVALID_ARGUMENT: 400,
  DEADLINE_EXCEEDED: 504,
  NOT_FOUND: 404,
  ALREADY_EXISTS: 409,
  PERMISSION_DENIED: 403,
  RESOURCE_EXHAUSTED: 429,
  FAILED_PRECONDITION: 400,
  ABORTED: 409,
  OUT_OF_RANGE: 400,
  UNIMPLEMENTED: 501,
  INTERNAL: 500,
  UNAVAILABLE: 503,
  DATA_LOSS: 500,
  UNAUTHENTICATED: 401,
};

export interface HttpError {
  status: number;
  headers: Record<string, string>;
  body: ErrorBody;
}

export interface ErrorBody {
  code: number;
  status: CodeName;
  message: string;
  details: JsonValue[];
}

/**
 * An error raised by the gateway itself whose HTTP status is not the code's usual one
 * (413 body too large, 405 wrong method, 415 wrong content type), with extra headers.
 */
export class GatewayError extends RuneError {
  constructor(
    code: CodeName,
    readonly httpStatus: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(code, message);
  }
}

/** A failed loopback call (or anything thrown) → the HTTP answer. */
export function httpErrorFrom(err: unknown, registry: Registry): HttpError {
  let code: number;
  let message: string;
  let metadata: Metadata | undefined;
  if (isServiceError(err)) {
    code = err.code;
    message = err.details;
    metadata = err.metadata;
  } else {
    // A RuneError raised by the gateway: encode it exactly as the gRPC side would.
    const status = toGrpcStatus(err);
    code = status.code!;
    message = status.details!;
    metadata = status.metadata;
  }
  const name = codeName(code);
  const details = metadata ? decodeDetails(metadata, registry) : [];
  const headers: Record<string, string> = {};
  if (name === 'UNAUTHENTICATED') headers['www-authenticate'] = 'Bearer realm="runed"';
  if (name === 'RESOURCE_EXHAUSTED') headers['retry-after'] = String(retryAfterSeconds(metadata, details));
  if (err instanceof GatewayError) return { status: err.httpStatus, headers: { ...headers, ...err.headers }, body: { code, status: name, message, details } };
  return { status: HTTP_STATUS[name], headers, body: { code, status: name, message, details } };
}

export function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as ServiceError).code === 'number' && 'metadata' in err;
}

/** google.rpc.Status details from `grpc-status-details-bin`, each Any rendered canonically. */
export function decodeDetails(metadata: Metadata, registry: Registry): JsonValue[] {
  const raw = metadata.get('grpc-status-details-bin')[0];
  if (!(raw instanceof Buffer)) return [];
  const statusDesc = registry.getMessage('google.rpc.Status');
  if (!statusDesc) return [];
  try {
    const status = fromBinary(statusDesc, raw) as unknown as { details: Any[] };
    return status.details.map((any) => anyToJson(any, registry));
  } catch {
    return [];
  }
}

function anyToJson(any: Any, registry: Registry): JsonValue {
  try {
    // "@type" first, as google.protobuf.Any is usually written.
    const { '@type': type, ...fields } = toJson(AnySchema, any, { registry, alwaysEmitImplicit: true }) as JsonObject;
    return { '@type': type ?? any.typeUrl, ...fields };
  } catch {
    // A detail type this runed's descriptors do not hold: keep its bytes.
    return { '@type': any.typeUrl, value: Buffer.from(any.value).toString('base64') };
  }
}

/**
 * Seconds a client should wait: the `retry-after` trailer if the server set one, else a
 * google.rpc.RetryInfo detail's delay, else 1.
 */
function retryAfterSeconds(metadata: Metadata | undefined, details: JsonValue[]): number {
  const header = metadata?.get('retry-after')[0];
  if (typeof header === 'string' && /^\d+$/.test(header)) return Number(header);
  for (const d of details) {
    const detail = d as JsonObject;
    if (detail['@type'] === 'type.googleapis.com/google.rpc.RetryInfo' && typeof detail.retryDelay === 'string') {
      const seconds = Number.parseFloat(detail.retryDelay);
      if (Number.isFinite(seconds)) return Math.max(1, Math.ceil(seconds));
    }
  }
  return 1;
}

/** The gRPC code of a gateway-side failure (for metrics and logs). */
export function grpcCodeOf(err: unknown): number {
  if (isServiceError(err)) return err.code;
  return err instanceof RuneError ? err.grpcCode : Code.INTERNAL;
}
