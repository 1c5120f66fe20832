/**
 * `rune completion`: prints a bash/zsh completion script. The completions themselves are
 * answered by yargs (`rune --get-yargs-completions ...`, registered in main.ts).
 */
import type { Argv, CommandModule } from 'yargs';
import { withHelp, type GlobalArgs } from '../global-options.js';

/** The command, given a way to reach the root yargs instance (which knows every command). */
export function completionCommand(root: () => Argv<GlobalArgs>): CommandModule<GlobalArgs, GlobalArgs> {
  return {
    command: 'completion',
    describe: 'Print a shell completion script (bash or zsh)',
    builder: (y: Argv<GlobalArgs>) =>
      withHelp(y, [
        ['source <(rune completion)', 'Enable completion in the current shell'],
        ['rune completion >> ~/.bashrc', 'Enable it for every new bash (use ~/.zshrc for zsh)'],
      ]),
    handler: () => {
      (root() as Argv<GlobalArgs> & { showCompletionScript($0?: string, cmd?: string): unknown }).showCompletionScript('rune', 'completion');
    },
  };
}
