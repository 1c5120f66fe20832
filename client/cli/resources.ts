/**
 * Resource words the CLI accepts, kubectl style: plural, singular and short forms.
 */
import { didYouMeanSuffix } from '../../shared/spec/suggest.js';
import { UsageError } from './global-options.js';

export const RESOURCES = {
  services: ['services', 'service', 'svc'],
  instances: ['instances', 'instance', 'inst'],
  namespaces: ['namespaces', 'namespace', 'ns'],
  jobs: ['jobs', 'job'],
} as const;

export type ResourceKind = keyof typeof RESOURCES;

/** The kinds each resource-taking command accepts (also what shell completion offers). */
export const COMMAND_KINDS = {
  get: ['services', 'instances', 'namespaces', 'jobs'],
  describe: ['services', 'instances', 'namespaces', 'jobs'],
  delete: ['services', 'namespaces', 'jobs'],
} as const satisfies Record<string, readonly ResourceKind[]>;

/** The resource kind named by `word` (any of its forms); UsageError listing the forms otherwise. */
export function resourceKind(word: string, allowed: readonly ResourceKind[] = ['services', 'namespaces']): ResourceKind {
  const lower = word.toLowerCase();
  for (const kind of allowed) {
    if ((RESOURCES[kind] as readonly string[]).includes(lower)) return kind;
  }
  const forms = allowed.flatMap((k) => RESOURCES[k]);
  const list = allowed.map((k) => `${k} (${RESOURCES[k].slice(1).join(', ')})`).join(' or ');
  throw new UsageError(`unknown resource type "${word}"; use ${list}${didYouMeanSuffix(lower, forms)}`);
}

/** The service named by `word`: `web`, or `service/web` (any form of the word); UsageError for another kind. */
export function serviceName(word: string): string {
  const slash = word.indexOf('/');
  if (slash === -1) return word;
  const kind = resourceKind(word.slice(0, slash), ['services']);
  const name = word.slice(slash + 1);
  if (kind !== 'services' || name === '') throw new UsageError(`"${word}" does not name a service; use NAME or service/NAME`);
  return name;
}
