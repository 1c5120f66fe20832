/** Instances, as the API reads them. They are written only by the orchestrator. */
import { RuneError } from '../../shared/errors.js';
import type { Instance } from '../../shared/gen/rune/v1/instance.js';
import type { ListMeta } from '../../shared/gen/rune/v1/meta.js';
import type { Store } from '../store/store.js';
import { SERVICE_LABEL } from './finalizers.js';
import { parseLabelSelector } from './objects.js';

export async function getInstance(store: Store, namespace: string, name: string): Promise<Instance> {
  const instance = await store.get<Instance>('instances', namespace, name);
  if (!instance) throw RuneError.notFound(`instance "${name}" not found in namespace "${namespace}"; list them with \`rune get instances -n ${namespace}\``);
  return instance;
}

export async function listInstances(store: Store, namespace: string, service: string, options: { limit?: number; continueToken?: string; labelSelector?: string }): Promise<{ instances: Instance[]; listMeta: ListMeta }> {
  const labels = parseLabelSelector(options.labelSelector ?? '');
  if (service) labels[SERVICE_LABEL] = service;
  const page = await store.list<Instance>('instances', { namespace: namespace === '*' ? undefined : namespace, limit: options.limit, continueToken: options.continueToken, labels });
  return { instances: page.items, listMeta: { revision: page.revision, continueToken: page.continueToken } };
}
