/**
 * The `secret:` cast-file document: name, namespace, labels, type and string values by key.
 * Values may use `${NAME}` to take an environment variable of the CLI's (env-expansion.ts), so
 * a cast file can live in a repository without its secrets. Values are sent to runed, which
 * stores them encrypted; nothing here ever quotes a value in a message.
 *
 *     secret:
 *       name: db
 *       data:
 *         user: app
 *         password: ${DB_PASSWORD}
 */
import { z } from 'zod';
import type { FieldViolation } from '../errors.js';
import { Secret } from '../gen/rune/v1/secret.js';
import { validateDataSizes } from './config-data.js';
import { expandEnv, type EnvLookup } from './env-expansion.js';
import { dnsLabelProblem, joinField, validateLabels } from './names.js';
import { checkSchema } from './schema-check.js';

export const SECRET_TYPES = ['opaque'] as const;

const dnsLabel = () =>
  z.string().superRefine((value, ctx) => {
    const problem = dnsLabelProblem(value);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  });

export const SecretDocumentSchema = z
  .strictObject({
    name: dnsLabel().meta({ description: 'Name of the secret, unique in its namespace (a DNS label).', typeText: 'DNS label', defaultText: 'required' }),
    namespace: dnsLabel()
      .optional()
      .meta({ description: 'Namespace of the secret.', typeText: 'DNS label', defaultText: 'the `-n` flag, else the context namespace, else `default`' }),
    labels: z.record(z.string(), z.string()).optional().meta({ description: 'Labels for selection.', typeText: 'map of string to string' }),
    type: z.enum(SECRET_TYPES).optional().meta({ description: 'Kind of secret; `opaque` holds free-form keys.', default: 'opaque' }),
    // Checked by hand (secretRules) so that no message quotes a value.
    data: z.record(z.string(), z.unknown()).meta({
      description:
        'Values by key (keys: letters, digits, `-`, `_`, `.`; at most 256 KiB in all). `${NAME}` in a value is replaced by the environment variable NAME of the `rune` command (`$$` is a literal `$`); an unset variable is an error. Each cast with other values makes a new version.',
      typeText: 'map of string to string',
      defaultText: 'required',
    }),
  })
  .meta({ description: 'A secret: values stored encrypted, injected into services that reference them.' });

/**
 * Builds the Secret for a secret document, `${NAME}` expanded from `env`. `secret` is set only
 * when there are no violations; violation fields are relative to the document (`data.password`).
 */
export function secretFromDocument(doc: unknown, options: { defaultNamespace: string; env: EnvLookup }): { secret?: Secret; violations: FieldViolation[] } {
  const checked = checkSchema(SecretDocumentSchema, doc);
  const violations = [...checked.violations];
  const data: Record<string, Buffer> = {};
  const raw = doc !== null && typeof doc === 'object' && !Array.isArray(doc) ? (doc as Record<string, unknown>).data : undefined;
  if (raw !== null && typeof raw === 'object' && !Array.isArray(raw)) {
    for (const [key, value] of Object.entries(raw)) {
      const field = joinField('data', key);
      if (typeof value !== 'string') {
        violations.push({ field, description: 'must be a string: quote the value' });
        continue;
      }
      const expanded = expandEnv(value, options.env);
      if (expanded.problem !== undefined) violations.push({ field, description: expanded.problem });
      else data[key] = Buffer.from(expanded.value!, 'utf8');
    }
    violations.push(...validateDataSizes('secret', Object.keys(raw).map((k) => [k, data[k]?.length ?? 0] as const)));
  }
  if (checked.value?.labels) violations.push(...validateLabels('labels', checked.value.labels));
  if (violations.length > 0 || !checked.value) return { violations: dedupe(violations) };
  const value = checked.value;
  return {
    secret: Secret.fromPartial({
      metadata: { name: value.name, namespace: value.namespace ?? options.defaultNamespace, labels: value.labels ?? {} },
      type: value.type ?? 'opaque',
      data,
    }),
    violations: [],
  };
}

function dedupe(violations: FieldViolation[]): FieldViolation[] {
  const seen = new Set<string>();
  return violations.filter((v) => {
    const key = `${v.field}\0${v.description}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
