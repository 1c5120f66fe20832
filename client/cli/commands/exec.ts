/**
 * `rune exec INSTANCE [-i] [-t] -- CMD ARGS...`: runs a command in an instance's environment
 * and exits with its exit code. Everything after `--` is the remote command, so its flags never
 * reach rune's parser.
 */
import type { Argv, CommandModule } from 'yargs';
import { action } from '../action.js';
import { UsageError, withHelp, type GlobalArgs } from '../global-options.js';

export interface ExecArgs extends GlobalArgs {
  instance: string;
  /** Words after INSTANCE but before `--`: a mistake, reported with the fix. */
  command?: string[];
  /** Words after `--` (yargs' populate--). */
  '--'?: Array<string | number>;
  stdin: boolean;
  tty: boolean;
}

/**
 * The remote command from the parsed arguments: the words after `--`. UsageError when there
 * are none, or when command words came before `--` (they would have been parsed as rune flags).
 */
export function execCommandLine(argv: Pick<ExecArgs, 'instance' | 'command' | '--'>): string[] {
  const before = (argv.command ?? []).map(String);
  const after = (argv['--'] ?? []).map(String);
  if (before.length > 0) {
    throw new UsageError(`put the command after "--" so its flags are not read as rune's: rune exec ${argv.instance} -- ${[...before, ...after].join(' ')}`);
  }
  if (after.length === 0) throw new UsageError(`name the command to run after "--", e.g. rune exec ${argv.instance} -- sh`);
  return after;
}

const EXEC_EXIT_CODES =
  'Exit codes: the command\'s own exit code; 128 + N when signal N killed it (137 for SIGKILL); 255 when runed could not tell; ' +
  '130 when interrupted with Ctrl-C (without -t); 1 when rune could not run it (no such instance, runed unreachable, ...); 2 usage error.';

export const execCommand: CommandModule<GlobalArgs, ExecArgs> = {
  command: 'exec <instance> [command..]',
  describe: 'Run a command in an instance (its working directory and environment)',
  builder: (y: Argv<GlobalArgs>) =>
    withHelp(
      y
        .parserConfiguration({ 'populate--': true })
        .usage('rune exec <instance> [-i] [-t] -- <command> [args...]\n\nRun a command in an instance (its working directory and environment).')
        .positional('instance', { type: 'string', describe: 'Instance ID (see "rune get instances")', demandOption: true })
        .positional('command', { type: 'string', array: true, hidden: true })
        .option('stdin', { alias: 'i', type: 'boolean', default: false, describe: 'Send local stdin to the command (else its stdin is empty)' })
        .option('tty', { alias: 't', type: 'boolean', default: false, describe: 'Run the command on a terminal of the local terminal\'s size (use with -i for a shell)' }),
      [
        ['rune exec web-7f3k2 -- ls -la', 'List the instance\'s working directory'],
        ['rune exec -it web-7f3k2 -- sh', 'An interactive shell'],
        ['rune exec -i web-7f3k2 -- psql < dump.sql', 'Feed a file to a command'],
        ['rune exec web-7f3k2 -- test -f /tmp/ready && echo ready', 'Use the exit code in a script'],
      ],
      EXEC_EXIT_CODES,
    ) as unknown as Argv<ExecArgs>,
  handler: action<ExecArgs>(async (argv, state) => {
    const command = execCommandLine(argv);
    const { withSession } = await import('../session.js');
    const { missingExit, runExecSession } = await import('../exec-session.js');
    const { printWarning } = await import('../action.js');
    let tty = argv.tty;
    if (tty && argv.stdin && !process.stdin.isTTY) {
      printWarning('-t: stdin is not a terminal, so the command runs without one', argv.color);
      tty = false;
    }
    const size = () => (process.stdout.isTTY ? { rows: process.stdout.rows, cols: process.stdout.columns } : undefined);

    await withSession(argv, state, async ({ client, connection }) => {
      const stop = new AbortController();
      let interrupted: NodeJS.Signals | undefined;
      const onSignal = (signal: NodeJS.Signals) => {
        interrupted = signal;
        stop.abort();
      };
      // In raw mode Ctrl-C reaches the command as a byte; otherwise it ends the call here.
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      // Should anything end the process early, leave the terminal as it was found.
      const restore = () => (process.stdin.isTTY ? process.stdin.setRawMode(false) : undefined);
      process.once('exit', restore);
      try {
        const call = client.exec({ namespace: connection.namespace, instance: argv.instance, command, tty, size: tty ? size() : undefined }, { signal: stop.signal });
        const code = await runExecSession(call, {
          stdin: process.stdin,
          stdout: process.stdout,
          stderr: process.stderr,
          size,
          onResize: (listener) => {
            process.stdout.on('resize', listener); // emitted on SIGWINCH
            return () => process.stdout.off('resize', listener);
          },
        }, { stdin: argv.stdin, tty });
        if (code !== undefined) process.exitCode = code;
        else if (interrupted) process.exitCode = interrupted === 'SIGINT' ? 130 : 143;
        else throw missingExit();
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        process.off('exit', restore);
      }
    });
  }),
};
