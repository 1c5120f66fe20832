/**
 * `rune get services|namespaces [NAME]`: list or show, in any output format; `-w` follows
 * changes after the list, resuming across runed restarts.
 */
import type { Argv, CommandModule } from 'yargs';
import { action } from '../action.js';
import { UsageError, withHelp, type GlobalArgs } from '../global-options.js';
import { resourceKind } from '../resources.js';

export interface GetArgs extends GlobalArgs {
  resource: string;
  name?: string;
  allNamespaces: boolean;
  watch: boolean;
  selector?: string;
}

export const getCommand: CommandModule<GlobalArgs, GetArgs> = {
  command: 'get <resource> [name]',
  describe: 'List services or namespaces, or show one',
  builder: (y: Argv<GlobalArgs>) =>
    withHelp(
      y
        .positional('resource', { type: 'string', describe: 'services (service, svc) or namespaces (namespace, ns)', demandOption: true })
        .positional('name', { type: 'string', describe: 'Show only this one' })
        .option('all-namespaces', { alias: 'A', type: 'boolean', default: false, describe: 'List services of every namespace' })
        .option('watch', { alias: 'w', type: 'boolean', default: false, describe: 'After listing, print a row for each change until interrupted' })
        .option('selector', { alias: 'l', type: 'string', requiresArg: true, describe: 'Only objects with these labels: key=value[,key=value]' }),
      [
        ['rune get services', 'Services in the current namespace'],
        ['rune get svc -A -o wide', 'Services of every namespace, with runtime, ports and command'],
        ['rune get service web -o yaml', 'One service as YAML'],
        ['rune get services -w', 'List, then follow changes'],
        ['rune get ns', 'Namespaces'],
      ],
    ) as unknown as Argv<GetArgs>,
  handler: action<GetArgs>(async (argv, state) => {
    const kind = resourceKind(argv.resource);
    if (argv.name !== undefined && argv.allNamespaces) throw new UsageError('a NAME cannot be combined with -A/--all-namespaces: names are looked up in one namespace (-n)');
    if (kind === 'namespaces' && argv.watch) throw new UsageError('-w/--watch works for services only (for now): use "rune get services -w"');
    const { parseSelector, matchesSelector } = await import('../label-selector.js');
    const wanted = parseSelector(argv.selector ?? '');
    const { withSession } = await import('../session.js');
    const { formatList, formatOne, namespacePrinter, servicePrinter, WatchPrinter } = await import('../output/printers.js');
    const out = (text: string) => process.stdout.write(text);

    await withSession(argv, state, async ({ client, connection }) => {
      const options = { wide: argv.output === 'wide', allNamespaces: argv.allNamespaces && kind === 'services', now: new Date() };
      if (kind === 'namespaces') {
        if (argv.name !== undefined) {
          const { namespace } = await client.getNamespace({ name: argv.name });
          out(formatOne(namespacePrinter, namespace!, argv.output, options));
          return;
        }
        const namespaces = [];
        let continueToken = '';
        do {
          const page = await client.listNamespaces({ options: { limit: 500, continueToken, labelSelector: argv.selector ?? '' } });
          namespaces.push(...page.namespaces);
          continueToken = page.listMeta?.continueToken ?? '';
        } while (continueToken !== '');
        if (namespaces.length === 0 && isTable(argv)) process.stderr.write('No resources found.\n');
        else out(formatList(namespacePrinter, namespaces, argv.output, options));
        return;
      }

      const namespace = argv.allNamespaces ? '*' : connection.namespace;
      if (argv.name !== undefined && !argv.watch) {
        const { service } = await client.getService({ namespace, name: argv.name });
        out(formatOne(servicePrinter, service!, argv.output, options));
        return;
      }
      const { followServices, listAllServices } = await import('../../api/follow-services.js');
      const listed = await listAllServices(client, namespace, argv.selector);
      const shown = (services: typeof listed.services) => services.filter((s) => argv.name === undefined || s.metadata?.name === argv.name);
      if (!argv.watch) {
        if (listed.services.length === 0 && isTable(argv)) {
          process.stderr.write(argv.allNamespaces ? 'No resources found.\n' : `No resources found in ${namespace} namespace.\n`);
        } else {
          out(formatList(servicePrinter, listed.services, argv.output, options));
        }
        return;
      }

      const printer = new WatchPrinter(servicePrinter, argv.output, options, 'services');
      out(printer.start(shown(listed.services), listed.revision));
      const { printWarning } = await import('../action.js');
      const { shortReason } = await import('../error-message.js');
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      try {
        await followServices({
          client,
          namespace,
          labelSelector: argv.selector,
          fromRevision: listed.revision,
          signal: stop.signal,
          onEvent: (event) => {
            const service = event.service;
            if (!service || (argv.name !== undefined && service.metadata?.name !== argv.name) || !matchesSelector(service.metadata?.labels, wanted)) return;
            out(printer.event(event));
          },
          onRelist: (services, revision) => out(printer.start(shown(services), revision)),
          onRetry: (error, attempt, delayMs, revision) =>
            printWarning(`watch interrupted (${error.code}: ${shortReason(error.message)}); reconnecting in ${(delayMs / 1000).toFixed(1)}s (attempt ${attempt}), resuming after revision ${revision}`, argv.color),
        });
      } finally {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
      }
    });
  }),
};

function isTable(argv: GlobalArgs): boolean {
  return argv.output === 'table' || argv.output === 'wide';
}
