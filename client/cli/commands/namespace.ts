/**
 * `rune namespace create NAME`: namespaces hold services; "default" exists from the start.
 */
import type { Argv, CommandModule } from 'yargs';
import { action } from '../action.js';
import { UsageError, withHelp, type GlobalArgs } from '../global-options.js';

interface CreateArgs extends GlobalArgs {
  name: string;
}

const create: CommandModule<GlobalArgs, CreateArgs> = {
  command: 'create <name>',
  describe: 'Create a namespace',
  builder: (y: Argv<GlobalArgs>) =>
    withHelp(y.positional('name', { type: 'string', describe: 'DNS label: lower-case letters, digits and -', demandOption: true }), [
      ['rune namespace create staging', 'Create namespace staging'],
    ]) as unknown as Argv<CreateArgs>,
  handler: action<CreateArgs>(async (argv, state) => {
    const { dnsLabelProblem } = await import('../../../shared/spec/names.js');
    const problem = dnsLabelProblem(argv.name);
    if (problem !== undefined) throw new UsageError(`NAME "${argv.name}" ${problem}`);
    const { withSession } = await import('../session.js');
    await withSession(argv, state, async ({ client }) => {
      await client.createNamespace({ namespace: { metadata: { name: argv.name } } });
      process.stdout.write(`namespace/${argv.name} created\n`);
    });
  }),
};

export const namespaceCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'namespace',
  aliases: ['ns'],
  describe: 'Manage namespaces (list them with "rune get namespaces")',
  builder: (y: Argv<GlobalArgs>) =>
    withHelp(y.command(create).demandCommand(1, 'Name a namespace subcommand: create'), [['rune namespace create staging', 'Create namespace staging']]),
  handler: () => undefined,
};
