/**
 * The credentials runed's gRPC listener binds with: plaintext without TLS material, else
 * grpc-js's certificate-provider server credentials fed by TlsMaterial, so a reload reaches the
 * listener (grpc-js calls `setSecureContext` on its HTTP/2 server: new handshakes use the new
 * material, established connections are untouched) without rebinding or restarting.
 */
import * as grpc from '@grpc/grpc-js';
import type { TlsMaterial } from './tls-material.js';

export function grpcServerCredentials(tls: TlsMaterial | undefined): grpc.ServerCredentials {
  if (tls === undefined) return grpc.ServerCredentials.createInsecure();
  // grpc-js 1.14 declares (caCertificateProvider, identityCertificateProvider | null, require)
  // but hands the first to the credentials as the identity provider and the second as the CA
  // provider (null: no client certificates requested). TlsMaterial is both, so the order only
  // matters without mutual TLS: the server identity first, no CA provider second.
  // requireClientCertificate sets rejectUnauthorized: no valid client certificate, no handshake.
  return grpc.experimental.createCertificateProviderServerCredentials(tls, tls.mutual ? tls : null, tls.mutual);
}
