/**
 * What a command that changed one service prints: `service/web <what happened>` for tables,
 * `service/web` for `-o name`, the service runed returned for `-o json|yaml`.
 */
import type { Service } from '../../../shared/gen/rune/v1/service.js';
import type { OutputFormat } from '../global-options.js';
import { formatOne, servicePrinter } from './printers.js';

export function printServiceResult(service: Service | undefined, name: string, happened: string, format: OutputFormat): string {
  switch (format) {
    case 'json':
    case 'yaml':
      return service ? formatOne(servicePrinter, service, format, { wide: false, allNamespaces: false, now: new Date() }) : '';
    case 'name':
      return `service/${name}\n`;
    default:
      return `service/${name} ${happened}\n`;
  }
}
