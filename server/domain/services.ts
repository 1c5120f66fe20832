/**
 * Services: cast (create-or-update, kubectl-apply style), get, list, delete. The spec is
 * validated and defaulted by the shared cast-file rules (shared/spec), the same ones the CLI
 * lints with.
 */
import { RuneError } from '../../shared/errors.js';
import type { ListMeta } from '../../shared/gen/rune/v1/meta.js';
import type { Service } from '../../shared/gen/rune/v1/service.js';
import { applyServiceDefaults, validateService } from '../../shared/spec/service-spec.js';
import { canonicalJson } from '../store/kinds.js';
import type { Store } from '../store/store.js';
import { newMeta, notFoundNamespace, parseLabelSelector, throwIfInvalid } from './objects.js';

export type CastResult = 'created' | 'updated' | 'configured' | 'unchanged';

/** How often a cast without a resourceVersion retries when another writer got there first. */
const CAST_RETRIES = 5;

/**
 * Creates the service or updates its spec and labels. With `metadata.resourceVersion` set, the
 * update is conditional (ABORTED if stale); without it, a concurrent write is retried.
 * NOT_FOUND when the namespace does not exist. `dryRun` validates and reports, writing nothing.
 */
export async function castService(store: Store, input: Service, options: { dryRun: boolean }): Promise<{ service: Service; result: CastResult }> {
  throwIfInvalid(`service "${input.metadata?.name ?? ''}"`, validateService(input));
  const desired = applyServiceDefaults(input);
  const meta = desired.metadata!;
  const namespaceMissing = () => notFoundNamespace(meta.namespace);
  for (let attempt = 0; ; attempt++) {
    const current = await store.get<Service>('services', meta.namespace, meta.name);
    if (!current) {
      if (!(await store.get('namespaces', '', meta.namespace))) throw namespaceMissing();
      const fresh: Service = { metadata: newMeta(meta.name, meta.namespace, meta.labels), spec: desired.spec, status: undefined, restartEpoch: 0 };
      if (options.dryRun) return { service: fresh, result: 'created' };
      try {
        const { objects } = await store.commit([
          { op: 'check', kind: 'namespaces', namespace: '', name: meta.namespace, exists: true, error: namespaceMissing },
          { op: 'create', kind: 'services', object: fresh },
        ]);
        return { service: objects[1] as Service, result: 'created' };
      } catch (err) {
        if (err instanceof RuneError && err.code === 'ALREADY_EXISTS' && attempt < CAST_RETRIES) continue; // raced a create: cast again as an update
        throw err;
      }
    }
    const curMeta = current.metadata!;
    if (meta.resourceVersion && meta.resourceVersion !== curMeta.resourceVersion) {
      throw new RuneError('ABORTED', `service "${meta.name}": resourceVersion ${meta.resourceVersion} is stale (current ${curMeta.resourceVersion}); read it again and retry`);
    }
    const specChanged = canonicalJson(current.spec) !== canonicalJson(desired.spec);
    const labelsChanged = canonicalJson(curMeta.labels) !== canonicalJson(meta.labels);
    const result: CastResult = specChanged ? 'updated' : labelsChanged ? 'configured' : 'unchanged';
    if (result === 'unchanged' || options.dryRun) {
      return { service: options.dryRun ? { ...current, spec: desired.spec, metadata: { ...curMeta, labels: meta.labels } } : current, result };
    }
    const next: Service = { ...current, spec: desired.spec, metadata: { ...curMeta, labels: meta.labels } };
    try {
      return { service: await store.update('services', next), result };
    } catch (err) {
      // Another writer changed it between our read and write: without a caller-given version,
      // apply semantics say "last cast wins", so read again (transient, bounded retries).
      if (err instanceof RuneError && err.code === 'ABORTED' && !meta.resourceVersion && attempt < CAST_RETRIES) continue;
      throw err;
    }
  }
}

export async function getService(store: Store, namespace: string, name: string): Promise<Service> {
  const service = await store.get<Service>('services', namespace, name);
  if (!service) throw RuneError.notFound(`service "${name}" not found in namespace "${namespace}"`);
  return service;
}

export async function listServices(store: Store, namespace: string, options: { limit?: number; continueToken?: string; labelSelector?: string }): Promise<{ services: Service[]; listMeta: ListMeta }> {
  const page = await store.list<Service>('services', {
    namespace: namespace === '*' ? undefined : namespace,
    limit: options.limit,
    continueToken: options.continueToken,
    labels: parseLabelSelector(options.labelSelector ?? ''),
  });
  return { services: page.items, listMeta: { revision: page.revision, continueToken: page.continueToken } };
}

export async function deleteService(store: Store, namespace: string, name: string, resourceVersion: number): Promise<Service> {
  return store.delete<Service>('services', namespace, name, { resourceVersion: resourceVersion || undefined });
}
