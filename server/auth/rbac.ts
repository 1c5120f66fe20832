/**
 * RBAC evaluation: may this subject do (verb, resource, namespace)?
 *
 * A subject holds policies; a policy is a list of rules {resources, verbs, namespaces}; a call
 * is allowed when any rule of any of the subject's policies covers it, else denied (default
 * deny). In each list "*" matches anything. A request for a cluster-scoped resource (namespace
 * '') or for every namespace at once ('*') is covered only by a rule whose namespaces hold
 * "*": `namespaces: [dev]` never lets anyone list across namespaces.
 *
 * Everything is read from memory: the subject's current policies from the token service's
 * subject informer, the policies from an informer of `policies` (built-in names from the code).
 * A change to a subject or a policy applies from the next check on.
 */
import { RuneError } from '../../shared/errors.js';
import type { Policy, PolicyRule } from '../../shared/gen/rune/v1/policy.js';
import { WILDCARD } from '../../shared/spec/policy-spec.js';
import { Informer } from '../store/informer.js';
import type { Store } from '../store/store.js';
import { builtinPolicy } from './builtin-policies.js';
import type { Principal, TokenService } from './token-service.js';

export interface AccessRequest {
  resource: string;
  verb: string;
  /** '' for cluster-scoped resources; '*' for all namespaces. */
  namespace: string;
  /** The object the request names, when it names one (for the audit; RBAC ignores it). */
  name?: string;
}

/**
 * Calls every authenticated subject may make whatever its policies say: asking who it is
 * (`rune whoami`, `rune login`) and the server's version.
 */
export const SELF_SERVICE: ReadonlyArray<Pick<AccessRequest, 'resource' | 'verb'>> = [
  { resource: 'whoami', verb: 'get' },
  { resource: 'system', verb: 'get' },
];

const covers = (list: readonly string[], value: string): boolean => list.includes(WILDCARD) || list.includes(value);

/** Whether `rule` allows `request` (pure). */
export function ruleAllows(rule: PolicyRule, request: AccessRequest): boolean {
  if (!covers(rule.resources, request.resource) || !covers(rule.verbs, request.verb)) return false;
  if (request.namespace === '' || request.namespace === WILDCARD) return rule.namespaces.includes(WILDCARD);
  return covers(rule.namespaces, request.namespace);
}

/** Whether any rule of any of `policies` allows `request` (pure). */
export function policiesAllow(policies: Iterable<Policy>, request: AccessRequest): boolean {
  for (const policy of policies) if (policy.rules.some((rule) => ruleAllows(rule, request))) return true;
  return false;
}

export function isSelfService(request: AccessRequest): boolean {
  return SELF_SERVICE.some((s) => s.resource === request.resource && s.verb === request.verb);
}

/** A policy attached to a subject, resolved: undefined `policy` when it no longer exists. */
export interface AttachedPolicy {
  name: string;
  policy: Policy | undefined;
}

export class Rbac {
  private constructor(
    private readonly policies: Informer<Policy>,
    private readonly tokens: TokenService,
  ) {}

  /** Starts following policies; resolves once they are loaded. */
  static async open(store: Store, tokens: TokenService): Promise<Rbac> {
    return new Rbac(await Informer.start<Policy>(store, 'policies'), tokens);
  }

  /** Returns when allowed; else PERMISSION_DENIED naming subject, verb, resource and namespace. */
  authorize(principal: Principal, request: AccessRequest): void {
    if (this.allows(principal.subject, request)) return;
    const where = request.namespace === WILDCARD ? ' in every namespace' : request.namespace ? ` in namespace "${request.namespace}"` : '';
    const what = request.resource === WILDCARD ? 'every resource' : request.resource;
    const held = this.tokens.subject(principal.subject)?.policies ?? [];
    throw new RuneError(
      'PERMISSION_DENIED',
      `subject "${principal.subject}" may not ${request.verb} ${what}${where} (policies: ${held.join(', ') || 'none'}); ask an admin for a policy that allows it`,
    );
  }

  /** Whether subject `name`, as it is now, may make `request`. */
  allows(name: string, request: AccessRequest): boolean {
    const subject = this.tokens.subject(name);
    if (!subject) return false;
    if (subject.admin) return true;
    if (isSelfService(request)) return true;
    return policiesAllow(
      this.attached(subject.policies).flatMap((a) => (a.policy ? [a.policy] : [])),
      request,
    );
  }

  /** The current policies of subject `name`, resolved, as stored ([] when there is no such subject). */
  effectivePolicies(name: string): AttachedPolicy[] {
    return (this.tokens.subject(name)?.policies ?? []).map((p) => ({ name: p, policy: this.policies.get('', p) ?? builtinPolicy(p) }));
  }

  /** The policy called `name` as RBAC sees it (built-ins from the code). */
  policy(name: string): Policy | undefined {
    return builtinPolicy(name) ?? this.policies.get('', name);
  }

  stop(): void {
    this.policies.stop();
  }

  private attached(names: readonly string[]): AttachedPolicy[] {
    return names.map((name) => ({ name, policy: this.policy(name) }));
  }
}
