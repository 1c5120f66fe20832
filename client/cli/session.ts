/**
 * A connected command: the resolved connection plus a RuneClient carrying the token. The client
 * library (and grpc-js with it) is imported here, lazily, so commands that never talk to runed
 * (lint, config, completion, --help) start without it.
 */
import type { RuneClient } from '../api/rune-client.js';
import type { RunState } from './action.js';
import { printWarning } from './action.js';
import { connectionFor, isLoopback, loadToken, type Connection } from './connection.js';
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
  if (!isLoopback(connection.server)) {
    printWarning(`${connection.server} is not a loopback address: the token is sent unencrypted`, argv.color);
  }
  const { RuneClient } = await import('../api/rune-client.js');
  const client = new RuneClient({ server: connection.server, token, timeoutSeconds: connection.timeoutSeconds });
  try {
    return await work({ client, connection });
  } finally {
    client.close();
  }
}
