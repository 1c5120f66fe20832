/**
 * How a failed command reads on stderr: `error: <what went wrong>; <what to do>`, and which
 * exit code it gets (2 for usage errors, 1 for everything else). gRPC failures get advice:
 * UNAVAILABLE says runed is not reachable and how to start it, UNAUTHENTICATED how to log in,
 * DEADLINE_EXCEEDED which flag raises the deadline.
 */
import { RuneError } from '../../shared/errors.js';
import { loginHint } from './login-hint.js';
import { UsageError } from './global-options.js';

export interface ErrorContext {
  /** The server the command talked to, when it got that far. */
  server?: string;
  timeoutSeconds?: number;
}

export interface DescribedError {
  message: string;
  exitCode: 1 | 2;
}

/** The message (without the `error: ` prefix) and exit code for anything a command threw. */
export function describeError(err: unknown, context: ErrorContext = {}): DescribedError {
  if (err instanceof UsageError) return { message: `${err.message}\nRun with --help for usage.`, exitCode: 2 };
  if (!(err instanceof RuneError)) return { message: err instanceof Error ? err.message : String(err), exitCode: 1 };
  const server = context.server ?? 'the server';
  switch (err.code) {
    case 'UNAVAILABLE': {
      const reason = shortReason(err.message);
      return {
        message:
          `runed is not reachable at ${server} (${reason}).\n` +
          `Start it with "npm start" in the rune checkout (or run "runed"), or point rune at another address with --server or RUNE_SERVER.`,
        exitCode: 1,
      };
    }
    case 'UNAUTHENTICATED': {
      if (/rune login/.test(err.message)) return { message: err.message.replace(/\bADDR\b/g, server), exitCode: 1 };
      return { message: `${err.message}; ${loginHint(server)}`, exitCode: 1 };
    }
    case 'DEADLINE_EXCEEDED':
      return { message: `runed at ${server} did not answer within ${context.timeoutSeconds ?? 10}s (${err.message}); try again, or raise --timeout`, exitCode: 1 };
    default:
      return { message: err.message, exitCode: 1 };
  }
}

/** grpc-js says "No connection established. Last error: Error: connect ECONNREFUSED ...": keep the errno. */
export function shortReason(message: string): string {
  return /connect (E[A-Z]+)/.exec(message)?.[1] ?? message;
}
