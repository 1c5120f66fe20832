/**
 * followWatch (follow-watch.ts) bound to instances: ListInstances to relist, WatchInstances to
 * follow. Same guarantees: resumes across runed restarts, events in revision order, at most once.
 */
import type { Instance } from '../../shared/gen/rune/v1/instance.js';
import { followWatch, listAll, type FollowCallbacks } from './follow-watch.js';
import type { RuneClient } from './rune-client.js';

export interface InstanceFilter {
  /** Only the instances of this service. */
  service?: string;
  labelSelector?: string;
}

export interface FollowInstancesOptions extends FollowCallbacks<Instance> {
  client: Pick<RuneClient, 'listInstances' | 'watchInstances'>;
  /** A namespace, or '*' for all. */
  namespace: string;
  /** Used when relisting; the watch itself delivers every instance (filter in onEvent). */
  filter?: InstanceFilter;
}

/** Follows instance changes until `signal` aborts (resolves) or a permanent error (rejects). */
export function followInstances(options: FollowInstancesOptions): Promise<void> {
  const { client, namespace } = options;
  return followWatch<Instance>({
    ...options,
    list: async () => {
      const { instances, revision } = await listAllInstances(client, namespace, options.filter);
      return { items: instances, revision };
    },
    watch: (fromRevision, signal) => client.watchInstances({ namespace, fromRevision }, { signal }),
  });
}

/** Every instance in `namespace` ('*': all) matching `filter`, and the revision of the first page. */
export async function listAllInstances(client: Pick<RuneClient, 'listInstances'>, namespace: string, filter: InstanceFilter = {}): Promise<{ instances: Instance[]; revision: number }> {
  const { items, revision } = await listAll(async (continueToken) => {
    const page = await client.listInstances({ namespace, service: filter.service ?? '', options: { limit: 500, continueToken, labelSelector: filter.labelSelector ?? '' } });
    return { items: page.instances, revision: page.listMeta?.revision, continueToken: page.listMeta?.continueToken };
  });
  return { instances: items, revision };
}
