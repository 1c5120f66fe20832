/**
 * Subjects (users and service accounts) and the policies they hold. Cluster-scoped.
 *
 * Deleting a subject revokes every token it holds in the same commit, so its open streams end
 * and the records show why. A caller cannot delete itself or detach the admin policy from
 * itself: that would lock the last admin out (do it as another admin).
 */
import { RuneError } from '../../shared/errors.js';
import type { Subject, Token } from '../../shared/gen/rune/v1/auth.js';
import { SUBJECT_TYPES, subjectNameProblem, type SubjectType } from '../../shared/spec/policy-spec.js';
import { ADMIN_POLICY } from '../auth/builtin-policies.js';
import type { Store, WriteOp } from '../store/store.js';
import { listAll, newMeta, throwIfInvalid } from './objects.js';
import { policyExists } from './policies.js';

export interface NewSubject {
  name: string;
  /** Default "user". */
  type?: string;
  policies?: string[];
}

/** Creates a subject; INVALID_ARGUMENT for a bad name or type, NOT_FOUND for an unknown policy, ALREADY_EXISTS. */
export async function createSubject(store: Store, input: NewSubject): Promise<Subject> {
  const violations = [];
  const nameProblem = subjectNameProblem(input.name);
  if (nameProblem) violations.push({ field: 'name', description: nameProblem });
  const type = (input.type || 'user') as SubjectType;
  if (!SUBJECT_TYPES.includes(type)) violations.push({ field: 'type', description: `must be one of: ${SUBJECT_TYPES.join(', ')}` });
  throwIfInvalid('subject', violations);
  const policies = [...new Set(input.policies ?? [])];
  for (const policy of policies) await requirePolicy(store, policy);
  return store.create<Subject>('subjects', { metadata: newMeta(input.name, ''), type, admin: false, policies });
}

export async function getSubject(store: Store, name: string): Promise<Subject> {
  if (!name) throw RuneError.invalid('subject', 'is required');
  const subject = await store.get<Subject>('subjects', '', name);
  if (!subject) throw RuneError.notFound(`subject "${name}" not found; list them with rune admin subject list`);
  return subject;
}

export async function listSubjects(store: Store): Promise<Subject[]> {
  return listAll<Subject>(store, 'subjects');
}

/** Deletes subject `name` and revokes its tokens, in one commit. `caller` may not delete itself. */
export async function deleteSubject(store: Store, name: string, caller: string): Promise<{ subject: Subject; revokedTokens: number }> {
  if (name === caller) throw new RuneError('FAILED_PRECONDITION', `subject "${name}" is the caller: you cannot delete yourself; do it as another admin`);
  for (let attempt = 1; ; attempt++) {
    const subject = await getSubject(store, name);
    const tokens = (await listAll<Token>(store, 'tokens')).filter((t) => t.subject === name && !t.revoked);
    const ops: WriteOp[] = tokens.map((t) => ({ op: 'update', kind: 'tokens', object: { ...t, revoked: true } }));
    ops.push({ op: 'delete', kind: 'subjects', namespace: '', name, resourceVersion: subject.metadata!.resourceVersion });
    try {
      await store.commit(ops);
      return { subject, revokedTokens: tokens.length };
    } catch (err) {
      if (attempt < 5 && err instanceof RuneError && err.code === 'ABORTED') continue; // changed meanwhile: read again
      throw err;
    }
  }
}

/** Attaches `policy` to `subject` (idempotent); NOT_FOUND for either. */
export async function attachPolicy(store: Store, subjectName: string, policy: string): Promise<Subject> {
  if (!policy) throw RuneError.invalid('policy', 'is required');
  await requirePolicy(store, policy);
  return updateSubject(store, subjectName, (s) => (s.policies.includes(policy) ? undefined : [...s.policies, policy]));
}

/**
 * Detaches `policy` from `subject`; NOT_FOUND when it is not attached (naming those that are).
 * The caller cannot detach the admin policy from itself.
 */
export async function detachPolicy(store: Store, subjectName: string, policy: string, caller: string): Promise<Subject> {
  if (!policy) throw RuneError.invalid('policy', 'is required');
  if (subjectName === caller && policy === ADMIN_POLICY) {
    throw new RuneError('FAILED_PRECONDITION', `detaching ${ADMIN_POLICY} from yourself would lock you out; do it as another admin`);
  }
  return updateSubject(store, subjectName, (s) => {
    if (!s.policies.includes(policy)) {
      throw RuneError.notFound(`policy "${policy}" is not attached to subject "${subjectName}" (attached: ${s.policies.join(', ') || 'none'})`);
    }
    return s.policies.filter((p) => p !== policy);
  });
}

/** Applies `change` (new policy list, or undefined for no change) with compare-and-set, retrying on conflicts. */
async function updateSubject(store: Store, name: string, change: (s: Subject) => string[] | undefined): Promise<Subject> {
  for (let attempt = 1; ; attempt++) {
    const subject = await getSubject(store, name);
    const policies = change(subject);
    if (!policies) return subject;
    try {
      return await store.update<Subject>('subjects', { ...subject, policies });
    } catch (err) {
      if (attempt < 5 && err instanceof RuneError && err.code === 'ABORTED') continue; // changed meanwhile: read again
      throw err;
    }
  }
}

async function requirePolicy(store: Store, name: string): Promise<void> {
  if (!(await policyExists(store, name))) throw RuneError.notFound(`policy "${name}" not found; list them with rune admin policy list`);
}
