/**
 * followWatch (follow-watch.ts) bound to services: ListServices to relist, WatchServices to
 * follow. Same guarantees: resumes across runed restarts, events in revision order, at most once.
 */
import type { Service } from '../../shared/gen/rune/v1/service.js';
import { followWatch, listAll, type FollowCallbacks } from './follow-watch.js';
import type { RuneClient } from './rune-client.js';

export { DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry-policy.js';

export interface FollowServicesOptions extends FollowCallbacks<Service> {
  client: Pick<RuneClient, 'listServices' | 'watchServices'>;
  /** A namespace, or '*' for all. */
  namespace: string;
  /** Used when relisting; the watch itself delivers every service (filter in onEvent). */
  labelSelector?: string;
}

/** Follows service changes until `signal` aborts (resolves) or a permanent error (rejects). */
export function followServices(options: FollowServicesOptions): Promise<void> {
  const { client, namespace } = options;
  return followWatch<Service>({
    ...options,
    list: async () => {
      const { services, revision } = await listAllServices(client, namespace, options.labelSelector);
      return { items: services, revision };
    },
    watch: (fromRevision, signal) => client.watchServices({ namespace, fromRevision }, { signal }),
  });
}

/** Every service in `namespace` (following continue tokens) and the revision of the first page. */
export async function listAllServices(client: Pick<RuneClient, 'listServices'>, namespace: string, labelSelector = ''): Promise<{ services: Service[]; revision: number }> {
  const { items, revision } = await listAll(async (continueToken) => {
    const page = await client.listServices({ namespace, options: { limit: 500, continueToken, labelSelector } });
    return { items: page.services, revision: page.listMeta?.revision, continueToken: page.listMeta?.continueToken };
  });
  return { services: items, revision };
}
