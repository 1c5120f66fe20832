/**
 * Services: cast (create-or-update, kubectl-apply style), get, list, delete. The spec is
 * validated and defaulted by the shared cast-file rules (shared/spec), the same ones the CLI
 * lints with.
 */
import { RuneError } from '../../shared/errors.js';
import type { ListMeta } from '../../shared/gen/rune/v1/meta.js';
import type { Namespace } from '../../shared/gen/rune/v1/namespace.js';
import type { Service } from '../../shared/gen/rune/v1/service.js';
import { applyServiceDefaults, validateService } from '../../shared/spec/service-spec.js';
import { canonicalJson } from '../store/kinds.js';
import type { Store } from '../store/store.js';
import { SERVICE_FINALIZER } from './finalizers.js';
import { deleteObject, newMeta, notFoundNamespace, parseLabelSelector, throwIfInvalid } from './objects.js';

export type CastResult = 'created' | 'updated' | 'configured' | 'unchanged';

/** How often a cast without a resourceVersion retries when another writer got there first. */
const CAST_RETRIES = 5;

/**
 * Creates the service or updates its spec and labels. With `metadata.resourceVersion` set, the
 * update is conditional (ABORTED if stale); without it, the last cast wins. NOT_FOUND when the
 * namespace does not exist. `dryRun` validates and reports, writing nothing.
 */
export async function castService(store: Store, input: Service, options: { dryRun: boolean }): Promise<{ service: Service; result: CastResult }> {
  throwIfInvalid(`service "${input.metadata?.name ?? ''}"`, validateService(input));
  const desired = applyServiceDefaults(input);
  const meta = desired.metadata!;
  const namespaceMissing = () => notFoundNamespace(meta.namespace);
  for (let attempt = 0; ; attempt++) {
    await checkDependencies(store, desired);
    if (options.dryRun) {
      const current = await store.get<Service>('services', meta.namespace, meta.name);
      if (current) {
        const cast = castOver(current, desired);
        return { service: cast.result === 'unchanged' ? current : cast.next, result: cast.result };
      }
    } else {
      // Read, compare and write in one commit (one round trip, no conflict to retry).
      let result: CastResult | undefined;
      const { objects } = await store.commit([
        {
          op: 'modify',
          kind: 'services',
          namespace: meta.namespace,
          name: meta.name,
          change: (found) => {
            if (!found) return undefined;
            const cast = castOver(found as Service, desired);
            result = cast.result;
            return cast.result === 'unchanged' ? undefined : cast.next;
          },
        },
      ]);
      if (result) return { service: objects[0] as Service, result };
    }
    // Absent: create it.
    const namespace = await store.get<Namespace>('namespaces', '', meta.namespace);
    if (!namespace) throw namespaceMissing();
    if (namespace.metadata?.deletionTimestamp) throw new RuneError('FAILED_PRECONDITION', `namespace "${meta.namespace}" is being deleted; nothing new can be created in it`);
    const fresh: Service = { metadata: { ...newMeta(meta.name, meta.namespace, meta.labels), finalizers: [SERVICE_FINALIZER] }, spec: desired.spec, status: undefined, restartEpoch: 0 };
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
}

/**
 * What casting `desired` over the stored `current` does: the result and the object to write
 * (`current` with the desired spec and labels). FAILED_PRECONDITION while `current` is being
 * deleted, ABORTED when `desired` names a stale resourceVersion. Pure: runs inside a commit.
 */
function castOver(current: Service, desired: Service): { result: CastResult; next: Service } {
  const meta = desired.metadata!;
  const curMeta = current.metadata!;
  if (curMeta.deletionTimestamp) {
    throw new RuneError('FAILED_PRECONDITION', `service "${meta.name}" is being deleted (its instances are stopping); cast it again once it is gone`);
  }
  if (meta.resourceVersion && meta.resourceVersion !== curMeta.resourceVersion) {
    throw new RuneError('ABORTED', `service "${meta.name}": resourceVersion ${meta.resourceVersion} is stale (current ${curMeta.resourceVersion}); read it again and retry`);
  }
  const specChanged = canonicalJson(current.spec) !== canonicalJson(desired.spec);
  const labelsChanged = canonicalJson(curMeta.labels) !== canonicalJson(meta.labels);
  const result: CastResult = specChanged ? 'updated' : labelsChanged ? 'configured' : 'unchanged';
  return { result, next: { ...current, spec: desired.spec, metadata: { ...curMeta, labels: meta.labels } } };
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

/**
 * Deletes a service. Its instances are stopped first: the service is marked (deletionTimestamp)
 * and the service controller removes the record once they are gone.
 */
export function deleteService(store: Store, namespace: string, name: string, resourceVersion: number): Promise<Service> {
  return deleteObject<Service>(store, 'services', 'service', namespace, name, resourceVersion);
}

/** Sets spec.scale alone (no other spec field changes, so no rolling update). */
export async function scaleService(store: Store, namespace: string, name: string, scale: number): Promise<Service> {
  if (!Number.isInteger(scale) || scale < 0 || scale > 1000) throw RuneError.invalid('scale', `must be a whole number from 0 to 1000 (got ${scale})`);
  return updateService(store, namespace, name, (s) => ({ ...s, spec: { ...s.spec!, scale } }));
}

/** Bumps the restart epoch: every instance is replaced by a rolling update. */
export async function restartService(store: Store, namespace: string, name: string): Promise<Service> {
  return updateService(store, namespace, name, (s) => ({ ...s, restartEpoch: s.restartEpoch + 1 }));
}

/** Read, change, compare-and-set; retried when another writer got there first. */
async function updateService(store: Store, namespace: string, name: string, change: (s: Service) => Service): Promise<Service> {
  for (let attempt = 0; ; attempt++) {
    const service = await getService(store, namespace, name);
    if (service.metadata?.deletionTimestamp) throw new RuneError('FAILED_PRECONDITION', `service "${name}" is being deleted`);
    try {
      return await store.update('services', change(service));
    } catch (err) {
      if (err instanceof RuneError && err.code === 'ABORTED' && attempt < CAST_RETRIES) continue; // transient: re-read
      throw err;
    }
  }
}

/**
 * Rejects a dependency cycle among the services of the namespace (with this one as cast), or a
 * dependency on itself. Missing dependencies are allowed: the instance waits for them.
 */
async function checkDependencies(store: Store, service: Service): Promise<void> {
  const meta = service.metadata!;
  const deps = service.spec?.dependencies ?? [];
  if (deps.length === 0) return;
  const graph = new Map<string, string[]>();
  let continueToken = '';
  do {
    const page = await store.list<Service>('services', { namespace: meta.namespace, limit: 5000, continueToken });
    for (const s of page.items) graph.set(s.metadata!.name, s.spec?.dependencies ?? []);
    continueToken = page.continueToken;
  } while (continueToken);
  graph.set(meta.name, deps);
  // Depth-first search from this service for a path back to it.
  const path: string[] = [meta.name];
  const seen = new Set<string>();
  const visit = (node: string): boolean => {
    for (const next of graph.get(node) ?? []) {
      if (next === meta.name) {
        path.push(next);
        return true;
      }
      if (seen.has(next)) continue;
      seen.add(next);
      path.push(next);
      if (visit(next)) return true;
      path.pop();
    }
    return false;
  };
  if (visit(meta.name)) throw RuneError.invalid('dependencies', `dependency cycle: ${path.join(' → ')}; remove one of these dependencies`);
}
