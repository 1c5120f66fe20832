/**
 * Turns what grpc-js reports for a failed call into a RuneError: the canonical code, the
 * server's message, and the field violations the server put in its `grpc-status-details-bin`
 * trailer (a google.rpc.Status holding a google.rpc.BadRequest).
 */
import type { ServiceError } from '@grpc/grpc-js';
import { codeName, RuneError, type FieldViolation } from '../../shared/errors.js';
import { BadRequest } from '../../shared/gen/google/rpc/error_details.js';
import { Status } from '../../shared/gen/google/rpc/status.js';

const BAD_REQUEST_TYPE = 'type.googleapis.com/google.rpc.BadRequest';

function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as Partial<ServiceError>).code === 'number' && 'metadata' in err;
}

/** A RuneError for any error a grpc-js call produced; non-gRPC errors go through RuneError.from. */
export function fromGrpcError(err: unknown): RuneError {
  if (err instanceof RuneError) return err;
  if (!isServiceError(err)) return RuneError.from(err);
  return new RuneError(codeName(err.code), err.details || err.message, { violations: violationsOf(err), cause: err });
}

function violationsOf(err: ServiceError): FieldViolation[] {
  const raw = err.metadata?.get('grpc-status-details-bin')[0];
  if (!raw || typeof raw === 'string') return [];
  try {
    const status = Status.decode(raw);
    return status.details
      .filter((any) => any.typeUrl === BAD_REQUEST_TYPE)
      .flatMap((any) => BadRequest.decode(any.value).fieldViolations)
      .map((v) => ({ field: v.field, description: v.description }));
  } catch {
    return []; // undecodable details: the message alone still says what went wrong
  }
}
