/**
 * `rune describe service|instance|job|namespace NAME`: every field of one object, human-readable
 * (a job also lists its five newest runs).
 */
import type { Argv, CommandModule } from 'yargs';
import { action } from '../action.js';
import { withHelp, type GlobalArgs } from '../global-options.js';
import { COMMAND_KINDS, resourceKind } from '../resources.js';

export interface DescribeArgs extends GlobalArgs {
  resource: string;
  name: string;
}

export const describeCommand: CommandModule<GlobalArgs, DescribeArgs> = {
  command: 'describe <resource> <name>',
  describe: 'Show a service, instance, job or namespace in detail: spec, status, metadata',
  builder: (y: Argv<GlobalArgs>) =>
    withHelp(
      y
        .positional('resource', { type: 'string', describe: 'service (svc), instance (inst), job or namespace (ns)', demandOption: true })
        .positional('name', { type: 'string', describe: 'Name of the object (for an instance: its ID)', demandOption: true }),
      [
        ['rune describe service web', 'Spec, status and metadata of service web'],
        ['rune describe instance web-7f3k2', 'An instance: phase and reason, PID, restarts, last exit, probes, log path'],
        ['rune describe job backup', 'A job: command, schedule, policies, last and next schedule, its newest runs'],
        ['rune describe ns default', 'A namespace and how many services it holds'],
      ],
    ) as unknown as Argv<DescribeArgs>,
  handler: action<DescribeArgs>(async (argv, state) => {
    const kind = resourceKind(argv.resource, COMMAND_KINDS.describe);
    const { withSession } = await import('../session.js');
    const { describeInstance, describeJob, describeNamespace, describeService } = await import('../output/describe.js');
    await withSession(argv, state, async ({ client, connection }) => {
      if (kind === 'services') {
        const { service } = await client.getService({ namespace: connection.namespace, name: argv.name });
        process.stdout.write(describeService(service!));
        return;
      }
      if (kind === 'instances') {
        const { instance } = await client.getInstance({ namespace: connection.namespace, name: argv.name });
        process.stdout.write(describeInstance(instance!));
        return;
      }
      if (kind === 'jobs') {
        const { job } = await client.getJob({ namespace: connection.namespace, name: argv.name });
        const { listAllRuns } = await import('../../api/follow-runs.js');
        const recent = await listAllRuns(client, connection.namespace, { job: argv.name }, { limit: 5 }).then(
          (l) => l.runs,
          () => undefined, // listing runs may be forbidden: describe the job without them
        );
        process.stdout.write(describeJob(job!, recent));
        return;
      }
      const { namespace } = await client.getNamespace({ name: argv.name });
      const { listAllServices } = await import('../../api/follow-services.js');
      const count = await listAllServices(client, argv.name).then(
        (l) => l.services.length,
        () => undefined, // listing may be forbidden: describe the namespace without the count
      );
      process.stdout.write(describeNamespace(namespace!, count));
    });
  }),
};
