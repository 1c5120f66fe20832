/**
 * `rune logs SERVICE|INSTANCE`: prints log lines; `-f` keeps following (Ctrl-C ends it, exit 0)
 * and reconnects from the last line's time if runed goes away. Lines of a service with several
 * instances get an `[instance] ` prefix.
 */
import type { Argv, CommandModule } from 'yargs';
import type { RuneClient } from '../../api/rune-client.js';
import { action } from '../action.js';
import { UsageError, withHelp, type GlobalArgs } from '../global-options.js';

export interface LogsArgs extends GlobalArgs {
  target: string;
  follow: boolean;
  tail?: string;
  since?: string;
  timestamps: boolean;
  prefix?: boolean;
}

/**
 * The StreamLogs `tail` for a --tail value, kubectl style: unset, `all` or `-1` print every
 * line (0), `0` prints none (-1, for following only new lines), N the last N of each instance.
 */
export function parseTail(text: string | undefined): number {
  if (text === undefined || text === 'all' || text === '-1') return 0;
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) throw new UsageError(`--tail: "${text}" is not a line count; use a number from 0 up, or all`);
  const n = Number(text);
  return n === 0 ? -1 : n;
}

export const logsCommand: CommandModule<GlobalArgs, LogsArgs> = {
  command: 'logs <target>',
  describe: 'Print the logs of a service (all its instances) or of one instance',
  builder: (y: Argv<GlobalArgs>) =>
    withHelp(
      y
        .positional('target', { type: 'string', describe: 'Service name, or instance ID (see "rune get instances")', demandOption: true })
        .option('follow', { alias: 'f', type: 'boolean', default: false, describe: 'Keep printing new lines until interrupted (Ctrl-C exits 0)' })
        .option('tail', { type: 'string', requiresArg: true, describe: 'Only the last N lines of each instance (0: none, only new ones with -f) [default: all]' })
        .option('since', { type: 'string', requiresArg: true, describe: 'Only lines newer than a duration (5m, 1h30m) or an RFC 3339 time' })
        .option('timestamps', { type: 'boolean', default: false, describe: 'Put each line\'s time (RFC 3339) in front of it' })
        .option('prefix', { type: 'boolean', describe: 'Put [instance] in front of each line [default: when several instances log]' }),
      [
        ['rune logs web', 'Every line of every instance of web; [instance] prefixes when there are several'],
        ['rune logs web -f --tail 20', 'The last 20 lines of each instance, then new lines as they come'],
        ['rune logs web-7f3k2 --since 10m --timestamps', 'One instance\'s last ten minutes, with times'],
        ['rune logs web -o json | jq -r .text', 'One JSON object per line ({instance, text, time}) for scripts'],
      ],
      'Exit codes: 0 success (also when Ctrl-C ends -f), 1 error (no such service or instance, runed unreachable or gone for good while following), 2 usage error.',
    ) as unknown as Argv<LogsArgs>,
  handler: action<LogsArgs>(async (argv, state) => {
    if (argv.output !== 'table' && argv.output !== 'wide' && argv.output !== 'json') throw new UsageError(`logs print text, or -o json; -o ${argv.output} does not apply`);
    const tail = parseTail(argv.tail);
    const { parseSince } = await import('../parse-time.js');
    const since = argv.since === undefined ? undefined : parseSince(argv.since, new Date());
    const { withSession } = await import('../session.js');
    const { LogLineFormatter } = await import('../output/log-line-formatter.js');
    const { followLogs } = await import('../../api/follow-logs.js');
    const { printWarning } = await import('../action.js');
    const { shortReason } = await import('../error-message.js');
    const { useColor } = await import('../style.js');

    await withSession(argv, state, async ({ client, connection }) => {
      const namespace = connection.namespace;
      const prefix = argv.prefix === true ? 'always' : argv.prefix === false ? 'never' : await prefixMode(client, namespace, argv.target);
      const formatter = new LogLineFormatter({ prefix, timestamps: argv.timestamps, color: useColor(argv.color, process.stdout), json: argv.output === 'json' });
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      if (argv.follow) {
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
      }
      try {
        await followLogs({
          client,
          request: { namespace, target: argv.target, follow: argv.follow, tail, since },
          signal: stop.signal,
          onLines: (lines) => write(lines.map((line) => formatter.format(line)).join('')),
          onRetry: (error, attempt, delayMs, from) =>
            printWarning(
              `log stream interrupted (${error.code}: ${shortReason(error.message)}); reconnecting in ${(delayMs / 1000).toFixed(1)}s (attempt ${attempt})${from ? `, resuming at ${from.toISOString()}` : ''}`,
              argv.color,
            ),
        });
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
  }),
};

/**
 * `always` for a service that has several instances now; `auto` otherwise (an instance ID, a
 * service with one instance, or when the instances cannot be listed): prefixes start once a
 * second instance logs. Doubles as the reachability check: runed down or the token refused
 * fails here at once, rather than through the follow's reconnect attempts.
 */
async function prefixMode(client: Pick<RuneClient, 'listInstances'>, namespace: string, target: string): Promise<'always' | 'auto'> {
  try {
    const { instances } = await client.listInstances({ namespace, service: target, options: { limit: 2 } });
    return instances.length > 1 ? 'always' : 'auto';
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'UNAVAILABLE' || code === 'UNAUTHENTICATED') throw err;
    return 'auto'; // listing is only a hint (maybe not allowed): StreamLogs reports real problems
  }
}

/** Writes to stdout, waiting when the pipe is full so a slow reader slows the stream down. */
function write(text: string): Promise<void> | void {
  if (text === '' || process.stdout.write(text)) return;
  return new Promise((resolve) => process.stdout.once('drain', resolve));
}
