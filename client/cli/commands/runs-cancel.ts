/**
 * `rune runs cancel RUN...`: asks runed to stop active runs (their process gets the job's stop
 * signal, then SIGKILL); each ends `cancelled`. Prints `run/ID cancel requested` (or `cancelled`
 * when it already is), or says the run had already ended. Keeps going after a failure and exits 1 if any failed.
 */
import type { Argv, CommandModule } from 'yargs';
import { action } from '../action.js';
import { withHelp, type GlobalArgs } from '../global-options.js';
import { runId } from '../run-args.js';

export interface RunsCancelArgs extends GlobalArgs {
  runs: string[];
  reason?: string;
}

export const runsCancelCommand: CommandModule<GlobalArgs, RunsCancelArgs> = {
  command: 'cancel <runs..>',
  describe: 'Stop active runs (they end cancelled)',
  builder: (y: Argv<GlobalArgs>) =>
    withHelp(
      y
        .positional('runs', { type: 'string', array: true, describe: 'Run IDs, or run/ID', demandOption: true })
        .option('reason', { type: 'string', requiresArg: true, describe: 'Why: recorded in the run\'s message' }),
      [
        ['rune runs cancel 01jd8y3k6m2q7v9w0x1y2z3a4b', 'Stop one run'],
        ['rune runs cancel $(rune runs list --job backup --status running -o name) --reason "maintenance"', 'Stop every running run of job backup'],
      ],
    ) as unknown as Argv<RunsCancelArgs>,
  handler: action<RunsCancelArgs>(async (argv, state) => {
    const ids = argv.runs.map(runId);
    const { withSession } = await import('../session.js');
    const { RuneError } = await import('../../../shared/errors.js');
    const { printError } = await import('../action.js');
    const { describeError } = await import('../error-message.js');
    const { runPhase, TERMINAL_PHASES } = await import('../output/run-printers.js');
    await withSession(argv, state, async ({ client, connection }) => {
      let failed = 0;
      for (const id of ids) {
        try {
          const { run } = await client.cancelRun({ namespace: connection.namespace, id, reason: argv.reason ?? '' });
          const phase = run ? runPhase(run) : '';
          // A run that ended before the call says so; a pending one may be cancelled at once.
          const said = phase === 'cancelled' ? 'cancelled' : TERMINAL_PHASES.has(phase) ? `already ${phase}` : 'cancel requested';
          process.stdout.write(`run/${id} ${said}\n`);
        } catch (err) {
          const error = RuneError.from(err);
          if (error.code === 'UNAVAILABLE' || error.code === 'UNAUTHENTICATED') throw error;
          failed++;
          printError(`run/${id}: ${describeError(error, state).message}`, argv.color);
        }
      }
      if (failed > 0) process.exitCode = 1;
    });
  }),
};
