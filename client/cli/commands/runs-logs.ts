/**
 * `rune runs logs RUN`: the output of every attempt of a run; `-f` keeps following until the run
 * ends (Ctrl-C ends it too, exit 0) and reconnects if runed goes away, without repeating lines.
 */
import type { Argv, CommandModule } from 'yargs';
import type { RuneClient } from '../../api/rune-client.js';
import type { LogsRequest } from '../../api/follow-logs.js';
import { action } from '../action.js';
import { UsageError, withHelp, type GlobalArgs } from '../global-options.js';
import { runId } from '../run-args.js';

export interface RunsLogsArgs extends GlobalArgs {
  run: string;
  follow: boolean;
  tail?: string;
  timestamps: boolean;
}

export const runsLogsCommand: CommandModule<GlobalArgs, RunsLogsArgs> = {
  command: 'logs <run>',
  describe: 'Print the output of a run (every attempt); -f follows it',
  builder: (y: Argv<GlobalArgs>) =>
    withHelp(
      y
        .positional('run', { type: 'string', describe: 'Run ID, or run/ID', demandOption: true })
        .option('follow', { alias: 'f', type: 'boolean', default: false, describe: 'Keep printing new lines until the run ends or you interrupt (Ctrl-C exits 0)' })
        .option('tail', { type: 'string', requiresArg: true, describe: 'Only the last N lines (N from 1 up, or all) [default: all]' })
        .option('timestamps', { type: 'boolean', default: false, describe: 'Put each line\'s time (RFC 3339) in front of it' }),
      [
        ['rune runs logs 01jd8y3k6m2q7v9w0x1y2z3a4b', 'Every line the run wrote'],
        ['rune runs logs 01jd8y3k6m2q7v9w0x1y2z3a4b -f --tail 20', 'The last 20 lines, then new ones until the run ends'],
        ['rune runs logs 01jd8y3k6m2q7v9w0x1y2z3a4b -o json | jq -r .text', 'One JSON object per line ({instance, text, time})'],
      ],
      'Exit codes: 0 success (also when Ctrl-C ends -f), 1 error (no such run, runed unreachable or gone for good while following), 2 usage error.',
    ) as unknown as Argv<RunsLogsArgs>,
  handler: action<RunsLogsArgs>(async (argv, state) => {
    if (argv.output !== 'table' && argv.output !== 'wide' && argv.output !== 'json') throw new UsageError(`logs print text, or -o json; -o ${argv.output} does not apply`);
    const id = runId(argv.run);
    const tail = parseRunTail(argv.tail);
    const { withSession } = await import('../session.js');
    const { LogLineFormatter } = await import('../output/log-line-formatter.js');
    const { followLogs } = await import('../../api/follow-logs.js');
    const { printWarning } = await import('../action.js');
    const { shortReason } = await import('../error-message.js');
    const { useColor } = await import('../style.js');

    await withSession(argv, state, async ({ client, connection }) => {
      const formatter = new LogLineFormatter({ prefix: 'never', timestamps: argv.timestamps, color: useColor(argv.color, process.stdout), json: argv.output === 'json' });
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      if (argv.follow) {
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
      }
      try {
        await followLogs({
          client: runLogsClient(client),
          request: { namespace: connection.namespace, target: id, follow: argv.follow, tail },
          signal: stop.signal,
          onLines: (lines) => write(lines.map((line) => formatter.format(line)).join('')),
          onRetry: (error, attempt, delayMs) =>
            printWarning(`log stream interrupted (${error.code}: ${shortReason(error.message)}); reconnecting in ${(delayMs / 1000).toFixed(1)}s (attempt ${attempt})`, argv.color),
        });
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
  }),
};

/** StreamRunLogs' `tail` for --tail: unset or `all` → 0 (every line), N ≥ 1 → N. It has no "none" (kubectl's 0). */
export function parseRunTail(text: string | undefined): number {
  if (text === undefined || text === 'all' || text === '-1') return 0;
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text)) || Number(text) === 0) {
    throw new UsageError(`--tail: "${text}" is not a line count; use a number from 1 up, or all (a run's log has no --tail 0)`);
  }
  return Number(text);
}

/**
 * followLogs (follow-logs.ts) over StreamRunLogs. StreamRunLogs has no `since`: a resumed stream
 * sends the run's whole log again (`tail` 0) and followLogs drops the lines it already delivered
 * (those up to the last delivered line's time), so nothing repeats.
 */
export function runLogsClient(client: Pick<RuneClient, 'streamRunLogs'>): Pick<RuneClient, 'streamLogs'> {
  return {
    streamLogs: (request, options) => {
      const r = request as LogsRequest;
      return client.streamRunLogs({ namespace: r.namespace, id: r.target, follow: r.follow, tail: r.tail }, options);
    },
  };
}

/** Writes to stdout, waiting when the pipe is full so a slow reader slows the stream down. */
function write(text: string): Promise<void> | void {
  if (text === '' || process.stdout.write(text)) return;
  return new Promise((resolve) => process.stdout.once('drain', resolve));
}
