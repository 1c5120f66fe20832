/**
 * The private channel between the REST gateway and runed's gRPC server: a Unix socket in the
 * data dir (mode 0700), served by the same grpc.Server, the same services and the same
 * interceptor chain as the gRPC listener, always in plaintext. So the gateway works whatever
 * the gRPC listener's TLS (server-only or mutual: the gateway has no client certificate of its
 * own), skips a second TLS hop, and calls that arrive on this socket are known to come from the
 * gateway: their `x-forwarded-for` (set by the gateway from the HTTP client's socket) can be
 * trusted, where the same header on the TCP listener cannot.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Longest Unix socket path that binds everywhere (sun_path is 104 bytes on macOS, 108 on Linux). */
const MAX_SOCKET_PATH = 100;

export interface GatewaySocket {
  /** File path of the socket. */
  path: string;
  /** The grpc-js address: `unix:///…/gateway.sock`. */
  address: string;
  /** Removes a private temp dir made for a data dir whose path is too long. */
  cleanup(): Promise<void>;
}

/**
 * `<dataDir>/gateway.sock`, with any stale socket from a runed that died removed (the data dir
 * is locked by the store, so no other runed is using it); or, when that path is too long for a
 * socket, one in a fresh private temp dir.
 */
export async function prepareGatewaySocket(dataDir: string): Promise<GatewaySocket> {
  let path = join(dataDir, 'gateway.sock');
  let privateDir: string | undefined;
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH) {
    privateDir = await mkdtemp(join(tmpdir(), 'rune-gw-'));
    path = join(privateDir, 'gateway.sock');
  }
  await rm(path, { force: true });
  return {
    path,
    address: `unix://${path}`,
    cleanup: async () => {
      if (privateDir) await rm(privateDir, { recursive: true, force: true });
    },
  };
}
