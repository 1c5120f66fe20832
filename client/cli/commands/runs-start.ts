/**
 * `rune runs start JOB`: starts a run of a job now (whatever its schedule, suspend flag or
 * concurrency policy), with optional `--env K=V` overrides; `--wait` follows it until it ends.
 */
import type { Argv, CommandModule } from 'yargs';
import type { Run } from '../../../shared/gen/rune/v1/run.js';
import { action } from '../action.js';
import { withHelp, type GlobalArgs } from '../global-options.js';

export interface RunsStartArgs extends GlobalArgs {
  job: string;
  env: string[];
  wait: boolean;
}

export const runsStartCommand: CommandModule<GlobalArgs, RunsStartArgs> = {
  command: 'start <job>',
  describe: 'Start a run of a job now; --wait follows it to the end',
  builder: (y: Argv<GlobalArgs>) =>
    withHelp(
      y
        .positional('job', { type: 'string', describe: 'Job name (see "rune get jobs")', demandOption: true })
        .option('env', { alias: 'e', type: 'string', array: true, default: [] as string[], requiresArg: true, describe: 'NAME=VALUE for this run only, over the job\'s env (repeat for several)' })
        .option('wait', { alias: 'w', type: 'boolean', default: false, describe: 'Follow the run until it ends: exit 0 if it finished, 1 if it failed or was cancelled' }),
      [
        ['rune runs start backup', 'Prints run/<id> started'],
        ['rune runs start backup --env DRY_RUN=1 --wait', 'A run with an extra variable, followed to its end (progress on a terminal)'],
        ['rune runs start backup -o name', 'run/<id> only, for scripts'],
      ],
      'Exit codes: 0 started (with --wait: the run finished), 1 error (with --wait: the run failed, was cancelled or deleted), 2 usage error, 130 Ctrl-C while --wait waits (the run goes on).',
    ) as unknown as Argv<RunsStartArgs>,
  handler: action<RunsStartArgs>(async (argv, state) => {
    const { parseEnvOverrides } = await import('../run-args.js');
    const env = parseEnvOverrides(argv.env);
    const { withSession } = await import('../session.js');
    await withSession(argv, state, async ({ client, connection }) => {
      const { run } = await client.startRun({ namespace: connection.namespace, job: argv.job, env });
      const id = run?.metadata?.name ?? '';
      if (argv.output === 'json' || argv.output === 'yaml' || argv.output === 'name') {
        const { formatOne } = await import('../output/printers.js');
        const { runPrinter } = await import('../output/run-printers.js');
        process.stdout.write(formatOne(runPrinter, run!, argv.output, { wide: false, allNamespaces: false, now: new Date() }));
      } else {
        process.stdout.write(`run/${id} started\n`);
      }
      if (!argv.wait) return;

      const { waitForRun } = await import('../wait-for-run.js');
      const { runStateLine, runPhase } = await import('../output/run-printers.js');
      const { printError, printWarning } = await import('../action.js');
      const { shortReason } = await import('../error-message.js');
      const { useColor } = await import('../style.js');
      // Machine-readable output keeps stdout to itself: the progress goes to stderr then.
      const machine = argv.output === 'json' || argv.output === 'yaml' || argv.output === 'name';
      const progress = machine ? process.stderr : process.stdout;
      const live = progress.isTTY === true;
      const color = useColor(argv.color, progress);
      let lastShown = '';
      const show = (current: Run) => {
        if (live) {
          progress.write(`\r\x1b[2K${runStateLine(current, new Date(), color)}`);
          return;
        }
        const key = `${runPhase(current)} ${current.status?.reason ?? ''}`; // a line per phase change
        if (key !== lastShown) progress.write(`${runStateLine(current, new Date(), false)}\n`);
        lastShown = key;
      };
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      let outcome;
      try {
        outcome = await waitForRun({
          client,
          run: run!,
          signal: stop.signal,
          onUpdate: show,
          onRetry: (error, attempt, delayMs) =>
            printWarning(`${live ? '\n' : ''}watch interrupted (${error.code}: ${shortReason(error.message)}); reconnecting in ${(delayMs / 1000).toFixed(1)}s (attempt ${attempt})`, argv.color),
        });
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        if (live) progress.write('\n');
      }
      if (outcome === undefined) {
        printWarning(`stopped waiting; run/${id} goes on ("rune runs cancel ${id}" stops it)`, argv.color);
        process.exitCode = 130;
        return;
      }
      const phase = runPhase(outcome.run);
      if (outcome.deleted) {
        printError(`run/${id} was deleted before it ended`, argv.color);
        process.exitCode = 1;
      } else if (phase !== 'finished') {
        const why = [outcome.run.status?.reason, outcome.run.status?.message].filter(Boolean).join(': ');
        printError(`run/${id} ${phase}${why ? ` (${why})` : ''}; see "rune runs show ${id}" and "rune runs logs ${id}"`, argv.color);
        process.exitCode = 1;
      }
    });
  }),
};
