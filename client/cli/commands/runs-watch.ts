/**
 * `rune runs watch`: run events as they happen. On a terminal, a live table redrawn in place
 * (output/runs-watch-view.ts); with `-o json`, or when stdout is not a terminal, one JSON object
 * per event (NDJSON, output/run-printers.ts `runEventRecord`). Either way it reconnects by itself
 * when runed restarts or the stream drops, resuming after the last revision seen, so no event is
 * shown twice or lost (follow-runs.ts). Ctrl-C ends it with exit 0, like `rune logs -f`.
 */
import type { Argv, CommandModule } from 'yargs';
import type { Run } from '../../../shared/gen/rune/v1/run.js';
import { action } from '../action.js';
import { UsageError, withHelp, type GlobalArgs } from '../global-options.js';
import { runFilterFlags, runFilterFromArgs, type RunFilterArgs } from '../run-args.js';

export interface RunsWatchArgs extends GlobalArgs, RunFilterArgs {
  history?: number;
  maxRows: number;
}

export const runsWatchCommand: CommandModule<GlobalArgs, RunsWatchArgs> = {
  command: 'watch',
  describe: 'Follow runs live: a continuously updated table on a terminal, NDJSON events with -o json',
  builder: (y: Argv<GlobalArgs>) =>
    withHelp(
      runFilterFlags(y)
        .option('history', { type: 'number', requiresArg: true, describe: 'First the last N matching events (at most 10000) [default: 0; the table starts from the current runs instead]' })
        .option('max-rows', { type: 'number', default: 50, requiresArg: true, describe: 'Table: runs kept on screen (the oldest ended ones leave first)' }),
      [
        ['rune runs watch', 'A live table of the runs in the current namespace'],
        ['rune runs watch --job backup --status running,blocked', 'Only the running and blocked runs of job backup'],
        ['rune runs watch -A --source "*" -o json', 'Every run event of every namespace and source, one JSON object per line'],
        ['rune runs watch -o json --history 100 | jq -c "select(.type == \\"run:finished\\")"', 'The last 100 events, then live ones, filtered with jq'],
      ],
      'Exit codes: 0 when Ctrl-C ends it, 1 error (runed unreachable, or gone for good while watching), 2 usage error.',
    ) as unknown as Argv<RunsWatchArgs>,
  handler: action<RunsWatchArgs>(async (argv, state) => {
    if (argv.output !== 'table' && argv.output !== 'wide' && argv.output !== 'json') throw new UsageError(`runs watch prints a live table, or -o json (NDJSON); -o ${argv.output} does not apply`);
    if (argv.history !== undefined && (!Number.isInteger(argv.history) || argv.history < 0 || argv.history > 10_000)) throw new UsageError(`--history must be a whole number from 0 to 10000 (got ${argv.history})`);
    if (!Number.isInteger(argv.maxRows) || argv.maxRows < 1) throw new UsageError(`--max-rows must be a whole number from 1 up (got ${argv.maxRows})`);
    const filter = runFilterFromArgs(argv);
    const table = argv.output !== 'json' && process.stdout.isTTY === true;
    const { withSession } = await import('../session.js');
    const { followRuns, listAllRuns } = await import('../../api/follow-runs.js');
    const { printWarning } = await import('../action.js');
    const { shortReason } = await import('../error-message.js');

    await withSession(argv, state, async ({ client, connection }) => {
      const namespace = argv.allNamespaces ? '*' : connection.namespace;
      const history = argv.history ?? 0;
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        if (!table) {
          const { runEventLine, runSyncLine } = await import('../output/run-printers.js');
          // The list checks runed is there (and the caller may watch) before the follow's retries
          // start, and says which revision "from now" is.
          const listed = await listAllRuns(client, namespace, filter, { limit: 1 });
          await followRuns({
            client,
            namespace,
            filter,
            history,
            fromRevision: history > 0 ? 0 : listed.revision,
            signal: stop.signal,
            onEvent: (event) => void process.stdout.write(runEventLine(event)),
            onRelist: (runs, revision) => {
              printWarning(`events were no longer retained after a reconnect; printing the current runs as run:sync at revision ${revision}, then events after it`, argv.color);
              for (const run of runs) process.stdout.write(runSyncLine(run, revision));
            },
            onRetry: (error, attempt, delayMs, from) =>
              printWarning(`watch interrupted (${error.code}: ${shortReason(error.message)}); reconnecting in ${(delayMs / 1000).toFixed(1)}s (attempt ${attempt}), resuming after revision ${from}`, argv.color),
          });
          return;
        }

        const { RunsWatchView } = await import('../output/runs-watch-view.js');
        const { useColor } = await import('../style.js');
        const maxRows = Math.max(1, Math.min(argv.maxRows, (process.stdout.rows || argv.maxRows + 3) - 3));
        const scope = [argv.allNamespaces ? 'every namespace' : `namespace ${connection.namespace}`, filter.job && `job ${filter.job}`, filter.status.length > 0 && `status ${filter.status.join(',')}`, filter.source && `source ${filter.source}`]
          .filter(Boolean)
          .join(', ');
        const view = new RunsWatchView({ scope, allNamespaces: argv.allNamespaces, wide: argv.output === 'wide', color: useColor(argv.color, process.stdout), maxRows });
        // Without --history the table starts from the current runs (the newest that fit) and follows from the list's revision.
        const listed = await listAllRuns(client, namespace, filter, { limit: history > 0 ? 1 : maxRows });
        if (history === 0) view.relist(listed.runs, listed.revision);
        const screen = new Screen(() => view.render(new Date(), process.stdout.columns ? process.stdout.columns - 1 : undefined));
        try {
          screen.draw();
          await followRuns({
            client,
            namespace,
            filter,
            history,
            fromRevision: history > 0 ? 0 : listed.revision,
            signal: stop.signal,
            onMessage: (message) => {
              view.caughtUp(message.revision);
              screen.soon();
            },
            onEvent: (event) => {
              view.apply(event);
              screen.soon();
            },
            onRelist: (runs: Run[], revision) => {
              view.relist(runs, revision);
              view.setNotice('events were no longer retained: showing the current runs');
              screen.soon();
            },
            onRetry: (error, attempt, delayMs, from) => {
              view.setNotice(`${error.code}: ${shortReason(error.message)}; reconnecting in ${(delayMs / 1000).toFixed(1)}s (attempt ${attempt}), resuming after revision ${from}`);
              screen.draw();
            },
          });
        } finally {
          screen.close();
        }
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
  }),
};

/**
 * Redraws the live table: at most every 50 ms after changes (a burst of events draws once), and
 * every second anyway so ages and durations move. Hides the cursor while live.
 */
class Screen {
  private pending: NodeJS.Timeout | undefined;
  private readonly tick: NodeJS.Timeout;
  private readonly showCursor = () => process.stdout.write('\x1b[?25h');

  constructor(private readonly frame: () => string) {
    process.stdout.write('\x1b[?25l');
    process.once('exit', this.showCursor);
    this.tick = setInterval(() => this.draw(), 1000);
  }

  draw(): void {
    clearTimeout(this.pending);
    this.pending = undefined;
    process.stdout.write(this.frame());
  }

  soon(): void {
    this.pending ??= setTimeout(() => this.draw(), 50);
  }

  close(): void {
    clearInterval(this.tick);
    this.draw();
    this.showCursor();
    process.off('exit', this.showCursor);
  }
}
