/**
 * `rune configmap create|get|list|delete`: non-secret configuration (string values by key),
 * injected into services like secrets but stored and shown in the clear.
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
}

const create: CommandModule<GlobalArgs, CreateArgs> = {
  command: 'create <name>',
  describe: 'Create a configmap, or replace its data',
  builder: (y: Argv<GlobalArgs>) =>
    withHelp(
      y
        .positional('name', { type: 'string', describe: 'DNS label: lower-case letters, digits and -', demandOption: true })
        .option('from-literal', { type: 'string', array: true, default: [] as string[], requiresArg: true, describe: 'KEY=VALUE (repeat for several)' })
        .option('from-file', { type: 'string', array: true, default: [] as string[], requiresArg: true, describe: '[KEY=]PATH: the file\'s text (UTF-8); KEY defaults to its base name' })
        .option('label', { alias: 'l', type: 'string', array: true, default: [] as string[], requiresArg: true, describe: 'KEY=VALUE label (repeat for several)' })
        .option('dry-run', { type: 'boolean', default: false, describe: 'Have runed validate and report what would change, without writing' }),
      [
        ['rune configmap create app --from-literal logLevel=debug', 'One key'],
        ['rune configmap create nginx --from-file nginx.conf', 'A file as key nginx.conf'],
      ],
    ) as unknown as Argv<CreateArgs>,
  handler: action<CreateArgs>(async (argv, state) => {
    const { dnsLabelProblem } = await import('../../../shared/spec/names.js');
    const problem = dnsLabelProblem(argv.name);
    if (problem !== undefined) throw new UsageError(`NAME "${argv.name}" ${problem}`);
    const { dataFromFlags, labelsFromFlags } = await import('../config-data-input.js');
    const data: Record<string, string> = {};
    for (const [key, bytes] of await dataFromFlags(argv)) {
      const text = bytes.toString('utf8');
      if (!Buffer.from(text, 'utf8').equals(bytes)) throw new UsageError(`key "${key}" is not UTF-8 text; a configmap holds text (use a secret for binary data)`);
      data[key] = text;
    }
    const labels = labelsFromFlags(argv.label);
    const { withSession } = await import('../session.js');
    await withSession(argv, state, async ({ client, connection }) => {
      const { configMap, result } = await client.castConfigMap({ configMap: { metadata: { name: argv.name, namespace: connection.namespace, labels }, data }, dryRun: argv.dryRun });
      if (argv.output === 'json' || argv.output === 'yaml' || argv.output === 'name') {
        const { formatConfigMaps } = await import('../output/secret-printers.js');
        process.stdout.write(formatConfigMaps([configMap!], argv.output, { allNamespaces: false, single: true }));
        return;
      }
      process.stdout.write(`configmap/${argv.name} ${result}${argv.dryRun ? ' (dry run)' : ''}\n`);
    });
  }),
};

const get: CommandModule<GlobalArgs, GetArgs> = {
  command: 'get <name>',
  describe: 'Show a configmap with its data',
  builder: (y: Argv<GlobalArgs>) =>
    withHelp(y.positional('name', { type: 'string', describe: 'Configmap name', demandOption: true }), [
      ['rune configmap get app', 'Keys and values'],
      ['rune configmap get app -o yaml', 'As YAML'],
    ]) as unknown as Argv<GetArgs>,
  handler: action<GetArgs>(async (argv, state) => {
    const { withSession } = await import('../session.js');
    const { formatConfigMaps } = await import('../output/secret-printers.js');
    await withSession(argv, state, async ({ client, connection }) => {
      const { configMap } = await client.getConfigMap({ namespace: connection.namespace, name: argv.name });
      process.stdout.write(formatConfigMaps([configMap!], argv.output, { allNamespaces: false, single: true }));
      if (argv.output === 'table' || argv.output === 'wide') {
        const { stringify } = await import('yaml');
        process.stdout.write('\n' + stringify(configMap!.data));
      }
    });
  }),
};

const list = listSubcommand({
  plural: 'configmaps',
  describe: 'List configmaps',
  examples: [['rune configmap list -A', 'Every namespace']],
  page: async (client, namespace, continueToken, labelSelector) => {
    const page = await client.listConfigMaps({ namespace, options: { continueToken, labelSelector } });
    return { items: page.configMaps, continueToken: page.listMeta?.continueToken };
  },
  format: async () => (await import('../output/secret-printers.js')).formatConfigMaps,
});

const remove = deleteSubcommand({
  kind: 'configmap',
  describe: 'Delete configmaps',
  namesDescribe: 'Configmap names',
  examples: [['rune configmap delete app', 'Delete configmap app in the current namespace']],
  remove: (client, namespace, name) => client.deleteConfigMap({ namespace, name }),
});

export const configMapCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'configmap',
  aliases: ['cm'],
  describe: 'Manage configmaps: non-secret configuration injected into services',
  builder: (y: Argv<GlobalArgs>) =>
    withHelp(y.command(create).command(get).command(list).command(remove).demandCommand(1, 'Name a configmap subcommand: create, get, list or delete'), [
      ['rune configmap create app --from-literal logLevel=debug', 'Create a configmap'],
      ['rune configmap get app', 'Show it'],
    ]),
  handler: () => undefined,
};
