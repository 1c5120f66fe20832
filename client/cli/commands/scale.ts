/**
 * `rune scale SERVICE N`: sets a service's scale, printing `service/web scaled to N`. Scaling
 * only adds or removes instances: the running ones are not replaced.
 */
import type { Argv, CommandModule } from 'yargs';
import { action } from '../action.js';
import { UsageError, withHelp, type GlobalArgs } from '../global-options.js';
import { serviceName } from '../resources.js';

export interface ScaleArgs extends GlobalArgs {
  service: string;
  scale: string;
}

/** N as a scale: a whole number from 0; UsageError otherwise. */
export function parseScale(text: string): number {
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(Number(text))) throw new UsageError(`scale must be a whole number from 0 up, not "${text}"`);
  return Number(text);
}

export const scaleCommand: CommandModule<GlobalArgs, ScaleArgs> = {
  command: 'scale <service> <scale>',
  describe: 'Set how many instances of a service run',
  builder: (y: Argv<GlobalArgs>) =>
    withHelp(
      y
        .positional('service', { type: 'string', describe: 'Service name (or service/NAME)', demandOption: true })
        .positional('scale', { type: 'string', describe: 'Number of instances (0 stops them all)', demandOption: true }),
      [
        ['rune scale web 3', 'Run three instances of web'],
        ['rune scale web 0 -n staging', 'Stop every instance of web in staging, keeping the service'],
        ['rune scale web 2 -o json', 'Print the updated service as JSON'],
      ],
    ) as unknown as Argv<ScaleArgs>,
  handler: action<ScaleArgs>(async (argv, state) => {
    const name = serviceName(argv.service);
    const scale = parseScale(String(argv.scale));
    const { withSession } = await import('../session.js');
    const { printServiceResult } = await import('../output/service-result.js');
    await withSession(argv, state, async ({ client, connection }) => {
      const { service } = await client.scaleService({ namespace: connection.namespace, name, scale });
      process.stdout.write(printServiceResult(service, name, `scaled to ${scale}`, argv.output));
    });
  }),
};
