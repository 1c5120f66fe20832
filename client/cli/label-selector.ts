/**
 * Equality label selectors (`app=web,tier=front`), as the server's ListOptions.labelSelector
 * takes them; the CLI checks them before sending and applies them to watch events itself.
 */
import { UsageError } from './global-options.js';

/** The key/value pairs of `selector`; UsageError naming -l when a part is not key=value. */
export function parseSelector(selector: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const part of selector.split(',').map((p) => p.trim()).filter(Boolean)) {
    const match = /^([^=!\s]+)\s*==?\s*([^=\s]*)$/.exec(part);
    if (!match) throw new UsageError(`-l/--selector: "${part}" is not key=value; use e.g. -l app=web,tier=front`);
    labels[match[1]!] = match[2]!;
  }
  return labels;
}

/** True when `labels` has every pair of `wanted`. */
export function matchesSelector(labels: Record<string, string> | undefined, wanted: Record<string, string>): boolean {
  return Object.entries(wanted).every(([k, v]) => labels?.[k] === v);
}
