/**
 * `rune lint FILE...`: the checks `rune cast` runs before sending, without sending. Needs no
 * server and no token.
 */
import type { Argv, CommandModule } from 'yargs';
import { action } from '../action.js';
import { withHelp, type GlobalArgs } from '../global-options.js';

export interface LintArgs extends GlobalArgs {
  files: string[];
}

export const lintCommand: CommandModule<GlobalArgs, LintArgs> = {
  command: 'lint <files..>',
  describe: 'Check cast files without sending them',
  builder: (y: Argv<GlobalArgs>) =>
    withHelp(y.positional('files', { type: 'string', array: true, describe: 'Cast files or directories; - reads stdin', demandOption: true }), [
      ['rune lint web.yml', 'Check one file'],
      ['rune lint deploy/', 'Check every .yaml, .yml and .json file in a directory'],
      ['cat web.yml | rune lint -', 'Check stdin'],
    ]) as unknown as Argv<LintArgs>,
  handler: action<LintArgs>(async (argv) => {
    const { connectionFor } = await import('../connection.js');
    const { loadCastFiles } = await import('../cast-input.js');
    const { formatLintError } = await import('../../../shared/spec/cast-file.js');
    const connection = await connectionFor(argv);
    const input = await loadCastFiles(argv.files, {
      defaultNamespace: connection.namespace,
      requireNamespace: connection.namespaceExplicit ? connection.namespace : undefined,
    });
    if (input.errors.length > 0) {
      for (const error of input.errors) process.stderr.write(formatLintError(error) + '\n');
      process.stderr.write(`${input.errors.length} problem${input.errors.length === 1 ? '' : 's'} in ${plural(input.files.length, 'file')}\n`);
      process.exitCode = 1;
      return;
    }
    for (const file of input.files) {
      const count = input.documents.filter((d) => d.file === file).length;
      process.stdout.write(`${file}: ok (${plural(count, 'object')})\n`);
    }
  }),
};

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
