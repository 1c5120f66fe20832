#!/usr/bin/env node
/**
 * `rune`, the Rune CLI: a pure client of runed's gRPC API. Global flags are defined once
 * (global-options.ts); each command lives in commands/<name>.ts and imports what it needs
 * (grpc-js, the cast-file schema, output formatting) only when it runs, so `rune --help` and
 * completion stay fast.
 *
 * Exit codes: 0 success, 1 error, 2 usage error (exec: the remote command's; see its --help).
 */
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { printError } from './action.js';
import { adminCommand } from './commands/admin.js';
import { castCommand } from './commands/cast.js';
import { completionCommand } from './commands/completion.js';
import { configCommand } from './commands/config.js';
import { deleteCommand } from './commands/delete.js';
import { execCommand } from './commands/exec.js';
import { describeCommand } from './commands/describe.js';
import { getCommand } from './commands/get.js';
import { lintCommand } from './commands/lint.js';
import { loginCommand } from './commands/login.js';
import { logsCommand } from './commands/logs.js';
import { namespaceCommand } from './commands/namespace.js';
import { configMapCommand } from './commands/configmap.js';
import { secretCommand } from './commands/secret.js';
import { restartCommand } from './commands/restart.js';
import { runsCommand } from './commands/runs.js';
import { scaleCommand } from './commands/scale.js';
import { versionCommand } from './commands/version.js';
import { whoamiCommand } from './commands/whoami.js';
import { runeVersion } from '../../shared/version.js';
import { COMMAND_KINDS, RESOURCES } from './resources.js';
import { EXIT_CODES, globalOptions, STDIN_ARG, type GlobalArgs } from './global-options.js';

// `rune get ... | head` closes stdout early: that is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

// yargs drops a lone "-"; pass it through under a name it keeps (cast-input.ts reads stdin for it).
const rawArgs = hideBin(process.argv);
const args = rawArgs.includes('--get-yargs-completions') ? rawArgs : rawArgs.map((arg) => (arg === '-' ? STDIN_ARG : arg));

// `rune --version`: the client version, as rune.cjs (the bin) answers it without loading yargs. Not
// yargs' version flag: that one is global and would take `rune secret get --version 2` too.
const versionAsked = args[0] === '--version' || args[0] === '-v';
if (versionAsked) process.stdout.write(`rune ${runeVersion()}\n`);

const cli: Argv<GlobalArgs> = (yargs(args) as unknown as Argv)
  .scriptName('rune')
  .usage('rune <command> [options]\nrune --version   (the client version; -v too)\n\nThe Rune CLI: cast services and jobs onto runed; list, watch, scale, restart and delete them; read their logs and exec into their instances; start runs of jobs and watch them live.')
  .options(globalOptions)
  .command(castCommand)
  .command(lintCommand)
  .command(getCommand)
  .command(describeCommand)
  .command(deleteCommand)
  .command(scaleCommand)
  .command(restartCommand)
  .command(logsCommand)
  .command(runsCommand)
  .command(execCommand)
  .command(namespaceCommand)
  .command(secretCommand)
  .command(configMapCommand)
  .command(loginCommand)
  .command(whoamiCommand)
  .command(adminCommand)
  .command(configCommand)
  .command(versionCommand)
  .command(completionCommand(() => cli))
  // Answers `--get-yargs-completions` for the script `rune completion` prints; the command of
  // that name is hidden because `completion` above prints the script with proper help.
  .completion('__complete', false, completeWords)
  .demandCommand(1, 'Name a command (see the list above).')
  .recommendCommands()
  .strict()
  .version(false)
  .help()
  .alias('h', 'help')
  .epilog(EXIT_CODES)
  .wrap(Math.min(120, process.stdout.columns || 100))
  .fail((message, error, y) => {
    // Only parsing problems arrive here: command handlers report their own errors (action.ts).
    if (error && !message) throw error;
    void y;
    const text = message.startsWith('Did you mean') ? `unknown command. ${message}` : message;
    printError(`${text}\nRun "rune --help" or "rune <command> --help" for usage.`);
    process.exit(2);
  }) as unknown as Argv<GlobalArgs>;

if (!versionAsked) await cli.parseAsync();

/** Shell completion: resource words after get/describe/delete, yargs' defaults everywhere else. */
function completeWords(current: string, argv: { _: Array<string | number> }, defaults: (done: (err: Error | null, words: string[] | undefined) => void) => void, done: (words: string[]) => void): void {
  const words = argv._.map(String); // ["rune", "get", "<current>"]
  const kinds = COMMAND_KINDS[words[1] as keyof typeof COMMAND_KINDS];
  if (words.length === 3 && kinds) {
    done(kinds.flatMap((kind) => RESOURCES[kind]).filter((w) => w.startsWith(current)));
    return;
  }
  defaults((_err, completions) => done(completions ?? []));
}
