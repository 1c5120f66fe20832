/**
 * How each resource prints in every output format: table and wide rows, proto3 JSON (the
 * generated `toJSON`), YAML of that JSON, and `kind/name`. Lists print as `{"items": [...]}` in
 * JSON and YAML; single objects print bare. Watch events print one per line in JSON.
 */
import { stringify as stringifyYaml } from 'yaml';
import { Instance, type InstanceStatus } from '../../../shared/gen/rune/v1/instance.js';
import { Namespace } from '../../../shared/gen/rune/v1/namespace.js';
import { Service } from '../../../shared/gen/rune/v1/service.js';
import { EventType, WatchEvent } from '../../../shared/gen/rune/v1/watch_service.js';
import type { OutputFormat } from '../global-options.js';
import { age } from './human-duration.js';
import { renderTable, StreamingTable } from './table.js';

export interface TableOptions {
  wide: boolean;
  /** Adds a NAMESPACE column (namespaced kinds). */
  allNamespaces: boolean;
  now: Date;
}

export interface ResourcePrinter<T> {
  /** Singular kind as in `service/web`. */
  singular: string;
  headers(options: TableOptions): string[];
  row(item: T, options: TableOptions, event?: EventType): string[];
  toJSON(item: T): unknown;
  name(item: T): string;
  /** Field of WatchEvent's object oneof holding this kind. */
  eventField: 'service' | 'namespace' | 'instance';
}

const NONE = '<none>';

export const servicePrinter: ResourcePrinter<Service> = {
  singular: 'service',
  eventField: 'service',
  headers: ({ wide, allNamespaces }) => [...(allNamespaces ? ['NAMESPACE'] : []), 'NAME', 'SCALE', 'READY', 'STATUS', 'AGE', ...(wide ? ['RUNTIME', 'PORTS', 'COMMAND'] : [])],
  row(service, { wide, allNamespaces, now }, event) {
    const meta = service.metadata;
    const spec = service.spec;
    const status = service.status;
    const scale = spec?.scale ?? 0;
    const phase = event === EventType.EVENT_TYPE_DELETED ? 'Deleted' : status?.phase || NONE;
    const cells = [...(allNamespaces ? [meta?.namespace ?? ''] : []), meta?.name ?? '', String(scale), `${status?.readyInstances ?? 0}/${scale}`, phase, age(meta?.createdAt, now)];
    if (wide) {
      const ports = (spec?.ports ?? []).map((p) => `${p.port}/${p.protocol || 'tcp'}`).join(',');
      cells.push(spec?.runtime || NONE, ports || NONE, [spec?.command ?? '', ...(spec?.args ?? [])].join(' ').trim() || NONE);
    }
    return cells;
  },
  toJSON: (service) => Service.toJSON(service),
  name: (service) => `service/${service.metadata?.name ?? ''}`,
};

export const namespacePrinter: ResourcePrinter<Namespace> = {
  singular: 'namespace',
  eventField: 'namespace',
  headers: ({ wide }) => ['NAME', 'AGE', ...(wide ? ['LABELS'] : [])],
  row(namespace, { wide, now }) {
    const meta = namespace.metadata;
    const cells = [meta?.name ?? '', age(meta?.createdAt, now)];
    if (wide) cells.push(formatLabels(meta?.labels) || NONE);
    return cells;
  },
  toJSON: (namespace) => Namespace.toJSON(namespace),
  name: (namespace) => `namespace/${namespace.metadata?.name ?? ''}`,
};

/**
 * Instances: `ID SERVICE STATUS READY RESTARTS PID AGE`, wide adds `NODE LAST EXIT GENERATION`.
 * STATUS is the phase with the reason in parentheses: `running`, `exited (CrashLoopBackOff)`.
 */
export const instancePrinter: ResourcePrinter<Instance> = {
  singular: 'instance',
  eventField: 'instance',
  headers: ({ wide, allNamespaces }) => [
    ...(allNamespaces ? ['NAMESPACE'] : []),
    'ID', 'SERVICE', 'STATUS', 'READY', 'RESTARTS', 'PID', 'AGE',
    ...(wide ? ['NODE', 'LAST EXIT', 'GENERATION'] : []),
  ],
  row(instance, { wide, allNamespaces, now }, event) {
    const meta = instance.metadata;
    const status = instance.status;
    const cells = [
      ...(allNamespaces ? [meta?.namespace ?? ''] : []),
      meta?.name ?? '',
      instance.spec?.service || NONE,
      event === EventType.EVENT_TYPE_DELETED ? 'deleted' : instanceStatusText(status),
      status?.ready ? 'yes' : 'no',
      String(status?.restartCount ?? 0),
      status?.pid ? String(status.pid) : NONE,
      age(meta?.createdAt, now),
    ];
    if (wide) cells.push(instance.spec?.node || NONE, lastExitText(status), String(instance.spec?.serviceGeneration ?? 0));
    return cells;
  },
  toJSON: (instance) => Instance.toJSON(instance),
  name: (instance) => `instance/${instance.metadata?.name ?? ''}`,
};

/** `phase`, or `phase (reason)` when there is a reason; `<none>` before the first status. */
export function instanceStatusText(status: InstanceStatus | undefined): string {
  const phase = status?.phase || NONE;
  return status?.reason ? `${phase} (${status.reason})` : phase;
}

/**
 * The last run's exit: `0`, `137`, `SIGKILL` (killed), `unknown` (code -1 without a signal, e.g.
 * an adopted process), or `<none>` when the instance has not exited yet.
 */
export function lastExitText(status: InstanceStatus | undefined): string {
  if (!status) return NONE;
  if (status.lastExitSignal) return status.lastExitSignal;
  if (status.lastExitCode === -1) return 'unknown';
  if (status.lastExitCode === 0 && status.finishedAt === undefined && status.restartCount === 0) return NONE;
  return String(status.lastExitCode);
}

/** `a=1,b=2`, sorted by key. */
export function formatLabels(labels: Record<string, string> | undefined): string {
  return Object.entries(labels ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/** What lists and single objects need of a printer (no watch-event field: kinds without a generic watch use it too). */
export type ObjectPrinter<T> = Omit<ResourcePrinter<T>, 'eventField'>;

/** A list in `format`: a table (header even when empty), `{"items": [...]}`, or names. */
export function formatList<T>(printer: ObjectPrinter<T>, items: readonly T[], format: OutputFormat, options: TableOptions): string {
  switch (format) {
    case 'json':
      return JSON.stringify({ items: items.map((i) => printer.toJSON(i)) }, null, 2) + '\n';
    case 'yaml':
      return stringifyYaml({ items: items.map((i) => printer.toJSON(i)) });
    case 'name':
      return items.map((i) => printer.name(i) + '\n').join('');
    default: {
      const opts = { ...options, wide: options.wide || format === 'wide' };
      return renderTable(printer.headers(opts), items.map((i) => printer.row(i, opts)));
    }
  }
}

/** One object in `format` (JSON and YAML bare, not wrapped in items). */
export function formatOne<T>(printer: ObjectPrinter<T>, item: T, format: OutputFormat, options: TableOptions): string {
  switch (format) {
    case 'json':
      return JSON.stringify(printer.toJSON(item), null, 2) + '\n';
    case 'yaml':
      return stringifyYaml(printer.toJSON(item));
    default:
      return formatList(printer, [item], format, options);
  }
}

/**
 * Prints a watch: `start` for the initial list, `event` for each change. Tables print the header
 * once and a row per change; JSON prints one WatchEvent per line (the initial list as ADDED
 * events at the list's revision); YAML one document per event; `name` one `kind/name` per event.
 */
export class WatchPrinter<T> {
  private table: StreamingTable | undefined;

  constructor(
    private readonly printer: ResourcePrinter<T>,
    private readonly format: OutputFormat,
    private readonly options: Omit<TableOptions, 'now'>,
    private readonly kind: string,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.options = { ...options, wide: options.wide || format === 'wide' };
  }

  start(items: readonly T[], revision: number): string {
    if (this.format === 'table' || this.format === 'wide') {
      const options = { ...this.options, now: this.now() };
      const rows = items.map((i) => this.printer.row(i, options));
      this.table = new StreamingTable(this.printer.headers(options), rows);
      return this.table.header() + rows.map((r) => this.table!.row(r)).join('');
    }
    return items.map((item) => this.event(this.asEvent(item, revision))).join('');
  }

  event(event: WatchEvent): string {
    const item = event[this.printer.eventField] as T | undefined;
    if (item === undefined) return '';
    switch (this.format) {
      case 'json':
        return JSON.stringify(WatchEvent.toJSON(event)) + '\n';
      case 'yaml':
        return '---\n' + stringifyYaml(WatchEvent.toJSON(event));
      case 'name':
        return this.printer.name(item) + '\n';
      default: {
        const options = { ...this.options, now: this.now() };
        this.table ??= new StreamingTable(this.printer.headers(options));
        return this.table.row(this.printer.row(item, options, event.type));
      }
    }
  }

  private asEvent(item: T, revision: number): WatchEvent {
    return { type: EventType.EVENT_TYPE_ADDED, revision, kind: this.kind, watchIds: [], [this.printer.eventField]: item } as WatchEvent;
  }
}
