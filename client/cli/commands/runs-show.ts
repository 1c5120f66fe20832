/**
 * `rune runs show RUN`: one run in detail — trigger, status, progress bar, current task,
 * heartbeat, warning, its attempts — and its last log lines.
 */
import type { Argv, CommandModule } from 'yargs';
import type { RuneClient } from '../../api/rune-client.js';
import { action } from '../action.js';
import { withHelp, type GlobalArgs } from '../global-options.js';
import { runId } from '../run-args.js';

export interface RunsShowArgs extends GlobalArgs {
  run: string;
  logLines: number;
}

export const runsShowCommand: CommandModule<GlobalArgs, RunsShowArgs> = {
  command: 'show <run>',
  aliases: ['describe'],
  describe: 'Show a run: status, progress, attempts and its last log lines',
  builder: (y: Argv<GlobalArgs>) =>
    withHelp(
      y
        .positional('run', { type: 'string', describe: 'Run ID, or run/ID (see "rune runs list")', demandOption: true })
        .option('log-lines', { type: 'number', default: 10, requiresArg: true, describe: 'How many of the last log lines to show (0: none)' }),
      [
        ['rune runs show 01jd8y3k6m2q7v9w0x1y2z3a4b', 'Status, progress, attempts with exit codes, the last 10 log lines'],
        ['rune runs show run/01jd8y3k6m2q7v9w0x1y2z3a4b -o json', 'The run as JSON (no log lines)'],
      ],
    ) as unknown as Argv<RunsShowArgs>,
  handler: action<RunsShowArgs>(async (argv, state) => {
    const id = runId(argv.run);
    const { withSession } = await import('../session.js');
    await withSession(argv, state, async ({ client, connection }) => {
      const { run } = await client.getRun({ namespace: connection.namespace, id });
      if (argv.output !== 'table' && argv.output !== 'wide') {
        const { formatOne } = await import('../output/printers.js');
        const { runPrinter } = await import('../output/run-printers.js');
        process.stdout.write(formatOne(runPrinter, run!, argv.output, { wide: false, allNamespaces: false, now: new Date() }));
        return;
      }
      const { describeRun } = await import('../output/describe.js');
      process.stdout.write(describeRun(run!));
      if (argv.logLines <= 0) return;
      process.stdout.write(await lastLogLines(client, connection.namespace, id, argv.logLines));
    });
  }),
};

/** `Last Log Lines:` and the lines, indented; says why when the log cannot be read. */
async function lastLogLines(client: RuneClient, namespace: string, id: string, tail: number): Promise<string> {
  const { LogLineFormatter } = await import('../output/log-line-formatter.js');
  const formatter = new LogLineFormatter({ prefix: 'never', timestamps: false });
  let text = '';
  try {
    for await (const message of client.streamRunLogs({ namespace, id, follow: false, tail })) {
      for (const line of message.lines) text += formatter.format(line);
    }
  } catch (err) {
    const { RuneError } = await import('../../../shared/errors.js');
    const { shortReason } = await import('../error-message.js');
    const error = RuneError.from(err);
    return `Last Log Lines:  <unavailable: ${error.code}: ${shortReason(error.message)}>\n`;
  }
  if (text === '') return 'Last Log Lines:  <none>\n';
  return `Last ${tail} Log Lines:\n${text.replace(/^(?=.)/gm, '  ')}`;
}
