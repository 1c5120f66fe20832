/**
 * Wraps a command's work: runs it, and turns anything it throws into `error: ...` on stderr and
 * the exit code (1, or 2 for usage errors), so yargs' own failure handler only ever sees
 * command-line parsing problems.
 */
import type { GlobalArgs } from './global-options.js';
import type { ErrorContext } from './error-message.js';
import { paint, useColor } from './style.js';

/** Mutable per-run facts the error message may use (set once a server is chosen). */
export interface RunState extends ErrorContext {}

/** A yargs handler running `work`; errors are printed and set process.exitCode. */
export function action<A extends GlobalArgs>(work: (argv: A, state: RunState) => Promise<void>): (argv: A) => Promise<void> {
  return async (argv) => {
    const state: RunState = {};
    try {
      await work(argv, state);
    } catch (err) {
      const { describeError } = await import('./error-message.js');
      const { message, exitCode } = describeError(err, state);
      printError(message, argv.color);
      process.exitCode = exitCode;
    }
  };
}

/** Writes `error: message` to stderr (red `error:` on a colour terminal). */
export function printError(message: string, colorFlag?: boolean): void {
  process.stderr.write(`${paint(useColor(colorFlag, process.stderr), 'red', 'error:')} ${message}\n`);
}

/** Writes `warning: message` to stderr. */
export function printWarning(message: string, colorFlag?: boolean): void {
  process.stderr.write(`${paint(useColor(colorFlag, process.stderr), 'yellow', 'warning:')} ${message}\n`);
}
