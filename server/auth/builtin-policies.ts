/**
 * The policies runed seeds on every start. They are the code's, not the store's: the stored
 * copies (for `rune admin policy list|get`) are rewritten to match at start, cannot be
 * overwritten or deleted through the API, and RBAC evaluates built-in names from here.
 *
 * | policy    | verbs                                              | resources | namespaces |
 * |-----------|----------------------------------------------------|-----------|------------|
 * | admin     | everything, and the admin-only API                 | *         | *          |
 * | readwrite | get list watch logs create update delete           | *         | *          |
 * | readonly  | get list watch logs                                | *         | *          |
 *
 * readwrite leaves out exec (a shell next to a workload), reveal (secret values) and admin:
 * grant those with a policy of your own.
 */
import { Policy } from '../../shared/gen/rune/v1/policy.js';
import { newMeta } from '../domain/objects.js';

export const ADMIN_POLICY = 'admin';

interface BuiltinDefinition {
  name: string;
  description: string;
  rules: { resources: string[]; verbs: string[]; namespaces: string[] }[];
}

const DEFINITIONS: readonly BuiltinDefinition[] = [
  {
    name: ADMIN_POLICY,
    description: 'Everything, in every namespace, including the admin-only API (subjects, policies, tokens, audit, KEK).',
    rules: [{ resources: ['*'], verbs: ['*'], namespaces: ['*'] }],
  },
  {
    name: 'readwrite',
    description: 'Read, follow, create, change and delete every resource in every namespace; no exec, reveal or admin.',
    rules: [{ resources: ['*'], verbs: ['get', 'list', 'watch', 'logs', 'create', 'update', 'delete'], namespaces: ['*'] }],
  },
  {
    name: 'readonly',
    description: 'Read and follow every resource and log in every namespace; change nothing.',
    rules: [{ resources: ['*'], verbs: ['get', 'list', 'watch', 'logs'], namespaces: ['*'] }],
  },
];

/** The built-in policies as messages (fresh copies; metadata for a new object). */
export function builtinPolicies(): Policy[] {
  return DEFINITIONS.map((d) => Policy.fromPartial({ metadata: newMeta(d.name, ''), description: d.description, rules: d.rules, builtin: true }));
}

const byName = new Map(builtinPolicies().map((p) => [p.metadata!.name, p]));

/** The built-in policy called `name`, or undefined. Never mutate it. */
export function builtinPolicy(name: string): Policy | undefined {
  return byName.get(name);
}

export function isBuiltinPolicy(name: string): boolean {
  return byName.has(name);
}
