/**
 * `rune admin subject create|list|delete`: the users and service accounts that tokens
 * authenticate as. Deleting a subject revokes its tokens (their open streams end).
 */
import type { Argv, CommandModule } from 'yargs';
import { action } from '../action.js';
import { UsageError, withHelp, type GlobalArgs } from '../global-options.js';

interface CreateArgs extends GlobalArgs {
  name: string;
  type: string;
  policy: string[];
}

interface NameArgs extends GlobalArgs {
  name: string;
}

const create: CommandModule<GlobalArgs, CreateArgs> = {
  command: 'create <name>',
  describe: 'Create a subject (a user or a service account) holding the given policies',
  builder: (y: Argv<GlobalArgs>) =>
    withHelp(
      y
        .positional('name', { type: 'string', describe: "Subject name: lower-case letters, digits, '-', '.', '_', '@'", demandOption: true })
        .option('type', { choices: ['user', 'serviceaccount'], default: 'user', describe: 'Kind of subject' })
        .option('policy', { alias: 'p', type: 'string', array: true, default: [] as string[], requiresArg: true, describe: 'Policy to attach (repeat for several)' }),
      [
        ['rune admin subject create alice --policy readonly', 'A user who may read everything'],
        ['rune admin subject create ci --type serviceaccount -p readwrite', 'A service account for CI'],
      ],
    ) as unknown as Argv<CreateArgs>,
  handler: action<CreateArgs>(async (argv, state) => {
    const { subjectNameProblem } = await import('../../../shared/spec/policy-spec.js');
    const problem = subjectNameProblem(argv.name);
    if (problem !== undefined) throw new UsageError(`NAME "${argv.name}" ${problem}`);
    const { withAdmin } = await import('../admin-session.js');
    await withAdmin(argv, state, async (admin) => {
      const { subject } = await admin.createSubject({ name: argv.name, type: argv.type, policies: argv.policy });
      if (argv.output === 'json' || argv.output === 'yaml') return void (await printOne(subject!, argv.output));
      process.stdout.write(`subject/${argv.name} created${argv.policy.length ? ` with ${argv.policy.join(', ')}` : ' (no policies: it may do nothing yet)'}\n`);
    });
  }),
};

const list: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'list',
  aliases: ['ls'],
  describe: 'List subjects with their policies',
  builder: (y: Argv<GlobalArgs>) => withHelp(y, [['rune admin subject list', 'NAME TYPE ADMIN POLICIES AGE'], ['rune admin subject list -o json', 'As JSON']]),
  handler: action<GlobalArgs>(async (argv, state) => {
    const { withAdmin } = await import('../admin-session.js');
    const { formatItems, subjectPrinter } = await import('../output/admin-printers.js');
    await withAdmin(argv, state, async (admin) => {
      const { subjects } = await admin.listSubjects();
      process.stdout.write(formatItems(subjectPrinter, subjects, argv.output));
    });
  }),
};

const remove: CommandModule<GlobalArgs, NameArgs> = {
  command: 'delete <name>',
  describe: 'Delete a subject and revoke every token it holds',
  builder: (y: Argv<GlobalArgs>) =>
    withHelp(y.positional('name', { type: 'string', describe: 'Subject name', demandOption: true }), [['rune admin subject delete alice', 'alice and her tokens are gone; her open streams end']]) as unknown as Argv<NameArgs>,
  handler: action<NameArgs>(async (argv, state) => {
    const { withAdmin } = await import('../admin-session.js');
    await withAdmin(argv, state, async (admin) => {
      const { revokedTokens } = await admin.deleteSubject({ name: argv.name });
      process.stdout.write(`subject/${argv.name} deleted (${revokedTokens} token${revokedTokens === 1 ? '' : 's'} revoked)\n`);
    });
  }),
};

async function printOne(subject: import('../../../shared/gen/rune/v1/auth.js').Subject, format: 'json' | 'yaml'): Promise<void> {
  const { Subject } = await import('../../../shared/gen/rune/v1/auth.js');
  const json = Subject.toJSON(subject);
  process.stdout.write(format === 'json' ? JSON.stringify(json, null, 2) + '\n' : (await import('yaml')).stringify(json));
}

export const adminSubjectCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'subject',
  aliases: ['subjects'],
  describe: 'Create, list and delete subjects (users and service accounts)',
  builder: (y: Argv<GlobalArgs>) =>
    withHelp(y.command(create).command(list).command(remove).demandCommand(1, 'Name a subject subcommand: create, list or delete'), [['rune admin subject list', 'Every subject and its policies']]),
  handler: () => undefined,
};
