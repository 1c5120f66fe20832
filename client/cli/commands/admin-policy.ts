/**
 * `rune admin policy create -f FILE | get | list | delete | attach | detach`: policies are
 * lists of rules {resources, verbs, namespaces}; subjects hold them. The built-in policies
 * (admin, readwrite, readonly) cannot be replaced or deleted.
 */
import type { Argv, CommandModule } from 'yargs';
import { action } from '../action.js';
import { UsageError, withHelp, type GlobalArgs } from '../global-options.js';

interface CreateArgs extends GlobalArgs {
  filename: string;
}
interface NameArgs extends GlobalArgs {
  name: string;
}
interface AttachArgs extends GlobalArgs {
  policy: string;
  subject: string;
}

const POLICY_FILE_HELP = `A policy file:

  policy:
    name: dev-deployer
    description: deploys to dev        # optional
    rules:
      - resources: [services, instances]
        verbs: [get, list, watch, create, update, logs]
        namespaces: [dev]

"*" matches anything in a list; in namespaces it also covers cluster-scoped resources and all namespaces at once.`;

const create: CommandModule<GlobalArgs, CreateArgs> = {
  command: 'create',
  describe: 'Create or replace a policy from a file (checked before it is sent)',
  builder: (y: Argv<GlobalArgs>) =>
    withHelp(
      y.option('filename', { alias: 'f', type: 'string', demandOption: true, requiresArg: true, describe: 'Policy file (YAML), or - for stdin' }).epilog(POLICY_FILE_HELP),
      [
        ['rune admin policy create -f dev-deployer.yml', 'Create it, or replace it: prints created, updated or unchanged'],
        ['cat p.yml | rune admin policy create -f -', 'From stdin'],
      ],
    ) as unknown as Argv<CreateArgs>,
  handler: action<CreateArgs>(async (argv, state) => {
    const { readPolicyFile } = await import('../policy-file.js');
    const policy = await readPolicyFile(argv.filename);
    const { withAdmin } = await import('../admin-session.js');
    await withAdmin(argv, state, async (admin) => {
      const { result } = await admin.createPolicy({ policy });
      process.stdout.write(`policy/${policy.metadata!.name} ${result}\n`);
    });
  }),
};

const get: CommandModule<GlobalArgs, NameArgs> = {
  command: 'get <name>',
  describe: 'Show a policy and its rules',
  builder: (y: Argv<GlobalArgs>) =>
    withHelp(y.positional('name', { type: 'string', describe: 'Policy name', demandOption: true }), [
      ['rune admin policy get readonly', 'Its description and rules'],
      ['rune admin policy get dev-deployer -o yaml', 'As YAML'],
    ]) as unknown as Argv<NameArgs>,
  handler: action<NameArgs>(async (argv, state) => {
    const { withAdmin } = await import('../admin-session.js');
    const { describePolicy, policyPrinter } = await import('../output/admin-printers.js');
    await withAdmin(argv, state, async (admin) => {
      const { policy } = await admin.getPolicy({ name: argv.name });
      switch (argv.output) {
        case 'json':
          return void process.stdout.write(JSON.stringify(policyPrinter.toJSON(policy!), null, 2) + '\n');
        case 'yaml':
          return void process.stdout.write((await import('yaml')).stringify(policyPrinter.toJSON(policy!)));
        case 'name':
          return void process.stdout.write(policyPrinter.name(policy!) + '\n');
        default:
          process.stdout.write(describePolicy(policy!));
      }
    });
  }),
};

const list: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'list',
  aliases: ['ls'],
  describe: 'List policies, built-in ones included',
  builder: (y: Argv<GlobalArgs>) => withHelp(y, [['rune admin policy list', 'NAME BUILTIN RULES AGE'], ['rune admin policy list -o wide', 'With descriptions']]),
  handler: action<GlobalArgs>(async (argv, state) => {
    const { withAdmin } = await import('../admin-session.js');
    const { formatItems, policyPrinter } = await import('../output/admin-printers.js');
    await withAdmin(argv, state, async (admin) => {
      const { policies } = await admin.listPolicies();
      process.stdout.write(formatItems(policyPrinter, policies, argv.output));
    });
  }),
};

const remove: CommandModule<GlobalArgs, NameArgs> = {
  command: 'delete <name>',
  describe: 'Delete a policy that no subject holds',
  builder: (y: Argv<GlobalArgs>) =>
    withHelp(y.positional('name', { type: 'string', describe: 'Policy name', demandOption: true }), [['rune admin policy delete dev-deployer', 'Fails while a subject holds it']]) as unknown as Argv<NameArgs>,
  handler: action<NameArgs>(async (argv, state) => {
    const { withAdmin } = await import('../admin-session.js');
    await withAdmin(argv, state, async (admin) => {
      await admin.deletePolicy({ name: argv.name });
      process.stdout.write(`policy/${argv.name} deleted\n`);
    });
  }),
};

function attachLike(verb: 'attach' | 'detach'): CommandModule<GlobalArgs, AttachArgs> {
  return {
    command: `${verb} <policy>`,
    describe: verb === 'attach' ? 'Give a subject a policy' : 'Take a policy from a subject',
    builder: (y: Argv<GlobalArgs>) =>
      withHelp(
        y
          .positional('policy', { type: 'string', describe: 'Policy name', demandOption: true })
          .option('subject', { alias: 's', type: 'string', demandOption: true, requiresArg: true, describe: 'Subject name' }),
        [[`rune admin policy ${verb} readonly --subject alice`, verb === 'attach' ? 'alice may read everything from her next call on' : 'alice loses readonly from her next call on']],
      ) as unknown as Argv<AttachArgs>,
    handler: action<AttachArgs>(async (argv, state) => {
      if (!argv.subject) throw new UsageError('--subject: name the subject');
      const { withAdmin } = await import('../admin-session.js');
      await withAdmin(argv, state, async (admin) => {
        const request = { policy: argv.policy, subject: argv.subject };
        const { subject } = verb === 'attach' ? await admin.attachPolicy(request) : await admin.detachPolicy(request);
        process.stdout.write(`policy/${argv.policy} ${verb === 'attach' ? 'attached to' : 'detached from'} subject/${argv.subject} (policies: ${subject!.policies.join(', ') || 'none'})\n`);
      });
    }),
  };
}

export const adminPolicyCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'policy',
  aliases: ['policies'],
  describe: 'Create, show, list and delete policies; attach them to subjects',
  builder: (y: Argv<GlobalArgs>) =>
    withHelp(
      y
        .command(create)
        .command(get)
        .command(list)
        .command(remove)
        .command(attachLike('attach'))
        .command(attachLike('detach'))
        .demandCommand(1, 'Name a policy subcommand: create, get, list, delete, attach or detach'),
      [
        ['rune admin policy list', 'Every policy'],
        ['rune admin policy attach readwrite --subject ci', 'Give ci the readwrite policy'],
      ],
    ),
  handler: () => undefined,
};
