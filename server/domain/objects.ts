/** Small helpers shared by the domain modules. */
import { RuneError, type FieldViolation } from '../../shared/errors.js';
import type { ObjectMeta } from '../../shared/gen/rune/v1/meta.js';
import { canonicalJson } from '../store/kinds.js';
import type { Store, StoredObject } from '../store/store.js';

/** Fresh metadata for a new object; the store fills uid, versions and timestamps. */
export function newMeta(name: string, namespace: string, labels: Record<string, string> = {}): ObjectMeta {
  return { name, namespace, uid: '', labels, resourceVersion: 0, generation: 0, createdAt: undefined, updatedAt: undefined, deletionTimestamp: undefined, finalizers: [] };
}

/** INVALID_ARGUMENT listing every violation, or nothing when there are none. */
export function throwIfInvalid(what: string, violations: FieldViolation[]): void {
  if (violations.length === 0) return;
  const list = violations.map((v) => `${v.field}: ${v.description}`).join('; ');
  throw new RuneError('INVALID_ARGUMENT', `${what} is invalid: ${list}`, { violations });
}

/** Parses an equality label selector "k=v,k2=v2" (also "k==v"). */
export function parseLabelSelector(selector: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const part of selector.split(',').map((p) => p.trim()).filter(Boolean)) {
    const match = /^([^=!\s]+)\s*==?\s*([^=\s]*)$/.exec(part);
    if (!match) throw RuneError.invalid('options.labelSelector', `"${part}" is not an equality selector; use key=value[,key=value]`);
    labels[match[1]!] = match[2]!;
  }
  return labels;
}

export const notFoundNamespace = (namespace: string): RuneError =>
  RuneError.notFound(`namespace "${namespace}" not found; create it with \`rune namespace create ${namespace}\``);

/**
 * Deletes `object`, honouring finalizers: with finalizers it is only marked (deletionTimestamp)
 * and the owning controller removes it after cleaning up; without, it goes at once. Conditional
 * on the version read, so nothing that changed meanwhile is deleted blindly.
 */
export async function requestDelete<T extends StoredObject>(store: Store, kind: string, object: T): Promise<T> {
  const meta = object.metadata!;
  if (meta.finalizers.length === 0) return store.delete<T>(kind, meta.namespace, meta.name, { resourceVersion: meta.resourceVersion });
  if (meta.deletionTimestamp) return object;
  return store.update<T>(kind, { ...object, metadata: { ...meta, deletionTimestamp: new Date() } });
}

/** Every object of `kind` (in `namespace`, or all), read page by page. For small kinds (subjects, policies, tokens). */
export async function listAll<T extends StoredObject>(store: Store, kind: string, namespace?: string): Promise<T[]> {
  const items: T[] = [];
  let continueToken = '';
  do {
    const page = await store.list<T>(kind, { namespace, limit: 5000, continueToken });
    items.push(...page.items);
    continueToken = page.continueToken;
  } while (continueToken);
  return items;
}

export type ApplyResult = 'created' | 'updated' | 'configured' | 'unchanged';

/** How `applyObject` reads and writes the spec part of one kind. */
export interface ApplyKind<T extends StoredObject> {
  kind: string;
  /** Singular, for messages: "job". */
  noun: string;
  /** The part whose change makes the result "updated" (else labels: "configured"). */
  spec(object: T): unknown;
  /** `current` with the spec of `desired` (and nothing else of it). */
  withSpec(current: T, desired: T): T;
  /** A new object for `desired`, with these metadata. */
  fresh(desired: T, meta: ObjectMeta): T;
}

/** How often an apply without a resourceVersion retries when another writer got there first. */
const APPLY_RETRIES = 5;

/**
 * Create-or-update with kubectl-apply semantics for an already validated and defaulted object:
 * NOT_FOUND when the namespace is missing, FAILED_PRECONDITION while the object or its namespace
 * is being deleted, ABORTED when `metadata.resourceVersion` is given and stale (without it, a
 * concurrent write is retried: last apply wins). `dryRun` reports without writing.
 */
export async function applyObject<T extends StoredObject>(store: Store, kind: ApplyKind<T>, desired: T, options: { dryRun: boolean }): Promise<{ object: T; result: ApplyResult }> {
  const meta = desired.metadata!;
  const namespaceMissing = () => notFoundNamespace(meta.namespace);
  for (let attempt = 0; ; attempt++) {
    const current = await store.get<T>(kind.kind, meta.namespace, meta.name);
    if (current?.metadata?.deletionTimestamp) {
      throw new RuneError('FAILED_PRECONDITION', `${kind.noun} "${meta.name}" is being deleted; cast it again once it is gone`);
    }
    if (!current) {
      const namespace = await store.get<StoredObject>('namespaces', '', meta.namespace);
      if (!namespace) throw namespaceMissing();
      if (namespace.metadata?.deletionTimestamp) throw new RuneError('FAILED_PRECONDITION', `namespace "${meta.namespace}" is being deleted; nothing new can be created in it`);
      const fresh = kind.fresh(desired, newMeta(meta.name, meta.namespace, meta.labels));
      if (options.dryRun) return { object: fresh, result: 'created' };
      try {
        const { objects } = await store.commit([
          { op: 'check', kind: 'namespaces', namespace: '', name: meta.namespace, exists: true, error: namespaceMissing },
          { op: 'create', kind: kind.kind, object: fresh },
        ]);
        return { object: objects[1] as T, result: 'created' };
      } catch (err) {
        if (err instanceof RuneError && err.code === 'ALREADY_EXISTS' && attempt < APPLY_RETRIES) continue; // raced a create: apply again as an update
        throw err;
      }
    }
    const curMeta = current.metadata!;
    if (meta.resourceVersion && meta.resourceVersion !== curMeta.resourceVersion) {
      throw new RuneError('ABORTED', `${kind.noun} "${meta.name}": resourceVersion ${meta.resourceVersion} is stale (current ${curMeta.resourceVersion}); read it again and retry`);
    }
    const specChanged = canonicalJson(kind.spec(current)) !== canonicalJson(kind.spec(desired));
    const labelsChanged = canonicalJson(curMeta.labels) !== canonicalJson(meta.labels);
    const result: ApplyResult = specChanged ? 'updated' : labelsChanged ? 'configured' : 'unchanged';
    if (result === 'unchanged') return { object: current, result };
    const next = kind.withSpec({ ...current, metadata: { ...curMeta, labels: meta.labels } }, desired);
    if (options.dryRun) return { object: next, result };
    try {
      return { object: await store.update(kind.kind, next), result };
    } catch (err) {
      if (err instanceof RuneError && err.code === 'ABORTED' && !meta.resourceVersion && attempt < APPLY_RETRIES) continue; // transient: read again
      throw err;
    }
  }
}

/**
 * Deletes `kind/namespace/name` through `requestDelete` (finalizers honoured). With a
 * `resourceVersion`, only that version (ABORTED otherwise); without, a conflict with a
 * controller's status write is read again (bounded).
 */
export async function deleteObject<T extends StoredObject>(store: Store, kind: string, noun: string, namespace: string, name: string, resourceVersion: number): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    const object = await store.get<T>(kind, namespace, name);
    if (!object) throw RuneError.notFound(`${noun} "${name}" not found in namespace "${namespace}"`);
    if (resourceVersion && resourceVersion !== object.metadata!.resourceVersion) {
      throw new RuneError('ABORTED', `${noun} "${name}": resourceVersion ${resourceVersion} is stale (current ${object.metadata!.resourceVersion}); read it again and retry`);
    }
    try {
      return await requestDelete(store, kind, object);
    } catch (err) {
      if (err instanceof RuneError && err.code === 'ABORTED' && !resourceVersion && attempt < APPLY_RETRIES) continue;
      throw err;
    }
  }
}
