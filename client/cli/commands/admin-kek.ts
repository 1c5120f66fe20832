/**
 * `rune admin kek status|rotate`: the key-encryption key that wraps every secret's data key.
 * Rotation is done by runed while it keeps serving: it generates a new KEK, re-wraps every
 * secret version's data key under it, then replaces its KEK file (0600); the old KEK opens
 * nothing afterwards. A KEK given in RUNE_KEK cannot be rotated this way (runed cannot rewrite
 * its environment): run runed with --kek-file instead.
 */
import type { Argv, CommandModule } from 'yargs';
import { action } from '../action.js';
import { withHelp, type GlobalArgs } from '../global-options.js';

const status: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'status',
  describe: 'Show the KEK in use (its id, never the key), where it comes from, and how many secret versions it wraps',
  builder: (y: Argv<GlobalArgs>) => withHelp(y, [['rune admin kek status', 'KEK ID, SOURCE, FILE, VERSIONS']]),
  handler: action<GlobalArgs>(async (argv, state) => {
    const { withSession } = await import('../session.js');
    await withSession(argv, state, async ({ client }) => {
      const s = await client.getKekStatus();
      if (argv.output === 'json' || argv.output === 'yaml') {
        const { GetKekStatusResponse } = await import('../../../shared/gen/rune/v1/kek_service.js');
        const json = GetKekStatusResponse.toJSON(s);
        process.stdout.write(argv.output === 'json' ? JSON.stringify(json, null, 2) + '\n' : (await import('yaml')).stringify(json));
        return;
      }
      const { renderTable } = await import('../output/table.js');
      process.stdout.write(renderTable(['KEK ID', 'SOURCE', 'FILE', 'SECRET VERSIONS', 'ON THIS KEK'], [[s.kekId, s.source, s.kekFile || '<none>', String(s.secretVersions), String(s.versionsOnCurrentKek)]]));
    });
  }),
};

const rotate: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'rotate',
  describe: 'Generate a new KEK and re-wrap every secret under it, without downtime; the old KEK stops working',
  builder: (y: Argv<GlobalArgs>) =>
    withHelp(y, [
      ['rune admin kek rotate', 'Rotate; prints the old and new KEK ids'],
      ['rune admin kek rotate --timeout 120', 'With many secrets: a longer deadline'],
    ]),
  handler: action<GlobalArgs>(async (argv, state) => {
    const { withSession } = await import('../session.js');
    await withSession(argv, state, async ({ client }) => {
      const r = await client.rotateKek();
      if (argv.output === 'json' || argv.output === 'yaml') {
        const { RotateKekResponse } = await import('../../../shared/gen/rune/v1/kek_service.js');
        const json = RotateKekResponse.toJSON(r);
        process.stdout.write(argv.output === 'json' ? JSON.stringify(json, null, 2) + '\n' : (await import('yaml')).stringify(json));
        return;
      }
      process.stdout.write(
        `kek rotated: ${r.previousKekId} → ${r.kekId}; ${r.versionsRewrapped} secret version${r.versionsRewrapped === 1 ? '' : 's'} of ${r.secrets} secret${r.secrets === 1 ? '' : 's'} re-wrapped; new KEK in ${r.kekFile} (the old one no longer opens anything: do not restore it)\n`,
      );
    });
  }),
};

export const adminKekCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'kek',
  describe: "Show or rotate the key-encryption key of secrets",
  builder: (y: Argv<GlobalArgs>) =>
    withHelp(y.command(status).command(rotate).demandCommand(1, 'Name a kek subcommand: status or rotate'), [
      ['rune admin kek status', 'Which KEK is in use'],
      ['rune admin kek rotate', 'Rotate it'],
    ]),
  handler: () => undefined,
};
