/**
 * A connected command: the resolved connection plus a RuneClient carrying the token. The client
 * library (and grpc-js with it) is imported here, lazily, so commands that never talk to runed
 * (lint, config, completion, --help) start without it.
 */
import type { RuneClient } from '../api/rune-client.js';
import type { RunState } from './action.js';
import { printWarning } from './action.js';
import { connectionFor, isLoopback, loadTls, loadToken, type Connection } from './connection.js';
import type { GlobalArgs } from './global-options.js';

export interface Session {
  client: RuneClient;
  connection: Connection;
}

/** Resolves the connection (recording the server in `state` for error messages) and runs `work` with a client; always closes it. */
export async function withSession<T>(argv: GlobalArgs, state: RunState, work: (session: Session) => Promise<T>): Promise<T> {
  const connection = await connectionFor(argv);
  state.server = connection.server;
  state.timeoutSeconds = connection.timeoutSeconds;
  const token = await loadToken(connection);
  const tls = await loadTls(connection);
  state.tls = tls !== undefined;
  if (tls) quietIpServerNameWarning();
  if (!tls && !isLoopback(connection.server)) {
    printWarning(`${connection.server} is not a loopback address: the token is sent unencrypted`, argv.color);
  }
  const { RuneClient } = await import('../api/rune-client.js');
  const client = new RuneClient({ server: connection.server, token, timeoutSeconds: connection.timeoutSeconds, tls });
  try {
    return await work({ client, connection });
  } finally {
    client.close();
  }
}

/**
 * grpc-js sends the dialled host as the TLS server name even when it is an IP address, and Node
 * then prints a DeprecationWarning (DEP0123) on stderr. It says nothing the user can act on (the
 * certificate is still checked against the IP), so the CLI drops that one warning.
 */
export function quietIpServerNameWarning(): void {
  const emit = process.emitWarning;
  if ((emit as { quiet?: boolean }).quiet) return;
  const quiet = (warning: string | Error, ...rest: unknown[]) => {
    const code = typeof rest[0] === 'object' && rest[0] !== null ? (rest[0] as { code?: string }).code : rest[1];
    if (code === 'DEP0123') return;
    (emit as (...args: unknown[]) => void).call(process, warning, ...rest);
  };
  process.emitWarning = Object.assign(quiet, { quiet: true }) as typeof process.emitWarning;
}
