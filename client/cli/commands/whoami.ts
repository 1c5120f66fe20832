/**
 * `rune whoami`: who runed thinks the caller is, and through which context.
 */
import type { Argv, CommandModule } from 'yargs';
import { action } from '../action.js';
import { withHelp, type GlobalArgs } from '../global-options.js';

export const whoamiCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'whoami',
  describe: 'Show the subject your token authenticates as',
  builder: (y: Argv<GlobalArgs>) => withHelp(y, [['rune whoami', 'Subject, admin flag, policies and token'], ['rune whoami -o json', 'As JSON']]),
  handler: action<GlobalArgs>(async (argv, state) => {
    const { withSession } = await import('../session.js');
    await withSession(argv, state, async ({ client, connection }) => {
      const who = await client.whoAmI();
      const { WhoAmIResponse } = await import('../../../shared/gen/rune/v1/auth_service.js');
      if (argv.output === 'json') return void process.stdout.write(JSON.stringify(WhoAmIResponse.toJSON(who), null, 2) + '\n');
      if (argv.output === 'yaml') return void process.stdout.write((await import('yaml')).stringify(WhoAmIResponse.toJSON(who)));
      if (argv.output === 'name') return void process.stdout.write(`${who.subject}\n`);
      const lines: Array<[string, string]> = [
        ['Subject', who.subject],
        ['Admin', who.admin ? 'yes' : 'no'],
        ['Policies', who.policies.join(', ') || '<none>'],
        ['Token', `${who.tokenId || '<unknown>'} (expires ${who.tokenExpiresAt || 'never'})`],
        ['Server', connection.server],
        ['Context', connection.context?.name ?? '<none>'],
        ['Namespace', connection.namespace],
      ];
      const width = Math.max(...lines.map(([k]) => k.length)) + 1;
      process.stdout.write(lines.map(([k, v]) => `${(k + ':').padEnd(width)}  ${v}\n`).join(''));
    });
  }),
};
