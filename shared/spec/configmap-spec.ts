/**
 * The `configmap:` cast-file document: name, namespace, labels and string values by key, stored
 * and shown in the clear (no `${NAME}` expansion: use a secret for anything secret).
 *
 *     configmap:
 *       name: app
 *       data:
 *         logLevel: debug
 *         app.yaml: |
 *           port: 8080
 */
import { z } from 'zod';
import type { FieldViolation } from '../errors.js';
import { ConfigMap } from '../gen/rune/v1/configmap.js';
import { validateDataSizes } from './config-data.js';
import { dnsLabelProblem, validateLabels } from './names.js';
import { checkSchema } from './schema-check.js';

const dnsLabel = () =>
  z.string().superRefine((value, ctx) => {
    const problem = dnsLabelProblem(value);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  });

export const ConfigMapDocumentSchema = z
  .strictObject({
    name: dnsLabel().meta({ description: 'Name of the configmap, unique in its namespace (a DNS label).', typeText: 'DNS label', defaultText: 'required' }),
    namespace: dnsLabel()
      .optional()
      .meta({ description: 'Namespace of the configmap.', typeText: 'DNS label', defaultText: 'the `-n` flag, else the context namespace, else `default`' }),
    labels: z.record(z.string(), z.string()).optional().meta({ description: 'Labels for selection.', typeText: 'map of string to string' }),
    data: z.record(z.string(), z.string()).meta({
      description: 'Values by key (keys: letters, digits, `-`, `_`, `.`; at most 256 KiB in all). Quote numbers and booleans. Changing a value rolls the services that use it.',
      typeText: 'map of string to string',
      defaultText: 'required',
    }),
  })
  .meta({ description: 'A configmap: non-secret configuration injected into services that reference it.' });

/** Builds the ConfigMap for a configmap document; `configMap` is set only when there are no violations. */
export function configMapFromDocument(doc: unknown, options: { defaultNamespace: string }): { configMap?: ConfigMap; violations: FieldViolation[] } {
  const checked = checkSchema(ConfigMapDocumentSchema, doc);
  if (!checked.value) return { violations: checked.violations };
  const value = checked.value;
  const violations = [
    ...validateLabels('labels', value.labels ?? {}),
    ...validateDataSizes('configmap', Object.entries(value.data).map(([k, v]) => [k, Buffer.byteLength(v, 'utf8')] as const)),
  ];
  if (violations.length > 0) return { violations };
  return {
    configMap: ConfigMap.fromPartial({ metadata: { name: value.name, namespace: value.namespace ?? options.defaultNamespace, labels: value.labels ?? {} }, data: value.data }),
    violations: [],
  };
}
