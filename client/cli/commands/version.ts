/**
 * `rune version`: the client's version, then runed's. When runed cannot be asked, the client
 * version is still printed and the command exits 1.
 */
import type { Argv, CommandModule } from 'yargs';
import { action } from '../action.js';
import { withHelp, type GlobalArgs } from '../global-options.js';

export const versionCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'version',
  describe: 'Print the client and server versions',
  builder: (y: Argv<GlobalArgs>) => withHelp(y, [['rune version', 'Both versions'], ['rune version -o json', 'As JSON']]),
  handler: action<GlobalArgs>(async (argv, state) => {
    const { runeVersion } = await import('../../../shared/version.js');
    const clientVersion = { version: runeVersion(), nodeVersion: process.version };
    const structured = argv.output === 'json' || argv.output === 'yaml';
    const emit = async (value: unknown) => {
      if (argv.output === 'json') process.stdout.write(JSON.stringify(value, null, 2) + '\n');
      else process.stdout.write((await import('yaml')).stringify(value));
    };
    if (!structured) process.stdout.write(`Client Version: ${clientVersion.version} (node ${clientVersion.nodeVersion})\n`);
    const { withSession } = await import('../session.js');
    try {
      await withSession(argv, state, async ({ client }) => {
        const server = await client.getVersion();
        if (structured) {
          const { GetVersionResponse } = await import('../../../shared/gen/rune/v1/system_service.js');
          await emit({ clientVersion, serverVersion: GetVersionResponse.toJSON(server) });
        } else {
          process.stdout.write(`Server Version: ${server.version} (node ${server.nodeVersion}, store ${server.store}, revision ${server.revision})\n`);
        }
      });
    } catch (err) {
      if (structured) await emit({ clientVersion });
      throw err;
    }
  }),
};
