/**
 * `rune admin token create | list | revoke`: API tokens. A token's value is printed once, by
 * `create` (alone on stdout, so `TOKEN=$(rune admin token create ...)` works); runed keeps only
 * its id. Revoking takes effect on the very next call and ends the token's open streams.
 */
import type { Argv, CommandModule } from 'yargs';
import { action } from '../action.js';
import { UsageError, withHelp, type GlobalArgs } from '../global-options.js';

interface CreateArgs extends GlobalArgs {
  subject: string;
  ttl: string;
  description: string;
}
interface ListArgs extends GlobalArgs {
  subject?: string;
}
interface RevokeArgs extends GlobalArgs {
  id: string[];
}

/** Seconds of a --ttl value: a duration (720h, 30d, 90m), or 0 for a token that never expires. */
export async function parseTtl(text: string): Promise<number> {
  const { parseDuration } = await import('../parse-time.js');
  const ms = parseDuration(text, { flag: '--ttl', bareSeconds: true });
  if (ms !== 0 && ms < 1000) throw new UsageError(`--ttl: "${text}" is shorter than a second; use e.g. 1h, 720h, or 0 for no expiry`);
  return Math.round(ms / 1000);
}

const create: CommandModule<GlobalArgs, CreateArgs> = {
  command: 'create',
  describe: 'Issue a token for a subject and print it once',
  builder: (y: Argv<GlobalArgs>) =>
    withHelp(
      y
        .option('subject', { alias: 's', type: 'string', demandOption: true, requiresArg: true, describe: 'Subject the token authenticates as' })
        .option('ttl', { type: 'string', default: '720h', requiresArg: true, describe: 'Lifetime (90m, 720h, 30d); 0: never expires' })
        .option('description', { alias: 'd', type: 'string', default: '', requiresArg: true, describe: 'What the token is for (shown by token list)' }),
      [
        ['rune admin token create --subject alice', 'A 30-day token for alice: the value alone on stdout'],
        ['rune admin token create -s ci --ttl 0 -d "CI pipeline" > ci.token', 'A token that never expires, into a file'],
      ],
    ) as unknown as Argv<CreateArgs>,
  handler: action<CreateArgs>(async (argv, state) => {
    const ttlSeconds = await parseTtl(argv.ttl);
    const { withAdmin } = await import('../admin-session.js');
    await withAdmin(argv, state, async (admin) => {
      const { value, token } = await admin.createToken({ subject: argv.subject, ttlSeconds, description: argv.description });
      if (argv.output === 'json' || argv.output === 'yaml') {
        const { Token } = await import('../../../shared/gen/rune/v1/auth.js');
        const json = { value, token: Token.toJSON(token!) };
        return void process.stdout.write(argv.output === 'json' ? JSON.stringify(json, null, 2) + '\n' : (await import('yaml')).stringify(json));
      }
      process.stdout.write(value + '\n');
      const expires = token?.expiresAt ? `expires ${token.expiresAt.toISOString()}` : 'never expires';
      process.stderr.write(`token ${token?.metadata?.name} for subject ${argv.subject} (${expires}); it is shown only now: store it safely\n`);
    });
  }),
};

const list: CommandModule<GlobalArgs, ListArgs> = {
  command: 'list',
  aliases: ['ls'],
  describe: 'List tokens (ids, subjects, status, expiry; never values)',
  builder: (y: Argv<GlobalArgs>) =>
    withHelp(y.option('subject', { alias: 's', type: 'string', requiresArg: true, describe: 'Only this subject\'s tokens' }), [
      ['rune admin token list', 'ID SUBJECT STATUS EXPIRES AGE DESCRIPTION'],
      ['rune admin token list --subject alice -o json', "alice's tokens as JSON"],
    ]) as unknown as Argv<ListArgs>,
  handler: action<ListArgs>(async (argv, state) => {
    const { withAdmin } = await import('../admin-session.js');
    const { formatItems, tokenPrinter } = await import('../output/admin-printers.js');
    await withAdmin(argv, state, async (admin) => {
      const { tokens } = await admin.listTokens({ subject: argv.subject ?? '' });
      process.stdout.write(formatItems(tokenPrinter, tokens, argv.output));
    });
  }),
};

const revoke: CommandModule<GlobalArgs, RevokeArgs> = {
  command: 'revoke <id..>',
  describe: 'Revoke tokens: refused from the next call on, their open streams end',
  builder: (y: Argv<GlobalArgs>) =>
    withHelp(y.positional('id', { type: 'string', array: true, describe: 'Token id, as token list shows it', demandOption: true }), [
      ['rune admin token revoke 3f9c0a1b2c3d4e5f6a7b', 'Revoke one token'],
    ]) as unknown as Argv<RevokeArgs>,
  handler: action<RevokeArgs>(async (argv, state) => {
    const { withAdmin } = await import('../admin-session.js');
    await withAdmin(argv, state, async (admin) => {
      for (const id of argv.id) {
        await admin.revokeToken({ id: String(id) });
        process.stdout.write(`token/${id} revoked\n`);
      }
    });
  }),
};

export const adminTokenCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'token',
  aliases: ['tokens'],
  describe: 'Issue, list and revoke API tokens',
  builder: (y: Argv<GlobalArgs>) =>
    withHelp(y.command(create).command(list).command(revoke).demandCommand(1, 'Name a token subcommand: create, list or revoke'), [
      ['rune admin token create --subject alice --ttl 720h', 'A token for alice, printed once'],
    ]),
  handler: () => undefined,
};
