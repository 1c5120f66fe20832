/**
 * `rune admin audit [--since 1h] [-w]`: the audit log — every mutating call and every exec,
 * reveal and logs call, with who, what, where and the outcome. `-w` keeps printing new entries
 * until interrupted (Ctrl-C exits 0).
 */
import type { Argv, CommandModule } from 'yargs';
import { action } from '../action.js';
import { withHelp, type GlobalArgs } from '../global-options.js';

interface AuditArgs extends GlobalArgs {
  since?: string;
  watch: boolean;
}

export const adminAuditCommand: CommandModule<GlobalArgs, AuditArgs> = {
  command: 'audit',
  describe: 'Print the audit log (mutating calls, exec, reveal, logs), oldest first',
  builder: (y: Argv<GlobalArgs>) =>
    withHelp(
      y
        .option('since', { type: 'string', requiresArg: true, describe: 'Only entries newer than a duration (30m, 24h) or an RFC 3339 time [default: all retained]' })
        .option('watch', { alias: 'w', type: 'boolean', default: false, describe: 'Keep printing new entries until interrupted (Ctrl-C exits 0)' }),
      [
        ['rune admin audit --since 1h', 'TIME SUBJECT VERB RESOURCE NAMESPACE NAME OUTCOME for the last hour'],
        ['rune admin audit -w -o json', 'Follow, one JSON object per entry'],
        ['rune admin audit -o wide', 'Also the RPC, the peer address, the token id and the duration'],
      ],
      'Exit codes: 0 success (also when Ctrl-C ends -w), 1 error (not an admin, runed unreachable), 2 usage error.',
    ) as unknown as Argv<AuditArgs>,
  handler: action<AuditArgs>(async (argv, state) => {
    const { parseSince } = await import('../parse-time.js');
    const since = argv.since === undefined ? undefined : parseSince(argv.since, new Date());
    const { withAdmin } = await import('../admin-session.js');
    const { AuditStreamPrinter } = await import('../output/admin-printers.js');
    await withAdmin(argv, state, async (admin) => {
      const printer = new AuditStreamPrinter(argv.output);
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      if (argv.watch) {
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
      }
      try {
        for await (const { entries } of admin.streamAudit({ since, follow: argv.watch }, { signal: stop.signal })) {
          process.stdout.write(printer.entries(entries));
        }
        process.stdout.write(printer.end());
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
  }),
};
