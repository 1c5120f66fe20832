import { expect } from 'chai';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { fromGrpcError } from '../../client/api/grpc-error.js';
import { describeError } from '../../client/cli/error-message.js';
import { UsageError } from '../../client/cli/global-options.js';
import { RuneError } from '../../shared/errors.js';
import { Any } from '../../shared/gen/google/protobuf/any.js';
import { BadRequest } from '../../shared/gen/google/rpc/error_details.js';
import { Status } from '../../shared/gen/google/rpc/status.js';

const server = '127.0.0.1:7863';

function grpcError(code: number, details: string, metadata = new Metadata()): ServiceError {
  return Object.assign(new Error(`${code} ${details}`), { code, details, metadata });
}

describe('CLI error messages', () => {
  it('UNAVAILABLE: says runed is not reachable at the address and how to start it', () => {
    const { message, exitCode } = describeError(new RuneError('UNAVAILABLE', 'No connection established. Last error: Error: connect ECONNREFUSED 127.0.0.1:7863. Resolution note: '), { server });
    expect(exitCode).to.equal(1);
    expect(message).to.equal(
      'runed is not reachable at 127.0.0.1:7863 (ECONNREFUSED).\nStart it with "npm start" in the rune checkout (or run "runed"), or point rune at another address with --server or RUNE_SERVER.',
    );
  });

  it('UNAVAILABLE from a TLS handshake: says what to fix, not how to start runed', () => {
    const certRequired = describeError(
      new RuneError('UNAVAILABLE', 'No connection established. Last error: 803C03ED0D7F0000:error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate required:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 116\n (2026-11-22T10:31:54.348Z). Resolution note: '),
      { server, tls: true },
    );
    expect(certRequired.message).to.equal(
      'cannot connect to runed at 127.0.0.1:7863 (tlsv13 alert certificate required).\nruned requires a client certificate (mutual TLS): pass --cert and --key (or set RUNE_CERT and RUNE_KEY), signed by a CA runed trusts.',
    );
    const untrusted = describeError(new RuneError('UNAVAILABLE', 'No connection established. Last error: Error: self-signed certificate in certificate chain. Resolution note: '), { server, tls: true });
    expect(untrusted.message).to.equal(
      "cannot connect to runed at 127.0.0.1:7863 (self-signed certificate in certificate chain).\nruned's certificate did not verify: pass the CA that signed it with --ca (or RUNE_CA), and dial a name or IP listed in its subjectAltName.",
    );
    const dropped = 'No connection established. Last error: Failed to connect (2026-11-22T10:31:54.356Z). Resolution note: ';
    expect(describeError(new RuneError('UNAVAILABLE', dropped), { server, tls: true }).message).to.match(/^cannot connect to runed at 127\.0\.0\.1:7863 \(Failed to connect\)\.\nThe TLS connection was closed during the handshake: .*--client-ca/);
    expect(describeError(new RuneError('UNAVAILABLE', dropped), { server, tls: false }).message).to.match(/if runed serves TLS, connect with TLS: --ca FILE .* or --server tls:\/\/HOST:PORT\.$/);
  });

  it('UNAUTHENTICATED: says how to log in, with the real address', () => {
    const { message } = describeError(new RuneError('UNAUTHENTICATED', 'missing bearer token'), { server });
    expect(message).to.equal(`missing bearer token; log in with: rune login --server ${server} --token-file <data-dir>/admin.token (runed writes that file on its first start), or pass --token / set RUNE_TOKEN`);
  });

  it('UNAUTHENTICATED: fills ADDR into a server message that already explains login', () => {
    const { message } = describeError(new RuneError('UNAUTHENTICATED', 'token expired; log in with `rune login --server ADDR --token-file <data-dir>/admin.token`'), { server });
    expect(message).to.equal(`token expired; log in with \`rune login --server ${server} --token-file <data-dir>/admin.token\``);
  });

  it('DEADLINE_EXCEEDED: names --timeout', () => {
    expect(describeError(new RuneError('DEADLINE_EXCEEDED', 'Deadline exceeded'), { server, timeoutSeconds: 3 }).message).to.equal(
      'runed at 127.0.0.1:7863 did not answer within 3s (Deadline exceeded); try again, or raise --timeout',
    );
  });

  it('usage errors exit 2 and point at --help', () => {
    expect(describeError(new UsageError('--server: "x" is not host:port'))).to.deep.equal({ message: '--server: "x" is not host:port\nRun with --help for usage.', exitCode: 2 });
  });

  it('other errors pass the server message through', () => {
    expect(describeError(new RuneError('NOT_FOUND', 'service "web" not found in namespace "default"'))).to.deep.equal({ message: 'service "web" not found in namespace "default"', exitCode: 1 });
  });
});

describe('fromGrpcError', () => {
  it('keeps the code name and the server message', () => {
    const err = fromGrpcError(grpcError(status.NOT_FOUND, 'service "web" not found'));
    expect(err).to.be.instanceOf(RuneError);
    expect(err.code).to.equal('NOT_FOUND');
    expect(err.message).to.equal('service "web" not found');
  });

  it('decodes BadRequest field violations from grpc-status-details-bin', () => {
    const badRequest = BadRequest.encode({ fieldViolations: [{ field: 'ports[0].port', description: 'must be between 1 and 65535', reason: '', localizedMessage: undefined }] }).finish();
    const details = Status.encode({ code: status.INVALID_ARGUMENT, message: 'bad', details: [Any.fromPartial({ typeUrl: 'type.googleapis.com/google.rpc.BadRequest', value: Buffer.from(badRequest) })] }).finish();
    const metadata = new Metadata();
    metadata.set('grpc-status-details-bin', Buffer.from(details));
    const err = fromGrpcError(grpcError(status.INVALID_ARGUMENT, 'bad', metadata));
    expect(err.code).to.equal('INVALID_ARGUMENT');
    expect(err.violations).to.deep.equal([{ field: 'ports[0].port', description: 'must be between 1 and 65535' }]);
  });

  it('tolerates undecodable details', () => {
    const metadata = new Metadata();
    metadata.set('grpc-status-details-bin', Buffer.from([0xff, 0xff, 0xff]));
    expect(fromGrpcError(grpcError(status.INTERNAL, 'boom', metadata)).violations).to.deep.equal([]);
  });
});
