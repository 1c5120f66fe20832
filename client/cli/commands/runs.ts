/**
 * `rune runs list|show|watch|start|cancel|delete|logs`: the runs of jobs (one execution each).
 * Each subcommand lives in runs-<verb>.ts and imports what it needs only when it runs.
 */
import type { Argv, CommandModule } from 'yargs';
import { withHelp, type GlobalArgs } from '../global-options.js';
import { deleteSubcommand } from '../object-subcommands.js';
import { runsCancelCommand } from './runs-cancel.js';
import { runsListCommand } from './runs-list.js';
import { runsLogsCommand } from './runs-logs.js';
import { runsShowCommand } from './runs-show.js';
import { runsStartCommand } from './runs-start.js';
import { runsWatchCommand } from './runs-watch.js';

const runsDeleteCommand = deleteSubcommand({
  kind: 'run',
  describe: 'Delete ended runs and their logs (cancel an active run first)',
  namesDescribe: 'Run IDs',
  examples: [['rune runs delete 01jd8y3k6m2q7v9w0x1y2z3a4b', 'Delete one run']],
  remove: async (client, namespace, name) => {
    const { runId } = await import('../run-args.js');
    return client.deleteRun({ namespace, id: runId(name) });
  },
});

export const runsCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'runs',
  aliases: ['run'],
  describe: 'Runs of jobs: list, show, watch live, start, cancel, delete, logs',
  builder: (y: Argv<GlobalArgs>) =>
    withHelp(
      y
        .command(runsListCommand)
        .command(runsShowCommand)
        .command(runsWatchCommand)
        .command(runsStartCommand)
        .command(runsCancelCommand)
        .command(runsDeleteCommand)
        .command(runsLogsCommand)
        .demandCommand(1, 'Name a runs subcommand: list, show, watch, start, cancel, delete or logs'),
      [
        ['rune runs start backup --wait', 'Start a run of job backup and follow it to its end'],
        ['rune runs watch', 'Follow every run of the namespace live'],
        ['rune runs list --status failed', 'The failed runs'],
      ],
    ),
  handler: () => undefined,
};
