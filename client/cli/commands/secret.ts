/**
 * `rune secret create|get|list|delete`: secrets, stored encrypted by runed. Values go in with
 * --from-literal / --from-file (or `secret:` documents with `rune cast`) and come out only with
 * `get --reveal`, which needs the `reveal` verb on secrets in the namespace.
 */
import type { Argv, CommandModule } from 'yargs';
import { action } from '../action.js';
import { UsageError, withHelp, type GlobalArgs } from '../global-options.js';

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

interface ListArgs extends GlobalArgs {
  allNamespaces: boolean;
  selector?: string;
}

interface DeleteArgs extends GlobalArgs {
  names: string[];
  ignoreNotFound: boolean;
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

const list: CommandModule<GlobalArgs, ListArgs> = {
  command: 'list',
  aliases: ['ls'],
  describe: 'List secrets (keys and versions, never values)',
  builder: (y: Argv<GlobalArgs>) =>
    withHelp(
      y
        .option('all-namespaces', { alias: 'A', type: 'boolean', default: false, describe: 'Every namespace' })
        .option('selector', { alias: 'l', type: 'string', requiresArg: true, describe: 'Label selector k=v[,k2=v2]' }),
      [
        ['rune secret list', 'NAME TYPE KEYS VERSION AGE'],
        ['rune secret list -A -o wide', 'Every namespace, with retained versions and labels'],
      ],
    ) as unknown as Argv<ListArgs>,
  handler: action<ListArgs>(async (argv, state) => {
    const { withSession } = await import('../session.js');
    const { formatSecrets } = await import('../output/secret-printers.js');
    await withSession(argv, state, async ({ client, connection }) => {
      const { listAll } = await import('../../api/follow-watch.js');
      const { items: secrets } = await listAll(async (continueToken) => {
        const page = await client.listSecrets({ namespace: argv.allNamespaces ? '*' : connection.namespace, options: { continueToken, labelSelector: argv.selector ?? '' } });
        return { items: page.secrets, continueToken: page.listMeta?.continueToken };
      });
      if (secrets.length === 0 && (argv.output === 'table' || argv.output === 'wide')) {
        process.stderr.write(`No secrets found${argv.allNamespaces ? '' : ` in namespace ${connection.namespace}`}.\n`);
        return;
      }
      process.stdout.write(formatSecrets(secrets, argv.output, { allNamespaces: argv.allNamespaces, single: false }));
    });
  }),
};

const remove: CommandModule<GlobalArgs, DeleteArgs> = {
  command: 'delete <names..>',
  describe: 'Delete secrets with every version (running instances keep what they started with)',
  builder: (y: Argv<GlobalArgs>) =>
    withHelp(
      y
        .positional('names', { type: 'string', array: true, describe: 'Secret names', demandOption: true })
        .option('ignore-not-found', { type: 'boolean', default: false, describe: 'Treat "not found" as success' }),
      [['rune secret delete db', 'Delete secret db in the current namespace']],
    ) as unknown as Argv<DeleteArgs>,
  handler: action<DeleteArgs>(async (argv, state) => {
    const { deleteEach } = await import('../delete-each.js');
    await deleteEach(argv, state, 'secret', (client, namespace, name) => client.deleteSecret({ namespace, name }));
  }),
};

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
