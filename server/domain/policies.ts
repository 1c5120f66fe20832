/**
 * Policies: cluster-scoped lists of rules (see server/auth/rbac.ts for how they are
 * evaluated). The built-in ones (server/auth/builtin-policies.ts) are written at every start
 * and can be neither replaced nor deleted: FAILED_PRECONDITION. A policy some subject holds
 * cannot be deleted either (detach it first), so no subject silently loses its rights.
 */
import { RuneError } from '../../shared/errors.js';
import type { Subject } from '../../shared/gen/rune/v1/auth.js';
import { Policy } from '../../shared/gen/rune/v1/policy.js';
import { validatePolicy } from '../../shared/spec/policy-spec.js';
import { builtinPolicies, isBuiltinPolicy } from '../auth/builtin-policies.js';
import { canonicalJson } from '../store/kinds.js';
import type { Store } from '../store/store.js';
import { listAll, newMeta, throwIfInvalid } from './objects.js';

export type PolicyResult = 'created' | 'updated' | 'unchanged';

/** What makes two versions of a policy different. */
const content = (p: Policy) => canonicalJson({ rules: p.rules.map((r) => ({ resources: r.resources, verbs: r.verbs, namespaces: r.namespaces })), description: p.description, builtin: p.builtin });

/** Writes the built-in policies as the code defines them (idempotent: unchanged ones are left alone). */
export async function seedBuiltinPolicies(store: Store): Promise<void> {
  for (const builtin of builtinPolicies()) {
    const name = builtin.metadata!.name;
    const current = await store.get<Policy>('policies', '', name);
    if (!current) await store.create('policies', builtin);
    else if (content(current) !== content(builtin)) await store.update('policies', { ...builtin, metadata: current.metadata });
  }
}

/**
 * Creates or replaces policy `policy.metadata.name` (upsert). INVALID_ARGUMENT with a
 * violation per bad entry (`rules[1].verbs[0]: unknown verb "destroy"; known: ...`);
 * FAILED_PRECONDITION for a built-in name.
 */
export async function createPolicy(store: Store, input: Policy): Promise<{ policy: Policy; result: PolicyResult }> {
  throwIfInvalid('policy', validatePolicy(input));
  const name = input.metadata!.name;
  if (isBuiltinPolicy(name)) throw builtinError(name, 'replaced');
  const policy = Policy.fromPartial({
    metadata: newMeta(name, '', input.metadata?.labels ?? {}),
    description: input.description,
    rules: input.rules.map((r) => ({ resources: r.resources, verbs: r.verbs, namespaces: r.namespaces })),
    builtin: false,
  });
  for (let attempt = 1; ; attempt++) {
    const current = await store.get<Policy>('policies', '', name);
    try {
      if (!current) return { policy: await store.create('policies', policy), result: 'created' };
      if (content(current) === content(policy) && canonicalJson(current.metadata!.labels) === canonicalJson(policy.metadata!.labels)) {
        return { policy: current, result: 'unchanged' };
      }
      const updated = await store.update<Policy>('policies', { ...policy, metadata: { ...current.metadata!, labels: policy.metadata!.labels } });
      return { policy: updated, result: 'updated' };
    } catch (err) {
      // Someone else wrote it meanwhile: read again (a create racing a create, an update a stale version).
      if (attempt < 5 && err instanceof RuneError && (err.code === 'ABORTED' || err.code === 'ALREADY_EXISTS' || err.code === 'NOT_FOUND')) continue;
      throw err;
    }
  }
}

export async function getPolicy(store: Store, name: string): Promise<Policy> {
  if (!name) throw RuneError.invalid('name', 'is required');
  const policy = await store.get<Policy>('policies', '', name);
  if (!policy) throw RuneError.notFound(`policy "${name}" not found; list them with rune admin policy list`);
  return policy;
}

/** Every policy, built-ins included, by name. */
export async function listPolicies(store: Store): Promise<Policy[]> {
  return listAll<Policy>(store, 'policies');
}

/** Deletes a policy nobody holds; FAILED_PRECONDITION for a built-in or one still attached (naming the subjects). */
export async function deletePolicy(store: Store, name: string): Promise<Policy> {
  if (isBuiltinPolicy(name)) throw builtinError(name, 'deleted');
  const policy = await getPolicy(store, name);
  const holders = (await listAll<Subject>(store, 'subjects')).filter((s) => s.policies.includes(name)).map((s) => s.metadata!.name);
  if (holders.length > 0) {
    const shown = holders.slice(0, 5).join(', ') + (holders.length > 5 ? `, … (${holders.length} in all)` : '');
    throw new RuneError('FAILED_PRECONDITION', `policy "${name}" is attached to ${holders.length === 1 ? 'subject' : 'subjects'} ${shown}; detach it first (rune admin policy detach ${name} --subject NAME)`);
  }
  return store.delete<Policy>('policies', '', name, { resourceVersion: policy.metadata!.resourceVersion });
}

/** Whether policy `name` exists (built-in or stored). */
export async function policyExists(store: Store, name: string): Promise<boolean> {
  return isBuiltinPolicy(name) || (await store.get('policies', '', name)) !== undefined;
}

function builtinError(name: string, what: 'replaced' | 'deleted'): RuneError {
  return new RuneError('FAILED_PRECONDITION', `policy "${name}" is built in and cannot be ${what}; create a policy with another name`);
}
