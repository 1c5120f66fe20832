/**
 * ConfigMaps: non-secret configuration (string values by key), cast with apply semantics, and
 * injected into instances like secrets. Stored and shown in the clear: put nothing secret here.
 */
import { RuneError } from '../../shared/errors.js';
import type { ConfigMap } from '../../shared/gen/rune/v1/configmap.js';
import type { ListMeta } from '../../shared/gen/rune/v1/meta.js';
import type { Namespace } from '../../shared/gen/rune/v1/namespace.js';
import { validateDataSizes } from '../../shared/spec/config-data.js';
import { validateDnsLabel, validateLabels } from '../../shared/spec/names.js';
import { canonicalJson } from '../store/kinds.js';
import type { Store } from '../store/store.js';
import { newMeta, notFoundNamespace, parseLabelSelector, throwIfInvalid } from './objects.js';

export type ConfigMapCastResult = 'created' | 'updated' | 'configured' | 'unchanged';

const CAST_RETRIES = 5;

/**
 * Creates the configmap or replaces its data and labels. INVALID_ARGUMENT for a bad name, label
 * or key, or data over the size limit; NOT_FOUND when the namespace does not exist; ABORTED when
 * `metadata.resourceVersion` is given and stale.
 */
export async function castConfigMap(store: Store, input: ConfigMap, options: { dryRun: boolean }): Promise<{ configMap: ConfigMap; result: ConfigMapCastResult }> {
  const meta = input.metadata;
  const name = meta?.name ?? '';
  const namespace = meta?.namespace || 'default';
  const labels = meta?.labels ?? {};
  const violations = [
    validateDnsLabel('name', name),
    validateDnsLabel('namespace', namespace),
    ...validateLabels('labels', labels),
    ...validateDataSizes('configmap', Object.entries(input.data).map(([k, v]) => [k, Buffer.byteLength(v, 'utf8')] as const)),
  ].filter((v) => v !== undefined);
  throwIfInvalid(`configmap "${name}"`, violations);
  const namespaceMissing = () => notFoundNamespace(namespace);

  for (let attempt = 0; ; attempt++) {
    const current = await store.get<ConfigMap>('configmaps', namespace, name);
    if (!current) {
      const ns = await store.get<Namespace>('namespaces', '', namespace);
      if (!ns) throw namespaceMissing();
      if (ns.metadata?.deletionTimestamp) throw new RuneError('FAILED_PRECONDITION', `namespace "${namespace}" is being deleted; nothing new can be created in it`);
      const fresh: ConfigMap = { metadata: newMeta(name, namespace, labels), data: { ...input.data } };
      if (options.dryRun) return { configMap: fresh, result: 'created' };
      try {
        const { objects } = await store.commit([
          { op: 'check', kind: 'namespaces', namespace: '', name: namespace, exists: true, error: namespaceMissing },
          { op: 'create', kind: 'configmaps', object: fresh },
        ]);
        return { configMap: objects[1] as ConfigMap, result: 'created' };
      } catch (err) {
        if (err instanceof RuneError && err.code === 'ALREADY_EXISTS' && attempt < CAST_RETRIES) continue; // raced a create: cast again as an update
        throw err;
      }
    }
    const curMeta = current.metadata!;
    if (meta?.resourceVersion && meta.resourceVersion !== curMeta.resourceVersion) {
      throw new RuneError('ABORTED', `configmap "${name}": resourceVersion ${meta.resourceVersion} is stale (current ${curMeta.resourceVersion}); read it again and retry`);
    }
    const dataChanged = canonicalJson(current.data) !== canonicalJson(input.data);
    const labelsChanged = canonicalJson(curMeta.labels) !== canonicalJson(labels);
    const result: ConfigMapCastResult = dataChanged ? 'updated' : labelsChanged ? 'configured' : 'unchanged';
    const next: ConfigMap = { ...current, data: { ...input.data }, metadata: { ...curMeta, labels } };
    if (result === 'unchanged') return { configMap: current, result };
    if (options.dryRun) return { configMap: next, result };
    try {
      return { configMap: await store.update('configmaps', next), result };
    } catch (err) {
      // Another writer got there first: without a caller-given version, last cast wins (transient, bounded).
      if (err instanceof RuneError && err.code === 'ABORTED' && !meta?.resourceVersion && attempt < CAST_RETRIES) continue;
      throw err;
    }
  }
}

export async function getConfigMap(store: Store, namespace: string, name: string): Promise<ConfigMap> {
  const configMap = await store.get<ConfigMap>('configmaps', namespace, name);
  if (!configMap) throw RuneError.notFound(`configmap "${name}" not found in namespace "${namespace}"`);
  return configMap;
}

/** The configmaps of `namespace` ("*": every namespace). */
export async function listConfigMaps(store: Store, namespace: string, options: { limit?: number; continueToken?: string; labelSelector?: string }): Promise<{ configMaps: ConfigMap[]; listMeta: ListMeta }> {
  const page = await store.list<ConfigMap>('configmaps', {
    namespace: namespace === '*' ? undefined : namespace,
    limit: options.limit,
    continueToken: options.continueToken,
    labels: parseLabelSelector(options.labelSelector ?? ''),
  });
  return { configMaps: page.items, listMeta: { revision: page.revision, continueToken: page.continueToken } };
}

/** NOT_FOUND when there is none. */
export async function deleteConfigMap(store: Store, namespace: string, name: string): Promise<ConfigMap> {
  const configMap = await getConfigMap(store, namespace, name);
  return store.delete<ConfigMap>('configmaps', namespace, name, { resourceVersion: configMap.metadata!.resourceVersion });
}
