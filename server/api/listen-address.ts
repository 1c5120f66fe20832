/**
 * Which addresses runed may serve plaintext on. Without TLS, bearer tokens and exec sessions
 * cross the wire in the clear, so a listener outside loopback needs TLS or an explicit
 * `--insecure-listen` (a trusted network, or TLS terminated in front of runed).
 */
import { RuneError } from '../../shared/errors.js';

/**
 * True for loopback listen addresses: `127.x.x.x`, `[::1]`, `localhost` (with a port) and
 * `unix:` sockets. Any other host, a wildcard (`0.0.0.0`, `[::]`) or a name, is not.
 */
export function isLoopbackListenAddress(address: string): boolean {
  if (/^unix:/.test(address)) return true;
  const host = address.replace(/^(dns|ipv4|ipv6):(\/\/\/)?/, '').replace(/:\d+$/, '').replace(/^\[|\]$/g, '').toLowerCase();
  return host === 'localhost' || host === '::1' || /^127(\.\d{1,3}){3}$/.test(host) || /^::ffff:127(\.\d{1,3}){3}$/.test(host);
}

export interface ListenCheck {
  /** The flag the address came from, for the message (`--grpc-addr`). */
  flag: string;
  /** Whether the listener serves TLS. */
  tls: boolean;
  /** `--insecure-listen`: plaintext on any address, on the operator's word. */
  insecureListen: boolean;
}

/** Throws FAILED_PRECONDITION (runed exits 1) for plaintext on a non-loopback address without `--insecure-listen`. */
export function checkListenAddress(address: string, check: ListenCheck): void {
  if (check.tls || check.insecureListen || isLoopbackListenAddress(address)) return;
  throw new RuneError(
    'FAILED_PRECONDITION',
    `refusing to listen on ${address} (${check.flag}) without TLS: it is not a loopback address, and bearer tokens and exec sessions would cross the network in plaintext. ` +
      'Pass --tls-cert and --tls-key (and --client-ca to require client certificates), or --insecure-listen if the network is trusted or TLS is terminated in front of runed',
  );
}
