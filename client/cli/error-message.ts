/**
 * How a failed command reads on stderr: `error: <what went wrong>; <what to do>`, and which
 * exit code it gets (2 for usage errors, 1 for everything else). gRPC failures get advice:
 * UNAVAILABLE says runed is not reachable and how to start it, UNAUTHENTICATED how to log in,
 * DEADLINE_EXCEEDED which flag raises the deadline.
 */
import { RuneError } from '../../shared/errors.js';
import { loginHint } from './login-hint.js';
import { UsageError } from './global-options.js';

export interface ErrorContext {
  /** The server the command talked to, when it got that far. */
  server?: string;
  timeoutSeconds?: number;
  /** Whether the connection used TLS, when it got that far. */
  tls?: boolean;
}

export interface DescribedError {
  message: string;
  exitCode: 1 | 2;
}

/** The message (without the `error: ` prefix) and exit code for anything a command threw. */
export function describeError(err: unknown, context: ErrorContext = {}): DescribedError {
  if (err instanceof UsageError) return { message: `${err.message}\nRun with --help for usage.`, exitCode: 2 };
  if (!(err instanceof RuneError)) return { message: err instanceof Error ? err.message : String(err), exitCode: 1 };
  const server = context.server ?? 'the server';
  switch (err.code) {
    case 'UNAVAILABLE': {
      const reason = shortReason(err.message);
      const tlsProblem = tlsAdvice(err.message, context.tls);
      if (tlsProblem) return { message: `cannot connect to runed at ${server} (${tlsReason(err.message)}).\n${tlsProblem}`, exitCode: 1 };
      return {
        message:
          `runed is not reachable at ${server} (${reason}).\n` +
          `Start it with "npm start" in the rune checkout (or run "runed"), or point rune at another address with --server or RUNE_SERVER.`,
        exitCode: 1,
      };
    }
    case 'UNAUTHENTICATED': {
      if (/rune login/.test(err.message)) return { message: err.message.replace(/\bADDR\b/g, server), exitCode: 1 };
      return { message: `${err.message}; ${loginHint(server)}`, exitCode: 1 };
    }
    case 'DEADLINE_EXCEEDED':
      return { message: `runed at ${server} did not answer within ${context.timeoutSeconds ?? 10}s (${err.message}); try again, or raise --timeout`, exitCode: 1 };
    default:
      return { message: err.message, exitCode: 1 };
  }
}

/**
 * Advice for a connection that reached a listener but failed in or around the TLS handshake:
 * runed asked for a client certificate, did not accept the one given, or its certificate did
 * not verify; or plaintext met a TLS listener (grpc-js says only "Failed to connect"). Undefined
 * when the failure does not look like TLS (e.g. ECONNREFUSED: nothing listens).
 */
function tlsAdvice(message: string, tls: boolean | undefined): string | undefined {
  if (/certificate required/i.test(message)) return 'runed requires a client certificate (mutual TLS): pass --cert and --key (or set RUNE_CERT and RUNE_KEY), signed by a CA runed trusts.';
  if (/unknown ca|bad certificate|certificate (unknown|revoked|expired)|decrypt error|handshake failure/i.test(message)) {
    return 'runed refused the TLS handshake: the client certificate (--cert/--key) is not signed by a CA runed trusts (its --client-ca), or has expired.';
  }
  if (/self[- ]signed|unable to (verify|get)|altnames|does not match|certificate has expired|CERT_|SSL|TLS/i.test(message)) {
    return "runed's certificate did not verify: pass the CA that signed it with --ca (or RUNE_CA), and dial a name or IP listed in its subjectAltName.";
  }
  if (/Failed to connect|Connection dropped|Protocol error/i.test(message)) {
    return tls
      ? 'The TLS connection was closed during the handshake: runed may require a client certificate from another CA (check --cert/--key against its --client-ca), or it serves plaintext (then drop --ca/--cert/--key and tls://).'
      : 'The connection was closed at once: if runed serves TLS, connect with TLS: --ca FILE (the CA of its certificate; plus --cert/--key for mutual TLS) or --server tls://HOST:PORT.';
  }
  return undefined;
}

/** The gist of a TLS failure: OpenSSL's reason (`tlsv13 alert certificate required`) or Node's (`self-signed certificate in certificate chain`). */
function tlsReason(message: string): string {
  const openssl = /SSL routines:[^:]*:([^:]+)/.exec(message);
  if (openssl) return openssl[1]!;
  const last = /Last error: (?:Error: )?([\s\S]*?)\.?(?: \(\d{4}-[^)]*\))?\.? Resolution note|Last error: (?:Error: )?([^\n]*)/.exec(message);
  return (last?.[1] ?? last?.[2] ?? message).trim();
}

/** grpc-js says "No connection established. Last error: Error: connect ECONNREFUSED ...": keep the errno. */
export function shortReason(message: string): string {
  return /connect (E[A-Z]+)/.exec(message)?.[1] ?? message;
}
