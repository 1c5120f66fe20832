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
    const { loadLintedCastFiles } = await import('../cast-input.js');
    const connection = await connectionFor(argv);
    const input = await loadLintedCastFiles(argv.files, connection, (n, all) => `${n} problem${n === 1 ? '' : 's'} in ${plural(all.files.length, 'file')}`);
    if (!input) return;
    for (const file of input.files) {
      const count = input.documents.filter((d) => d.file === file).length;
      process.stdout.write(`${file}: ok (${plural(count, 'object')})\n`);
    }
  }),
};

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
