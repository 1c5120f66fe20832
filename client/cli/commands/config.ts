/**
 * `rune config get-contexts | use-context NAME | current-context`: the client config file
 * ($RUNE_CONFIG, else ~/.rune/config.yaml). Tokens are never printed.
 */
import type { Argv, CommandModule } from 'yargs';
import { action } from '../action.js';
import { withHelp, type GlobalArgs } from '../global-options.js';

interface UseContextArgs extends GlobalArgs {
  name: string;
}

const getContexts: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'get-contexts',
  describe: 'List the contexts (* marks the current one)',
  builder: (y: Argv<GlobalArgs>) => withHelp(y, [['rune config get-contexts', 'List contexts'], ['rune config get-contexts -o yaml', 'As YAML (tokens redacted)']]),
  handler: action<GlobalArgs>(async (argv) => {
    const { clientConfigPath, readClientConfig } = await import('../../../shared/config/client-config.js');
    const path = clientConfigPath(process.env);
    const config = await readClientConfig(path);
    const contexts = config?.contexts ?? [];
    const redacted = contexts.map((c) => ({ ...c, ...(c.token !== undefined ? { token: '<redacted>' } : {}) }));
    switch (argv.output) {
      case 'json':
        process.stdout.write(JSON.stringify({ currentContext: config?.currentContext ?? '', contexts: redacted }, null, 2) + '\n');
        return;
      case 'yaml': {
        const { stringify } = await import('yaml');
        process.stdout.write(stringify({ currentContext: config?.currentContext ?? '', contexts: redacted }));
        return;
      }
      case 'name':
        process.stdout.write(contexts.map((c) => c.name + '\n').join(''));
        return;
    }
    if (contexts.length === 0) {
      process.stderr.write(`No contexts in ${path}; add one with "rune login".\n`);
      return;
    }
    const { renderTable } = await import('../output/table.js');
    const rows = contexts.map((c) => [c.name === config?.currentContext ? '*' : '', c.name, c.server, c.namespace ?? 'default', c.tokenFile ? `token file ${c.tokenFile}` : c.token ? 'token' : '<none>']);
    process.stdout.write(renderTable(['CURRENT', 'NAME', 'SERVER', 'NAMESPACE', 'AUTH'], rows));
  }),
};

const useContext: CommandModule<GlobalArgs, UseContextArgs> = {
  command: 'use-context <name>',
  describe: 'Make a context the current one',
  builder: (y: Argv<GlobalArgs>) =>
    withHelp(y.positional('name', { type: 'string', describe: 'Context name', demandOption: true }), [['rune config use-context lab', 'Switch to the context named lab']]) as unknown as Argv<UseContextArgs>,
  handler: action<UseContextArgs>(async (argv) => {
    const { clientConfigPath, readClientConfig, writeClientConfig } = await import('../../../shared/config/client-config.js');
    const { RuneError } = await import('../../../shared/errors.js');
    const path = clientConfigPath(process.env);
    const config = await readClientConfig(path);
    const names = config?.contexts.map((c) => c.name) ?? [];
    if (!config || !names.includes(argv.name)) {
      throw new RuneError('NOT_FOUND', `no context "${argv.name}" in ${path}; ${names.length > 0 ? `known contexts: ${names.join(', ')}` : 'add one with "rune login"'}`);
    }
    await writeClientConfig(path, { ...config, currentContext: argv.name });
    process.stdout.write(`Switched to context "${argv.name}".\n`);
  }),
};

const currentContext: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'current-context',
  describe: 'Print the name of the current context',
  builder: (y: Argv<GlobalArgs>) => withHelp(y, [['rune config current-context', 'Print it']]),
  handler: action<GlobalArgs>(async () => {
    const { clientConfigPath, readClientConfig } = await import('../../../shared/config/client-config.js');
    const { RuneError } = await import('../../../shared/errors.js');
    const path = clientConfigPath(process.env);
    const config = await readClientConfig(path);
    if (!config?.currentContext) throw new RuneError('NOT_FOUND', `no current context in ${path}; log in with "rune login" or pick one with "rune config use-context NAME"`);
    process.stdout.write(config.currentContext + '\n');
  }),
};

export const configCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'config',
  describe: 'Show and switch client contexts (server, credentials, namespace)',
  builder: (y: Argv<GlobalArgs>) =>
    withHelp(y.command(getContexts).command(useContext).command(currentContext).demandCommand(1, 'Name a config subcommand: get-contexts, use-context or current-context'), [
      ['rune config get-contexts', 'List contexts'],
      ['rune config use-context default', 'Switch context'],
    ]),
  handler: () => undefined,
};
