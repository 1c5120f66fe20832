/**
 * `rune runs list`: runs, newest first, filtered by job, phase and source, in any output format.
 */
import type { Argv, CommandModule } from 'yargs';
import { action } from '../action.js';
import { UsageError, withHelp, type GlobalArgs } from '../global-options.js';
import { runFilterFlags, runFilterFromArgs, type RunFilterArgs } from '../run-args.js';

export interface RunsListArgs extends GlobalArgs, RunFilterArgs {
  limit?: number;
}

export const runsListCommand: CommandModule<GlobalArgs, RunsListArgs> = {
  command: 'list',
  aliases: ['ls'],
  describe: 'List runs, newest first: status, progress, current task, attempts, duration',
  builder: (y: Argv<GlobalArgs>) =>
    withHelp(
      runFilterFlags(y).option('limit', { type: 'number', requiresArg: true, describe: 'At most N runs (the newest) [default: all]' }),
      [
        ['rune runs list', 'Runs in the current namespace: ID JOB STATUS PROGRESS TASK ATTEMPTS STARTED DURATION'],
        ['rune runs list --job backup --status failed,cancelled', 'The failed and cancelled runs of job backup'],
        ['rune runs list -A -o wide --limit 20', 'The 20 newest runs of every namespace, with source, trigger and reason'],
        ['rune runs list --status running -o name', 'run/ID of each running run, for scripts'],
      ],
    ) as unknown as Argv<RunsListArgs>,
  handler: action<RunsListArgs>(async (argv, state) => {
    if (argv.limit !== undefined && (!Number.isInteger(argv.limit) || argv.limit < 1)) throw new UsageError(`--limit must be a whole number from 1 up (got ${argv.limit})`);
    const filter = runFilterFromArgs(argv);
    const { withSession } = await import('../session.js');
    const { listAllRuns } = await import('../../api/follow-runs.js');
    const { formatRuns } = await import('../output/run-printers.js');
    const { useColor } = await import('../style.js');
    await withSession(argv, state, async ({ client, connection }) => {
      const namespace = argv.allNamespaces ? '*' : connection.namespace;
      const { runs } = await listAllRuns(client, namespace, filter, { limit: argv.limit });
      if (runs.length === 0 && (argv.output === 'table' || argv.output === 'wide')) {
        process.stderr.write(`No runs found${argv.allNamespaces ? '' : ` in namespace ${connection.namespace}`}.\n`);
        return;
      }
      const options = { wide: argv.output === 'wide', allNamespaces: argv.allNamespaces, now: new Date() };
      process.stdout.write(formatRuns(runs, argv.output, options, useColor(argv.color, process.stdout)));
    });
  }),
};
