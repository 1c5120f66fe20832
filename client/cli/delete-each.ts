/** The delete loop `rune secret delete`, `rune configmap delete` and `rune runs delete` share. */
import type { RuneClient } from '../api/rune-client.js';
import type { RunState } from './action.js';
import type { GlobalArgs } from './global-options.js';

export interface DeleteEachArgs extends GlobalArgs {
  names: string[];
  ignoreNotFound: boolean;
}

/** Deletes each name, printing `kind/name deleted`; keeps going after a failure, exit 1 if any failed. */
export async function deleteEach(
  argv: DeleteEachArgs,
  state: RunState,
  kind: 'secret' | 'configmap' | 'run',
  remove: (client: RuneClient, namespace: string, name: string) => Promise<unknown>,
): Promise<void> {
  const { withSession } = await import('./session.js');
  const { RuneError } = await import('../../shared/errors.js');
  const { printError } = await import('./action.js');
  const { describeError } = await import('./error-message.js');
  await withSession(argv, state, async ({ client, connection }) => {
    let failed = 0;
    for (const name of argv.names) {
      try {
        await remove(client, connection.namespace, name);
        process.stdout.write(`${kind}/${name} deleted\n`);
      } catch (err) {
        const error = RuneError.from(err);
        if (error.code === 'NOT_FOUND' && argv.ignoreNotFound) continue;
        if (error.code === 'UNAVAILABLE' || error.code === 'UNAUTHENTICATED') throw error;
        failed++;
        printError(`${kind}/${name}: ${describeError(error, state).message}`, argv.color);
      }
    }
    if (failed > 0) process.exitCode = 1;
  });
}

