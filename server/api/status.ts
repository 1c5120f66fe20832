/**
 * The one place a RuneError becomes a gRPC status: the canonical code, the message, and a
 * `grpc-status-details-bin` trailer holding a google.rpc.Status with BadRequest field
 * violations, so clients can point at the offending field, and a RetryInfo when the error says
 * when to retry (rate limits).
 */
import { Metadata, type StatusObject } from '@grpc/grpc-js';
import { RuneError } from '../../shared/errors.js';
import { Any } from '../../shared/gen/google/protobuf/any.js';
import { BadRequest, RetryInfo } from '../../shared/gen/google/rpc/error_details.js';
import { Status } from '../../shared/gen/google/rpc/status.js';

export function toGrpcStatus(err: unknown): Partial<StatusObject> {
  const error = RuneError.from(err);
  const metadata = new Metadata();
  const details: Any[] = [];
  if (error.violations.length > 0) {
    details.push({
      typeUrl: 'type.googleapis.com/google.rpc.BadRequest',
      value: Buffer.from(BadRequest.encode({ fieldViolations: error.violations.map((v) => ({ field: v.field, description: v.description, reason: '', localizedMessage: undefined })) }).finish()),
    });
  }
  if (error.retryAfterMs !== undefined) {
    const ms = Math.max(0, Math.ceil(error.retryAfterMs));
    details.push({
      typeUrl: 'type.googleapis.com/google.rpc.RetryInfo',
      value: Buffer.from(RetryInfo.encode({ retryDelay: { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 } }).finish()),
    });
  }
  const status = Status.encode({ code: error.grpcCode, message: error.message, details }).finish();
  metadata.set('grpc-status-details-bin', Buffer.from(status));
  return { code: error.grpcCode, details: error.message, metadata };
}
