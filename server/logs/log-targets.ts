/**
 * What `rune logs <target>` reads: an instance id names one instance's log; a service name
 * names the logs of all its instances (the ones there now, and, when following, the ones that
 * appear later).
 */
import { RuneError } from '../../shared/errors.js';
import type { Instance } from '../../shared/gen/rune/v1/instance.js';
import type { Store } from '../store/store.js';
import type { LogSource } from './log-stream.js';

export interface LogTargets {
  kind: 'instance' | 'service';
  /** The logs now. */
  sources: LogSource[];
  /** The logs now, asked again (follow): the instance's, or the service's instances'. */
  discover: () => Promise<LogSource[]>;
}

/** Pages of instances read when listing a service's instances (500 each). */
const MAX_PAGES = 100;

/**
 * Resolves `target` in `namespace`: first as an instance id, then as a service (that exists, or
 * still has instances). NOT_FOUND naming both when it is neither.
 */
export async function resolveLogTargets(store: Store, namespace: string, target: string): Promise<LogTargets> {
  const instance = await store.get<Instance>('instances', namespace, target);
  if (instance) {
    const discover = async () => {
      const current = await store.get<Instance>('instances', namespace, target);
      return current ? [sourceOf(current)] : [];
    };
    return { kind: 'instance', sources: [sourceOf(instance)], discover };
  }
  const discover = async () => (await instancesOf(store, namespace, target)).map(sourceOf);
  const sources = await discover();
  if (sources.length === 0 && !(await store.get('services', namespace, target))) {
    throw RuneError.notFound(
      `no instance or service named "${target}" in namespace "${namespace}"; ` +
        `give an instance id (rune get instances -n ${namespace}) or a service name (rune get services -n ${namespace})`,
    );
  }
  return { kind: 'service', sources, discover };
}

function sourceOf(instance: Instance): LogSource {
  return { instance: instance.metadata?.name ?? '', logPath: instance.status?.logPath ?? '' };
}

async function instancesOf(store: Store, namespace: string, service: string): Promise<Instance[]> {
  const found: Instance[] = [];
  let continueToken = '';
  for (let page = 0; page < MAX_PAGES; page++) {
    const result = await store.list<Instance>('instances', { namespace, continueToken });
    for (const instance of result.items) if (instance.spec?.service === service) found.push(instance);
    if (!result.continueToken) break;
    continueToken = result.continueToken;
  }
  return found.sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
}
