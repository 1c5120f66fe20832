/**
 * `rune admin subject|policy|token|audit ...`: access control, for admins (every call is
 * admin-only on runed). Each group lives in its own file: admin-subject.ts, admin-policy.ts,
 * admin-token.ts, admin-audit.ts.
 */
import type { Argv, CommandModule } from 'yargs';
import { withHelp, type GlobalArgs } from '../global-options.js';
import { adminAuditCommand } from './admin-audit.js';
import { adminKekCommand } from './admin-kek.js';
import { adminPolicyCommand } from './admin-policy.js';
import { adminSubjectCommand } from './admin-subject.js';
import { adminTokenCommand } from './admin-token.js';

export const adminCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'admin',
  describe: 'Manage subjects, policies and tokens, and read the audit log (admins only)',
  builder: (y: Argv<GlobalArgs>) =>
    withHelp(
      y
        .command(adminSubjectCommand)
        .command(adminPolicyCommand)
        .command(adminTokenCommand)
        .command(adminAuditCommand)
        .command(adminKekCommand)
        .demandCommand(1, 'Name an admin subcommand: subject, policy, token or audit'),
      [
        ['rune admin subject create alice --policy readonly', 'A user who may read everything'],
        ['rune admin token create --subject alice --ttl 720h', 'A token for alice, printed once'],
        ['rune admin policy create -f dev-deployer.yml', 'Create or replace a policy from a file'],
        ['rune admin audit --since 1h', 'Who changed what in the last hour'],
      ],
    ),
  handler: () => undefined,
};
