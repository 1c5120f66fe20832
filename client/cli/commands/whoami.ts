/**
 * `rune whoami`: who runed thinks the caller is, and through which context.
 */
import type { Argv, CommandModule } from 'yargs';
import { action } from '../action.js';
import { withHelp, type GlobalArgs } from '../global-options.js';
import type { Policy } from '../../../shared/gen/rune/v1/policy.js';

/** `Rules:` lines, one per rule of each effective policy: `readonly: get,list,watch,logs on * in *`. */
export function effectiveRules(policies: readonly Policy[]): Array<[string, string]> {
  const rules = policies.flatMap((p) =>
    p.rules.length === 0 ? [`${p.metadata?.name}: (no such policy)`] : p.rules.map((r) => `${p.metadata?.name}: ${r.verbs.join(',')} on ${r.resources.join(',')} in ${r.namespaces.join(',')}`),
  );
  return rules.map((rule, i) => [i === 0 ? 'Rules' : '', rule]);
}

export const whoamiCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'whoami',
  describe: 'Show the subject your token authenticates as',
  builder: (y: Argv<GlobalArgs>) => withHelp(y, [['rune whoami', 'Subject, admin flag, policies with their rules, and token'], ['rune whoami -o json', 'As JSON']]),
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
        ...effectiveRules(who.effectivePolicies),
        ['Token', `${who.tokenId || '<unknown>'} (expires ${who.tokenExpiresAt || 'never'})`],
        ['Server', connection.server],
        ['Context', connection.context?.name ?? '<none>'],
        ['Namespace', connection.namespace],
      ];
      const width = Math.max(...lines.map(([k]) => k.length)) + 1;
      // Continuation lines (more rules) have an empty key.
      process.stdout.write(lines.map(([k, v]) => `${(k ? k + ':' : '').padEnd(width)}  ${v}\n`).join(''));
    });
  }),
};
