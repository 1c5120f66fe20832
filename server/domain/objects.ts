/** Small helpers shared by the domain modules. */
import { RuneError, type FieldViolation } from '../../shared/errors.js';
import type { ObjectMeta } from '../../shared/gen/rune/v1/meta.js';
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
