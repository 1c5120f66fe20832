/**
 * The local end of `rune exec`: wires an ExecCall to a terminal. Output bytes go to stdout and
 * stderr as they come (waiting when they are full); with `stdin`, local input is sent on and
 * its end closes the command's stdin (without it, the command's stdin is closed at once); with
 * `tty`, the local terminal is put in raw mode while the command runs (restored on every exit
 * path) and size changes are sent on.
 */
import { constants } from 'node:os';
import { RuneError } from '../../shared/errors.js';
import type { ExecExit } from '../../shared/gen/rune/v1/exec_service.js';
import type { ExecCall } from '../api/rune-client.js';

/** The local side: process.stdin/stdout/stderr in the CLI, fakes in tests. */
export interface ExecTerminal {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?(mode: boolean): unknown };
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** The terminal's size, when stdout is a terminal. */
  size(): { rows: number; cols: number } | undefined;
  /** Calls `listener` after each size change (SIGWINCH); returns the unsubscribe. */
  onResize(listener: () => void): () => void;
}

export interface ExecSessionOptions {
  /** Pipe local stdin to the command (-i). */
  stdin: boolean;
  /** The command runs on a terminal (-t): raw local input when it is piped from a terminal, resizes sent on. */
  tty: boolean;
}

/**
 * Runs the session to its end. Resolves with the exit code the CLI should exit with (see
 * exitCodeOf), or undefined when the call was cancelled (e.g. Ctrl-C without a tty); rejects
 * with the call's RuneError, or UNAVAILABLE when the stream ended without an exit status.
 */
export async function runExecSession(call: ExecCall, terminal: ExecTerminal, options: ExecSessionOptions): Promise<number | undefined> {
  const { stdin } = terminal;
  const raw = options.tty && options.stdin && stdin.isTTY === true && typeof stdin.setRawMode === 'function';
  const cleanups: Array<() => void> = [];
  try {
    if (raw) {
      stdin.setRawMode!(true);
      cleanups.push(() => stdin.setRawMode!(false));
    }
    if (options.tty) {
      cleanups.push(
        terminal.onResize(() => {
          const size = terminal.size();
          if (size) call.resize(size);
        }),
      );
    }
    if (options.stdin) cleanups.push(pipeStdin(call, stdin));
    else call.closeStdin();

    for await (const response of call.responses()) {
      if (response.stdout) await write(terminal.stdout, response.stdout);
      else if (response.stderr) await write(terminal.stderr, response.stderr);
      else if (response.exit) return exitCodeOf(response.exit);
    }
    return undefined; // cancelled, or the stream ended early (below)
  } finally {
    for (const cleanup of cleanups.reverse()) {
      try {
        cleanup();
      } catch {
        // restoring the terminal must not hide the command's outcome
      }
    }
  }
}

/** Thrown by the command when runExecSession ended without an exit status and was not cancelled. */
export function missingExit(): RuneError {
  return new RuneError('UNAVAILABLE', 'the exec stream ended before the command\'s exit status arrived; the command may still be running');
}

/**
 * The CLI's exit code for the command's exit: its code, 128 + the signal number when a signal
 * killed it (SIGKILL → 137), 255 when runed could not tell (code -1, unknown signal).
 */
export function exitCodeOf(exit: Pick<ExecExit, 'code' | 'signal'>): number {
  if (exit.signal) {
    const name = (exit.signal.toUpperCase().startsWith('SIG') ? exit.signal.toUpperCase() : `SIG${exit.signal.toUpperCase()}`) as keyof typeof constants.signals;
    const number = constants.signals[name];
    return number === undefined ? 255 : 128 + number;
  }
  if (exit.code < 0) return 255;
  return exit.code & 0xff;
}

/** Sends local stdin on until it ends (then closes the command's stdin); returns the unsubscribe. */
function pipeStdin(call: ExecCall, stdin: ExecTerminal['stdin']): () => void {
  const onData = (chunk: Buffer | string) => {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    if (!call.writeStdin(bytes)) {
      stdin.pause(); // the stream is full: wait for it before reading more
      void call.drained().then(() => stdin.resume());
    }
  };
  const onEnd = () => call.closeStdin();
  stdin.on('data', onData);
  stdin.once('end', onEnd);
  stdin.resume();
  return () => {
    stdin.off('data', onData);
    stdin.off('end', onEnd);
    stdin.pause();
  };
}

function write(stream: NodeJS.WritableStream, bytes: Uint8Array): Promise<void> | void {
  if (stream.write(bytes)) return;
  return new Promise((resolve) => stream.once('drain', () => resolve()));
}
