/**
 * Access-control vocabulary shared by the CLI and runed: the verbs, the resources (every
 * resource some RPC declares in its rune.v1.access rule), subject names, and the policy
 * document with its zod schema.
 *
 * A policy file (`rune admin policy create -f policy.yml`):
 *
 *   policy:
 *     name: dev-deployer
 *     description: deploys to dev          # optional
 *     rules:
 *       - resources: [services, instances]
 *         verbs: [get, list, watch, create, update, logs]
 *         namespaces: [dev]
 *
 * The CLI checks the file with `policyFromDocument` before sending it; runed checks every
 * CreatePolicy with `validatePolicy`, which runs the same schema over the message. Violation
 * fields are paths inside the policy (`rules[1].verbs[0]`), messages name what is known:
 * `unknown verb "destroy"; known: get, list, ...`.
 */
import { z } from 'zod';
import type { FieldViolation } from '../errors.js';
import { methods } from '../api/methods.js';
import { Policy } from '../gen/rune/v1/policy.js';
import { dnsLabelProblem } from './names.js';
import { checkSchema, type SchemaCheck } from './schema-check.js';
import { didYouMean } from './suggest.js';

/** Every verb a rule may name. */
export const VERBS = ['get', 'list', 'watch', 'create', 'update', 'delete', 'exec', 'logs', 'reveal', 'admin'] as const;
export type Verb = (typeof VERBS)[number];

/** Verbs whose calls are appended to the audit log. */
export const AUDITED_VERBS: readonly Verb[] = ['create', 'update', 'delete', 'admin', 'exec', 'reveal', 'logs'];

/** Matches anything in a rule's list. */
export const WILDCARD = '*';

/** The subject types. */
export const SUBJECT_TYPES = ['user', 'serviceaccount'] as const;
export type SubjectType = (typeof SUBJECT_TYPES)[number];

export const SUBJECT_NAME_MAX_LENGTH = 253;
const SUBJECT_NAME = /^[a-z0-9]([a-z0-9._@-]*[a-z0-9])?$/;

let resources: string[] | undefined;

/** Every resource an RPC of the API declares (sorted); a rule may name these or "*". */
export function knownResources(): readonly string[] {
  resources ??= [...new Set([...methods.values()].map((m) => m.access?.resource ?? '').filter((r) => r && r !== WILDCARD))].sort();
  return resources;
}

/** Why `name` is not a valid subject name, or undefined when it is. */
export function subjectNameProblem(name: string): string | undefined {
  if (name === '') return 'must not be empty';
  if (name.length > SUBJECT_NAME_MAX_LENGTH) return `must be at most ${SUBJECT_NAME_MAX_LENGTH} characters`;
  if (!SUBJECT_NAME.test(name)) return "must be lower-case letters, digits, '-', '.', '_' or '@', starting and ending with a letter or digit (e.g. alice, ci-bot, alice@example.com)";
  return undefined;
}

const oneOf = (what: string, known: () => readonly string[]) =>
  z.string().superRefine((value, ctx) => {
    if (value === WILDCARD) return;
    const list = known();
    if (list.includes(value)) return;
    const suggestion = didYouMean(value, list);
    const hint = suggestion === undefined ? '' : ` (did you mean "${suggestion}"?)`;
    ctx.addIssue({ code: 'custom', message: `unknown ${what} "${value}"${hint}; known: ${list.join(', ')}, or ${WILDCARD} for all` });
  });

const namespaceEntry = z.string().superRefine((value, ctx) => {
  if (value === WILDCARD) return;
  const problem = dnsLabelProblem(value);
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: `namespace "${value}" ${problem}; use a namespace name or ${WILDCARD}` });
});

export const PolicyRuleSchema = z.strictObject({
  resources: z.array(oneOf('resource', knownResources)).min(1).meta({ description: `Resources the rule covers, or "${WILDCARD}".` }),
  verbs: z.array(oneOf('verb', () => VERBS)).min(1).meta({ description: `Verbs the rule allows, or "${WILDCARD}".` }),
  namespaces: z.array(namespaceEntry).min(1).meta({ description: `Namespaces the rule covers; "${WILDCARD}" also covers cluster-scoped resources and all-namespace requests.` }),
});

export const PolicyBodySchema = z.strictObject({
  name: z.string().superRefine((value, ctx) => {
    const problem = dnsLabelProblem(value);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  }),
  description: z.string().max(1024).optional(),
  rules: z.array(PolicyRuleSchema).min(1),
});

/** A policy file's one document: `policy: {name, description?, rules}`. */
export const PolicyDocumentSchema = z.strictObject({ policy: PolicyBodySchema });

export type PolicyBody = z.output<typeof PolicyBodySchema>;

/** Checks a policy body (the value under `policy:`); fields are relative to it. */
export function validatePolicyBody(body: unknown): SchemaCheck<PolicyBody> {
  return checkSchema(PolicyBodySchema, body);
}

/**
 * A policy file's parsed YAML to the API message, or the violations (fields relative to the
 * `policy:` key, as the server reports them too).
 */
export function policyFromDocument(doc: unknown): { policy?: Policy; violations: FieldViolation[] } {
  if (!doc || typeof doc !== 'object' || Array.isArray(doc) || !('policy' in doc)) {
    return { violations: [{ field: 'policy', description: 'a policy file has one top-level key, policy: {name, rules: [{resources, verbs, namespaces}]}' }] };
  }
  const extra = Object.keys(doc).filter((k) => k !== 'policy');
  if (extra.length > 0) return { violations: extra.map((k) => ({ field: k, description: `unknown top-level key "${k}"; a policy file has only policy:` })) };
  const check = validatePolicyBody((doc as { policy: unknown }).policy);
  if (!check.value) return { violations: check.violations };
  const body = check.value;
  return {
    violations: [],
    policy: Policy.fromPartial({
      metadata: { name: body.name },
      description: body.description ?? '',
      rules: body.rules.map((r) => ({ resources: r.resources, verbs: r.verbs, namespaces: r.namespaces })),
    }),
  };
}

/** The same rules for a CreatePolicy message (server side). */
export function validatePolicy(policy: Policy): FieldViolation[] {
  return validatePolicyBody({
    name: policy.metadata?.name ?? '',
    description: policy.description || undefined,
    rules: policy.rules.map((r) => ({ resources: r.resources, verbs: r.verbs, namespaces: r.namespaces })),
  }).violations;
}
