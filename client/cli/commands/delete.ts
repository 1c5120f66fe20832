/**
 * `rune delete service|job|namespace NAME...`: deletes each named object, printing
 * `service/web deleted`. Keeps going after a failure and exits 1 if any failed.
 */
import type { Argv, CommandModule } from 'yargs';
import { action } from '../action.js';
import { withHelp, type GlobalArgs } from '../global-options.js';
import { COMMAND_KINDS, resourceKind, type ResourceKind } from '../resources.js';

const SINGULAR: Record<ResourceKind, string> = { services: 'service', instances: 'instance', jobs: 'job', namespaces: 'namespace' };

export interface DeleteArgs extends GlobalArgs {
  resource: string;
  names: string[];
  cascade: boolean;
  ignoreNotFound: boolean;
}

export const deleteCommand: CommandModule<GlobalArgs, DeleteArgs> = {
  command: 'delete <resource> <names..>',
  describe: 'Delete services, jobs or namespaces',
  builder: (y: Argv<GlobalArgs>) =>
    withHelp(
      y
        .positional('resource', { type: 'string', describe: 'service (svc), job or namespace (ns)', demandOption: true })
        .positional('names', { type: 'string', array: true, describe: 'Names of the objects', demandOption: true })
        .option('cascade', { type: 'boolean', default: false, describe: 'Namespaces: also delete everything in them (else a non-empty namespace is refused)' })
        .option('ignore-not-found', { type: 'boolean', default: false, describe: 'Treat "not found" as success' }),
      [
        ['rune delete service web', 'Delete service web in the current namespace'],
        ['rune delete svc web api -n staging', 'Delete two services in staging'],
        ['rune delete job backup', 'Delete job backup: its active runs are cancelled, its runs deleted'],
        ['rune delete namespace staging --cascade', 'Delete a namespace and everything in it'],
      ],
    ) as unknown as Argv<DeleteArgs>,
  handler: action<DeleteArgs>(async (argv, state) => {
    const kind = resourceKind(argv.resource, COMMAND_KINDS.delete);
    const { UsageError } = await import('../global-options.js');
    if (argv.cascade && kind !== 'namespaces') throw new UsageError('--cascade applies to namespaces only');
    const { withSession } = await import('../session.js');
    const { RuneError } = await import('../../../shared/errors.js');
    const { printError } = await import('../action.js');
    const { describeError } = await import('../error-message.js');
    await withSession(argv, state, async ({ client, connection }) => {
      let failed = 0;
      for (const name of argv.names) {
        const label = `${SINGULAR[kind]}/${name}`;
        try {
          if (kind === 'services') await client.deleteService({ namespace: connection.namespace, name });
          else if (kind === 'jobs') await client.deleteJob({ namespace: connection.namespace, name });
          else await client.deleteNamespace({ name, cascade: argv.cascade });
          process.stdout.write(`${label} deleted\n`);
        } catch (err) {
          const error = RuneError.from(err);
          if (error.code === 'NOT_FOUND' && argv.ignoreNotFound) continue;
          if (error.code === 'UNAVAILABLE' || error.code === 'UNAUTHENTICATED') throw error;
          failed++;
          printError(`${label}: ${describeError(error, state).message}`, argv.color);
        }
      }
      if (failed > 0) process.exitCode = 1;
    });
  }),
};
