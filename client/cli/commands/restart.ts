/**
 * `rune restart SERVICE...`: replaces every instance of each service by a rolling update (new
 * instances first, never zero ready), printing `service/web restarting (rolling)`. Returns at
 * once; follow the rollout with `rune get instances --service web -w`.
 */
import type { Argv, CommandModule } from 'yargs';
import { action } from '../action.js';
import { withHelp, type GlobalArgs } from '../global-options.js';
import { serviceName } from '../resources.js';

export interface RestartArgs extends GlobalArgs {
  services: string[];
}

export const restartCommand: CommandModule<GlobalArgs, RestartArgs> = {
  command: 'restart <services..>',
  describe: 'Restart the instances of services, one by one (rolling)',
  builder: (y: Argv<GlobalArgs>) =>
    withHelp(
      y.positional('services', { type: 'string', array: true, describe: 'Service names (or service/NAME)', demandOption: true }),
      [
        ['rune restart web', 'Replace every instance of web, keeping it ready throughout'],
        ['rune restart web api -n staging', 'Restart two services in staging'],
        ['rune restart web && rune get instances --service web -w', 'Restart, then watch the new instances come up'],
      ],
    ) as unknown as Argv<RestartArgs>,
  handler: action<RestartArgs>(async (argv, state) => {
    const names = argv.services.map(serviceName);
    const { withSession } = await import('../session.js');
    const { printServiceResult } = await import('../output/service-result.js');
    const { RuneError } = await import('../../../shared/errors.js');
    const { printError } = await import('../action.js');
    const { describeError } = await import('../error-message.js');
    await withSession(argv, state, async ({ client, connection }) => {
      let failed = 0;
      for (const name of names) {
        try {
          const { service } = await client.restartService({ namespace: connection.namespace, name });
          process.stdout.write(printServiceResult(service, name, 'restarting (rolling)', argv.output));
        } catch (err) {
          const error = RuneError.from(err);
          // Without a server or a valid token every other service fails the same way: stop here.
          if (error.code === 'UNAVAILABLE' || error.code === 'UNAUTHENTICATED') throw error;
          failed++;
          printError(`service/${name}: ${describeError(error, state).message}`, argv.color);
        }
      }
      if (failed > 0) process.exitCode = 1;
    });
  }),
};
