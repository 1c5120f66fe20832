/**
 * `rune get services|instances|jobs|namespaces [NAME]`: list or show, in any output format; `-w`
 * follows changes after the list (services and instances), resuming across runed restarts.
 * (Runs have their own command: `rune runs list|watch`.)
 */
import type { Argv, CommandModule } from 'yargs';
import type { WatchEvent } from '../../../shared/gen/rune/v1/watch_service.js';
import type { FollowCallbacks } from '../../api/follow-watch.js';
import { action } from '../action.js';
import { UsageError, withHelp, type GlobalArgs } from '../global-options.js';
import type { ResourcePrinter, TableOptions } from '../output/printers.js';
import { COMMAND_KINDS, resourceKind } from '../resources.js';

export interface GetArgs extends GlobalArgs {
  resource: string;
  name?: string;
  allNamespaces: boolean;
  watch: boolean;
  selector?: string;
  service?: string;
}

export const getCommand: CommandModule<GlobalArgs, GetArgs> = {
  command: 'get <resource> [name]',
  describe: 'List services, instances, jobs or namespaces, or show one',
  builder: (y: Argv<GlobalArgs>) =>
    withHelp(
      y
        .positional('resource', { type: 'string', describe: 'services (service, svc), instances (instance, inst), jobs (job) or namespaces (namespace, ns)', demandOption: true })
        .positional('name', { type: 'string', describe: 'Show only this one (for instances: the instance ID)' })
        .option('all-namespaces', { alias: 'A', type: 'boolean', default: false, describe: 'List services, instances or jobs of every namespace' })
        .option('watch', { alias: 'w', type: 'boolean', default: false, describe: 'After listing, print a row for each change until interrupted' })
        .option('selector', { alias: 'l', type: 'string', requiresArg: true, describe: 'Only objects with these labels: key=value[,key=value]' })
        .option('service', { type: 'string', requiresArg: true, describe: 'Instances: only those of this service' }),
      [
        ['rune get services', 'Services in the current namespace'],
        ['rune get svc -A -o wide', 'Services of every namespace, with runtime, ports and command'],
        ['rune get service web -o yaml', 'One service as YAML'],
        ['rune get services -w', 'List, then follow changes'],
        ['rune get instances --service web', 'The instances of service web: status, readiness, restarts, PID'],
        ['rune get inst -o wide -w', 'Instances with node, last exit and generation, following changes'],
        ['rune get jobs', 'Jobs: schedule, suspended, active runs, last run, last and next schedule'],
        ['rune get ns', 'Namespaces'],
      ],
    ) as unknown as Argv<GetArgs>,
  handler: action<GetArgs>(async (argv, state) => {
    const kind = resourceKind(argv.resource, COMMAND_KINDS.get);
    if (argv.name !== undefined && argv.allNamespaces) throw new UsageError('a NAME cannot be combined with -A/--all-namespaces: names are looked up in one namespace (-n)');
    if (kind === 'namespaces' && argv.watch) throw new UsageError('-w/--watch works for services and instances: use "rune get services -w" or "rune get instances -w"');
    if (kind === 'jobs' && argv.watch) throw new UsageError('-w/--watch works for services and instances; to follow the runs of jobs, use "rune runs watch [--job NAME]"');
    if (kind !== 'instances' && argv.service !== undefined) throw new UsageError('--service applies to instances only: use "rune get instances --service NAME"');
    const { parseSelector, matchesSelector } = await import('../label-selector.js');
    const wanted = parseSelector(argv.selector ?? '');
    const { withSession } = await import('../session.js');
    const { formatList, formatOne, instancePrinter, namespacePrinter, servicePrinter } = await import('../output/printers.js');

    await withSession(argv, state, async ({ client, connection }) => {
      const options: TableOptions = { wide: argv.output === 'wide', allNamespaces: argv.allNamespaces && kind !== 'namespaces', now: new Date() };
      if (kind === 'namespaces') {
        if (argv.name !== undefined) {
          const { namespace } = await client.getNamespace({ name: argv.name });
          out(formatOne(namespacePrinter, namespace!, argv.output, options));
          return;
        }
        const { listAll } = await import('../../api/follow-watch.js');
        const { items: namespaces } = await listAll(async (continueToken) => {
          const page = await client.listNamespaces({ options: { limit: 500, continueToken, labelSelector: argv.selector ?? '' } });
          return { items: page.namespaces, continueToken: page.listMeta?.continueToken };
        });
        if (namespaces.length === 0 && isTable(argv)) process.stderr.write('No resources found.\n');
        else out(formatList(namespacePrinter, namespaces, argv.output, options));
        return;
      }

      const namespace = argv.allNamespaces ? '*' : connection.namespace;
      if (kind === 'jobs') {
        const { jobPrinter } = await import('../output/run-printers.js');
        if (argv.name !== undefined) {
          const { job } = await client.getJob({ namespace, name: argv.name });
          out(formatOne(jobPrinter, job!, argv.output, options));
          return;
        }
        const { listAll } = await import('../../api/follow-watch.js');
        const { items: jobs } = await listAll(async (continueToken) => {
          const page = await client.listJobs({ namespace, options: { limit: 500, continueToken, labelSelector: argv.selector ?? '' } });
          return { items: page.jobs, continueToken: page.listMeta?.continueToken };
        });
        if (jobs.length === 0 && isTable(argv)) process.stderr.write(namespace === '*' ? 'No resources found.\n' : `No resources found in ${namespace} namespace.\n`);
        else out(formatList(jobPrinter, jobs, argv.output, options));
        return;
      }
      if (kind === 'services') {
        if (argv.name !== undefined && !argv.watch) {
          const { service } = await client.getService({ namespace, name: argv.name });
          out(formatOne(servicePrinter, service!, argv.output, options));
          return;
        }
        const { followServices, listAllServices } = await import('../../api/follow-services.js');
        const listed = await listAllServices(client, namespace, argv.selector);
        await listOrWatch(argv, options, {
          printer: servicePrinter,
          kind: 'services',
          listed: { items: listed.services, revision: listed.revision },
          namespace,
          matches: (s) => (argv.name === undefined || s.metadata?.name === argv.name) && matchesSelector(s.metadata?.labels, wanted),
          follow: (callbacks) => followServices({ ...callbacks, client, namespace, labelSelector: argv.selector }),
        });
        return;
      }

      if (argv.name !== undefined && !argv.watch) {
        const { instance } = await client.getInstance({ namespace, name: argv.name });
        out(formatOne(instancePrinter, instance!, argv.output, options));
        return;
      }
      const { followInstances, listAllInstances } = await import('../../api/follow-instances.js');
      const filter = { service: argv.service, labelSelector: argv.selector };
      const listed = await listAllInstances(client, namespace, filter);
      await listOrWatch(argv, options, {
        printer: instancePrinter,
        kind: 'instances',
        listed: { items: listed.instances, revision: listed.revision },
        namespace,
        matches: (i) =>
          (argv.name === undefined || i.metadata?.name === argv.name) &&
          (argv.service === undefined || i.spec?.service === argv.service) &&
          matchesSelector(i.metadata?.labels, wanted),
        follow: (callbacks) => followInstances({ ...callbacks, client, namespace, filter }),
      });
    });
  }),
};

interface ListOrWatch<T> {
  printer: ResourcePrinter<T>;
  /** Plural kind, as WatchEvent.kind has it. */
  kind: string;
  listed: { items: T[]; revision: number };
  /** The namespace listed ('*' with -A), for the "No resources found" note. */
  namespace: string;
  /** Whether an object is shown (NAME, selector, --service); the server's watch sends them all. */
  matches(item: T): boolean;
  follow(callbacks: FollowCallbacks<T>): Promise<void>;
}

/** Prints the list; with -w, then a row per change until Ctrl-C (exit 0) or a permanent error. */
async function listOrWatch<T>(argv: GetArgs, options: TableOptions, get: ListOrWatch<T>): Promise<void> {
  const { formatList, WatchPrinter } = await import('../output/printers.js');
  const shown = (items: readonly T[]) => items.filter((i) => get.matches(i));
  if (!argv.watch) {
    if (get.listed.items.length === 0 && isTable(argv)) {
      process.stderr.write(get.namespace === '*' ? 'No resources found.\n' : `No resources found in ${get.namespace} namespace.\n`);
    } else {
      out(formatList(get.printer, get.listed.items, argv.output, options));
    }
    return;
  }

  const printer = new WatchPrinter(get.printer, argv.output, options, get.kind);
  out(printer.start(shown(get.listed.items), get.listed.revision));
  const { printWarning } = await import('../action.js');
  const { shortReason } = await import('../error-message.js');
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await get.follow({
      fromRevision: get.listed.revision,
      signal: stop.signal,
      onEvent: (event: WatchEvent) => {
        const item = event[get.printer.eventField] as T | undefined;
        if (item !== undefined && get.matches(item)) out(printer.event(event));
      },
      onRelist: (items, revision) => out(printer.start(shown(items), revision)),
      onRetry: (error, attempt, delayMs, revision) =>
        printWarning(`watch interrupted (${error.code}: ${shortReason(error.message)}); reconnecting in ${(delayMs / 1000).toFixed(1)}s (attempt ${attempt}), resuming after revision ${revision}`, argv.color),
    });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function out(text: string): void {
  process.stdout.write(text);
}

function isTable(argv: GlobalArgs): boolean {
  return argv.output === 'table' || argv.output === 'wide';
}
