/**
 * Namespaces: cluster-scoped; "default" exists from the first start and cannot be deleted.
 * Deleting a namespace that still holds objects fails with FAILED_PRECONDITION unless cascade.
 */
import { RuneError } from '../../shared/errors.js';
import type { Namespace } from '../../shared/gen/rune/v1/namespace.js';
import type { Job } from '../../shared/gen/rune/v1/job.js';
import type { Service } from '../../shared/gen/rune/v1/service.js';
import type { ListMeta } from '../../shared/gen/rune/v1/meta.js';
import { validateDnsLabel } from '../../shared/spec/names.js';
import type { Store, WriteOp } from '../store/store.js';
import { newMeta, parseLabelSelector, throwIfInvalid } from './objects.js';

export const DEFAULT_NAMESPACE = 'default';

/** Kinds that live inside a namespace and block its deletion. */
const NAMESPACED_KINDS = ['services', 'instances', 'jobs', 'runs', 'secrets', 'configmaps'] as const;
/** Kinds without finalizers, deleted in the same commit that marks a namespace (cascade). */
const DELETED_AT_ONCE = new Set<string>(['secrets', 'configmaps']);

export async function createNamespace(store: Store, name: string, labels: Record<string, string> = {}): Promise<Namespace> {
  const violation = validateDnsLabel('metadata.name', name);
  throwIfInvalid('namespace', violation ? [violation] : []);
  return store.create<Namespace>('namespaces', { metadata: newMeta(name, '', labels) });
}

export async function getNamespace(store: Store, name: string): Promise<Namespace> {
  const namespace = await store.get<Namespace>('namespaces', '', name);
  if (!namespace) throw RuneError.notFound(`namespace "${name}" not found`);
  return namespace;
}

export async function listNamespaces(store: Store, options: { limit?: number; continueToken?: string; labelSelector?: string }): Promise<{ namespaces: Namespace[]; listMeta: ListMeta }> {
  const page = await store.list<Namespace>('namespaces', { limit: options.limit, continueToken: options.continueToken, labels: parseLabelSelector(options.labelSelector ?? '') });
  return { namespaces: page.items, listMeta: { revision: page.revision, continueToken: page.continueToken } };
}

/**
 * Deletes a namespace. An empty one goes at once. With `cascade`, a non-empty one is marked
 * (deletionTimestamp: nothing new can be created in it), its services are deleted through their
 * finalizers, so every instance is stopped, and the namespace controller removes the record once
 * it is empty. Without `cascade`, a non-empty namespace is FAILED_PRECONDITION.
 */
export async function deleteNamespace(store: Store, name: string, options: { cascade: boolean }): Promise<Namespace> {
  if (name === DEFAULT_NAMESPACE) throw new RuneError('FAILED_PRECONDITION', 'the default namespace cannot be deleted');
  // The controllers write status all the time: a conflict means "read again", not failure.
  for (let attempt = 1; ; attempt++) {
    try {
      return await deleteNamespaceOnce(store, name, options);
    } catch (err) {
      if (!(err instanceof RuneError && err.code === 'ABORTED') || attempt >= 5) throw err;
    }
  }
}

async function deleteNamespaceOnce(store: Store, name: string, options: { cascade: boolean }): Promise<Namespace> {
  const namespace = await getNamespace(store, name);
  /** Objects whose controller must clean up first (services stop instances, jobs cancel runs). */
  const marked: { kind: 'services' | 'jobs'; object: Service | Job }[] = [];
  const atOnce: Array<{ kind: string; name: string; resourceVersion: number }> = [];
  const held: string[] = [];
  for (const kind of NAMESPACED_KINDS) {
    let continueToken = '';
    do {
      const page = await store.list(kind, { namespace: name, limit: 5000, continueToken });
      for (const item of page.items) {
        held.push(`${kind}/${item.metadata!.name}`);
        if (kind === 'services' || kind === 'jobs') marked.push({ kind, object: item as Service | Job });
        if (DELETED_AT_ONCE.has(kind)) atOnce.push({ kind, name: item.metadata!.name, resourceVersion: item.metadata!.resourceVersion });
      }
      continueToken = page.continueToken;
    } while (continueToken);
  }
  if (held.length === 0) {
    return store.delete<Namespace>('namespaces', '', name, { resourceVersion: namespace.metadata!.resourceVersion });
  }
  if (!options.cascade) {
    const shown = held.slice(0, 5).join(', ') + (held.length > 5 ? `, … (${held.length} in all)` : '');
    throw new RuneError('FAILED_PRECONDITION', `namespace "${name}" is not empty (${shown}); delete those first or pass --cascade`);
  }
  // One commit: mark the namespace and every service and job (each at the version listed);
  // secrets and configmaps go at once (running instances keep what they were started with).
  const now = new Date();
  const mark = <T extends Namespace | Service | Job>(o: T): T => (o.metadata!.deletionTimestamp ? o : { ...o, metadata: { ...o.metadata!, deletionTimestamp: now } });
  const ops: WriteOp[] = marked.map(({ kind, object }) => ({ op: 'update', kind, object: mark(object) }));
  for (const o of atOnce) ops.push({ op: 'delete', kind: o.kind, namespace: name, name: o.name, resourceVersion: o.resourceVersion });
  ops.push({ op: 'update', kind: 'namespaces', object: mark(namespace) });
  const result = await store.commit(ops);
  return result.objects[result.objects.length - 1] as Namespace;
}
