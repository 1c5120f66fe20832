/**
 * `rune secret create|get|list|delete`: secrets, stored encrypted by runed. Values go in with
 * --from-literal / --from-file (or `secret:` documents with `rune cast`) and come out only with
 * `get --reveal`, which needs the `reveal` verb on secrets in the namespace.
 */
import type { Argv, CommandModule } from 'yargs';
import { action } from '../action.js';
import { UsageError, withHelp, type GlobalArgs } from '../global-options.js';
import { deleteSubcommand, listSubcommand } from '../object-subcommands.js';

interface CreateArgs extends GlobalArgs {
  name: string;
  fromLiteral: string[];
  fromFile: string[];
  label: string[];
  dryRun: boolean;
}

interface GetArgs extends GlobalArgs {
  name: string;
  reveal: boolean;
  field?: string;
  version: number;
}

const nameProblem = async (name: string) => {
  const { dnsLabelProblem } = await import('../../../shared/spec/names.js');
  const problem = dnsLabelProblem(name);
  if (problem !== undefined) throw new UsageError(`NAME "${name}" ${problem}`);
};

const create: CommandModule<GlobalArgs, CreateArgs> = {
  command: 'create <name>',
  describe: 'Create a secret, or a new version of it when the values differ',
  builder: (y: Argv<GlobalArgs>) =>
    withHelp(
      y
        .positional('name', { type: 'string', describe: 'DNS label: lower-case letters, digits and -', demandOption: true })
        .option('from-literal', { type: 'string', array: true, default: [] as string[], requiresArg: true, describe: 'KEY=VALUE (repeat for several)' })
        .option('from-file', { type: 'string', array: true, default: [] as string[], requiresArg: true, describe: '[KEY=]PATH: the file\'s bytes; KEY defaults to its base name (repeat for several)' })
        .option('label', { alias: 'l', type: 'string', array: true, default: [] as string[], requiresArg: true, describe: 'KEY=VALUE label (repeat for several)' })
        .option('dry-run', { type: 'boolean', default: false, describe: 'Have runed validate and report what would change, without writing' }),
      [
        ['rune secret create db --from-literal user=app --from-literal password="$DB_PASSWORD"', 'A secret with two keys'],
        ['rune secret create tls --from-file tls.crt=./server.crt --from-file tls.key=./server.key -n prod', 'Keys from files, in namespace prod'],
        ['rune secret create db --from-literal password=new', 'Cast again with other values: version 2 (the services using it roll)'],
      ],
    ) as unknown as Argv<CreateArgs>,
  handler: action<CreateArgs>(async (argv, state) => {
    await nameProblem(argv.name);
    const { dataFromFlags, labelsFromFlags } = await import('../config-data-input.js');
    const data = await dataFromFlags(argv);
    const labels = labelsFromFlags(argv.label);
    const { withSession } = await import('../session.js');
    await withSession(argv, state, async ({ client, connection }) => {
      const { secret, result } = await client.castSecret({
        secret: { metadata: { name: argv.name, namespace: connection.namespace, labels }, data: Object.fromEntries(data) },
        dryRun: argv.dryRun,
      });
      if (argv.output === 'json' || argv.output === 'yaml' || argv.output === 'name') {
        const { formatSecrets } = await import('../output/secret-printers.js');
        process.stdout.write(formatSecrets([secret!], argv.output, { allNamespaces: false, single: true }));
        return;
      }
      const version = result === 'created' || result === 'updated' ? ` (version ${secret?.version})` : '';
      process.stdout.write(`secret/${argv.name} ${result}${version}${argv.dryRun ? ' (dry run)' : ''}\n`);
    });
  }),
};

const get: CommandModule<GlobalArgs, GetArgs> = {
  command: 'get <name>',
  describe: 'Show a secret: keys and versions; its values with --reveal',
  builder: (y: Argv<GlobalArgs>) =>
    withHelp(
      y
        .positional('name', { type: 'string', describe: 'Secret name', demandOption: true })
        .option('reveal', { type: 'boolean', default: false, describe: 'Show the values too (needs the `reveal` verb on secrets in the namespace)' })
        .option('field', { type: 'string', requiresArg: true, describe: 'With --reveal: print only the value of this key, raw, with no newline added (for scripts)' })
        .option('version', { type: 'number', default: 0, describe: 'A retained older version (default: the current one)' }),
      [
        ['rune secret get db', 'Keys, type, version'],
        ['rune secret get db --reveal', 'KEY VALUE table'],
        ['PGPASSWORD="$(rune secret get db --reveal --field password)" psql ...', 'One value, raw'],
        ['rune secret get db --reveal --version 2 -o json', 'An older version as JSON (values base64)'],
      ],
    ) as unknown as Argv<GetArgs>,
  handler: action<GetArgs>(async (argv, state) => {
    if (argv.field !== undefined && !argv.reveal) throw new UsageError('--field prints a value: add --reveal');
    if (!Number.isInteger(argv.version) || argv.version < 0) throw new UsageError(`--version must be a version number (got ${argv.version})`);
    const { withSession } = await import('../session.js');
    const { formatSecrets, formatRevealed } = await import('../output/secret-printers.js');
    await withSession(argv, state, async ({ client, connection }) => {
      const { secret } = await client.getSecret({ namespace: connection.namespace, name: argv.name, reveal: argv.reveal, version: argv.version });
      if (argv.field !== undefined) {
        const value = secret!.data[argv.field];
        if (value === undefined) {
          const { RuneError } = await import('../../../shared/errors.js');
          throw new RuneError('NOT_FOUND', `secret "${argv.name}" has no key "${argv.field}" (its keys: ${secret!.keys.join(', ')})`);
        }
        process.stdout.write(value);
        return;
      }
      process.stdout.write(formatSecrets([secret!], argv.output, { allNamespaces: false, single: true }));
      if (argv.reveal && (argv.output === 'table' || argv.output === 'wide')) process.stdout.write('\n' + formatRevealed(secret!));
    });
  }),
};

const list = listSubcommand({
  plural: 'secrets',
  describe: 'List secrets (keys and versions, never values)',
  examples: [
    ['rune secret list', 'NAME TYPE KEYS VERSION AGE'],
    ['rune secret list -A -o wide', 'Every namespace, with retained versions and labels'],
  ],
  page: async (client, namespace, continueToken, labelSelector) => {
    const page = await client.listSecrets({ namespace, options: { continueToken, labelSelector } });
    return { items: page.secrets, continueToken: page.listMeta?.continueToken };
  },
  format: async () => (await import('../output/secret-printers.js')).formatSecrets,
});

const remove = deleteSubcommand({
  kind: 'secret',
  describe: 'Delete secrets with every version (running instances keep what they started with)',
  namesDescribe: 'Secret names',
  examples: [['rune secret delete db', 'Delete secret db in the current namespace']],
  remove: (client, namespace, name) => client.deleteSecret({ namespace, name }),
});

export const secretCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'secret',
  describe: 'Manage secrets: values stored encrypted, injected into services',
  builder: (y: Argv<GlobalArgs>) =>
    withHelp(y.command(create).command(get).command(list).command(remove).demandCommand(1, 'Name a secret subcommand: create, get, list or delete'), [
      ['rune secret create db --from-literal password=s3cret', 'Create a secret'],
      ['rune secret get db --reveal', 'Show its values'],
    ]),
  handler: () => undefined,
};
