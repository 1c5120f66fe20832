/**
 * The flags every `rune` command takes, defined once, and the help conventions every command
 * follows (an example, the exit codes). Kept free of heavy imports: main.ts loads it at startup.
 */
import type { Argv, Options } from 'yargs';

export const OUTPUT_FORMATS = ['table', 'wide', 'json', 'yaml', 'name'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** Parsed global flags. Unset flags are undefined so the resolver can fall back to env and context. */
export interface GlobalArgs {
  server?: string;
  token?: string;
  tokenFile?: string;
  ca?: string;
  cert?: string;
  key?: string;
  context?: string;
  namespace?: string;
  output: OutputFormat;
  color: boolean;
  timeout: number;
}

export const globalOptions = {
  server: { type: 'string', describe: 'runed gRPC address host:port, or tls://host:port to connect with TLS [env RUNE_SERVER; default: the context\'s, else 127.0.0.1:7863]', global: true, requiresArg: true },
  token: { type: 'string', describe: 'Bearer token [env RUNE_TOKEN; default: the context\'s]', global: true, requiresArg: true },
  'token-file': { type: 'string', describe: 'File holding the bearer token [env RUNE_TOKEN_FILE]', global: true, requiresArg: true, normalize: true },
  ca: { type: 'string', describe: 'PEM file of the CA that signed runed\'s certificate; connects with TLS [env RUNE_CA; default: the context\'s]', global: true, requiresArg: true, normalize: true },
  cert: { type: 'string', describe: 'PEM client certificate, for runed\'s mutual TLS (with --key) [env RUNE_CERT; default: the context\'s]', global: true, requiresArg: true, normalize: true },
  key: { type: 'string', describe: 'PEM private key of --cert [env RUNE_KEY; default: the context\'s]', global: true, requiresArg: true, normalize: true },
  context: { type: 'string', describe: 'Context from the client config to use [default: currentContext]', global: true, requiresArg: true },
  namespace: { alias: 'n', type: 'string', describe: 'Namespace [env RUNE_NAMESPACE; default: the context\'s, else "default"]', global: true, requiresArg: true },
  output: { alias: 'o', choices: OUTPUT_FORMATS, default: 'table' as OutputFormat, describe: 'Output format', global: true, requiresArg: true },
  color: { type: 'boolean', default: true, describe: 'Colorize output (--no-color, or set NO_COLOR, to disable)', global: true },
  timeout: { type: 'number', default: 10, describe: 'Deadline of each API call, in seconds', global: true, requiresArg: true },
} as const satisfies Record<string, Options>;

export const EXIT_CODES = 'Exit codes: 0 success, 1 error (server, file or lint problem), 2 usage error (bad command, flag or argument).';

/** Adds a command's examples and its exit-code note (the standard one unless the command has its own) to its help. */
export function withHelp<T>(y: Argv<T>, examples: ReadonlyArray<readonly [command: string, description: string]>, exitCodes: string = EXIT_CODES): Argv<T> {
  for (const [command, description] of examples) y = y.example(command, description);
  return y.epilog(exitCodes);
}

/** What main.ts turns a lone "-" argument (stdin) into, since yargs drops "-". */
export const STDIN_ARG = '<stdin>';

/** Thrown for a bad command line: printed with a pointer to --help, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
