/**
 * The `list` and `delete` subcommands that `rune secret` and `rune configmap` share: the same
 * flags, paging, empty-list note and delete loop; each kind supplies its page call, its printer
 * and its words.
 */
import type { Argv, CommandModule } from 'yargs';
import type { RuneClient } from '../api/rune-client.js';
import { action } from './action.js';
import type { DeleteEachArgs } from './delete-each.js';
import { withHelp, type GlobalArgs, type OutputFormat } from './global-options.js';

interface ListArgs extends GlobalArgs {
  allNamespaces: boolean;
  selector?: string;
}

export interface ListSubcommandOptions<T> {
  /** Plural for messages: "secrets", "configmaps". */
  plural: string;
  describe: string;
  examples: [string, string][];
  /** One page of the list; namespace is '*' with -A. */
  page(client: RuneClient, namespace: string, continueToken: string, labelSelector: string): Promise<{ items: T[]; continueToken?: string }>;
  /** Loads the printer lazily, like every command's heavy modules. */
  format(): Promise<(items: T[], output: OutputFormat, options: { allNamespaces: boolean; single: boolean }) => string>;
}

export function listSubcommand<T>(options: ListSubcommandOptions<T>): CommandModule<GlobalArgs, ListArgs> {
  return {
    command: 'list',
    aliases: ['ls'],
    describe: options.describe,
    builder: (y: Argv<GlobalArgs>) =>
      withHelp(
        y
          .option('all-namespaces', { alias: 'A', type: 'boolean', default: false, describe: 'Every namespace' })
          .option('selector', { alias: 'l', type: 'string', requiresArg: true, describe: 'Label selector k=v[,k2=v2]' }),
        options.examples,
      ) as unknown as Argv<ListArgs>,
    handler: action<ListArgs>(async (argv, state) => {
      const { withSession } = await import('./session.js');
      const { listAll } = await import('../api/follow-watch.js');
      const format = await options.format();
      await withSession(argv, state, async ({ client, connection }) => {
        const namespace = argv.allNamespaces ? '*' : connection.namespace;
        const { items } = await listAll((continueToken) => options.page(client, namespace, continueToken, argv.selector ?? ''));
        if (items.length === 0 && (argv.output === 'table' || argv.output === 'wide')) {
          process.stderr.write(`No ${options.plural} found${argv.allNamespaces ? '' : ` in namespace ${connection.namespace}`}.\n`);
          return;
        }
        process.stdout.write(format(items, argv.output, { allNamespaces: argv.allNamespaces, single: false }));
      });
    }),
  };
}

export interface DeleteSubcommandOptions {
  kind: 'secret' | 'configmap' | 'run';
  describe: string;
  namesDescribe: string;
  examples: [string, string][];
  remove(client: RuneClient, namespace: string, name: string): Promise<unknown>;
}

export function deleteSubcommand(options: DeleteSubcommandOptions): CommandModule<GlobalArgs, DeleteEachArgs> {
  return {
    command: 'delete <names..>',
    describe: options.describe,
    builder: (y: Argv<GlobalArgs>) =>
      withHelp(
        y
          .positional('names', { type: 'string', array: true, describe: options.namesDescribe, demandOption: true })
          .option('ignore-not-found', { type: 'boolean', default: false, describe: 'Treat "not found" as success' }),
        options.examples,
      ) as unknown as Argv<DeleteEachArgs>,
    handler: action<DeleteEachArgs>(async (argv, state) => (await import('./delete-each.js')).deleteEach(argv, state, options.kind, options.remove)),
  };
}
