/**
 * Name rules shared by the cast-file schema, the CLI and the server: DNS-1123 labels (object
 * names, namespaces, dependencies), Kubernetes-style label keys and values, environment
 * variable names. Each `...Problem` function returns what is wrong with a value (a message
 * fragment such as `must be at most 63 characters (is 70)`) or undefined when it is fine; each
 * `validate...` wraps that into a FieldViolation for a field.
 */
import type { FieldViolation } from '../errors.js';

export const DNS_LABEL_MAX_LENGTH = 63;
export const DNS_SUBDOMAIN_MAX_LENGTH = 253;
export const LABEL_VALUE_MAX_LENGTH = 63;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** Label names and values: alphanumerics, '-', '_' and '.', starting and ending alphanumeric. */
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** True when `value` is a DNS-1123 label: lower-case alphanumerics and '-', at most 63. */
export function isDnsLabel(value: string): boolean {
  return value.length <= DNS_LABEL_MAX_LENGTH && DNS_LABEL.test(value);
}

/** What is wrong with `value` as a DNS-1123 label, or undefined when it is one. */
export function dnsLabelProblem(value: string): string | undefined {
  if (value === '') return 'is required';
  if (value.length > DNS_LABEL_MAX_LENGTH) return `must be at most ${DNS_LABEL_MAX_LENGTH} characters (is ${value.length})`;
  if (DNS_LABEL.test(value)) return undefined;
  const lower = value.toLowerCase();
  if (lower !== value && DNS_LABEL.test(lower)) return `must be lower case: use "${lower}"`;
  const bad = [...value].find((ch) => !/[a-z0-9-]/.test(ch));
  if (bad !== undefined) {
    return `must contain only lower-case letters, digits and "-" (found ${JSON.stringify(bad)}), e.g. "${suggestDnsLabel(value)}"`;
  }
  return 'must start and end with a lower-case letter or digit';
}

/** The violation for `field` when `value` is not a DNS-1123 label ('' counts as missing). */
export function validateDnsLabel(field: string, value: string): FieldViolation | undefined {
  const problem = dnsLabelProblem(value);
  return problem === undefined ? undefined : { field, description: problem };
}

/** A DNS-1123 label close to `value`, for "e.g." hints: "My_App" → "my-app". */
export function suggestDnsLabel(value: string): string {
  const cleaned = value
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, DNS_LABEL_MAX_LENGTH)
    .replace(/-+$/, '');
  return cleaned === '' ? 'my-name' : cleaned;
}

/**
 * What is wrong with a label key: `[prefix/]name`, where the optional prefix is a DNS-1123
 * subdomain (≤ 253) and the name is ≤ 63 alphanumerics, '-', '_' or '.', starting and ending
 * alphanumeric (as in Kubernetes: `app`, `app.kubernetes.io/name`).
 */
export function labelKeyProblem(key: string): string | undefined {
  if (key === '') return 'label key must not be empty';
  const slash = key.indexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined) {
    if (prefix === '' || prefix.length > DNS_SUBDOMAIN_MAX_LENGTH || !DNS_SUBDOMAIN.test(prefix)) {
      return `label key prefix "${prefix}" must be a DNS subdomain (lower-case letters, digits, "-" and ".", at most ${DNS_SUBDOMAIN_MAX_LENGTH} characters), e.g. "example.com/${name || 'name'}"`;
    }
  }
  if (name === '') return 'label key must have a name after the "/"';
  if (name.length > DNS_LABEL_MAX_LENGTH) return `label key name must be at most ${DNS_LABEL_MAX_LENGTH} characters (is ${name.length})`;
  if (!LABEL_NAME.test(name)) {
    return 'label key must consist of letters, digits, "-", "_" or "." and start and end with a letter or digit, optionally with a DNS prefix ("example.com/name")';
  }
  return undefined;
}

/** What is wrong with a label value: empty, or ≤ 63 alphanumerics, '-', '_', '.' starting and ending alphanumeric. */
export function labelValueProblem(value: string): string | undefined {
  if (value === '') return undefined;
  if (value.length > LABEL_VALUE_MAX_LENGTH) return `label value must be at most ${LABEL_VALUE_MAX_LENGTH} characters (is ${value.length})`;
  if (!LABEL_NAME.test(value)) {
    return 'label value must consist of letters, digits, "-", "_" or "." and start and end with a letter or digit';
  }
  return undefined;
}

/** Violations for every bad key or value of a label map; `field` is the map's path, e.g. `labels`. */
export function validateLabels(field: string, labels: Record<string, string>): FieldViolation[] {
  const violations: FieldViolation[] = [];
  for (const [key, value] of Object.entries(labels)) {
    const problem = labelKeyProblem(key) ?? labelValueProblem(value);
    if (problem !== undefined) violations.push({ field: joinField(field, key), description: problem });
  }
  return violations;
}

/** What is wrong with an environment variable name (letters, digits and '_', not starting with a digit). */
export function envNameProblem(name: string): string | undefined {
  if (ENV_NAME.test(name)) return undefined;
  return `"${name}" is not a valid environment variable name: use letters, digits and "_", not starting with a digit`;
}

/**
 * Appends a map key or list index to a field path the way the cast file reads:
 * `ports` + 1 → `ports[1]`, `env` + `PORT` → `env.PORT`, `labels` + `app.kubernetes.io/name` →
 * `labels["app.kubernetes.io/name"]`.
 */
export function joinField(base: string, segment: string | number): string {
  if (typeof segment === 'number') return `${base}[${segment}]`;
  const plain = /^[A-Za-z_][A-Za-z0-9_-]*$/.test(segment);
  if (!plain) return `${base}[${JSON.stringify(segment)}]`;
  return base === '' ? segment : `${base}.${segment}`;
}

/** A field path from path segments: `['ports', 1, 'port']` → `ports[1].port`. */
export function formatFieldPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const segment of path) out = joinField(out, typeof segment === 'number' ? segment : String(segment));
  return out;
}

/**
 * The segments of a field path written by `formatFieldPath`: `ports[1].port` →
 * `['ports', 1, 'port']`, `labels["a.b/c"]` → `['labels', 'a.b/c']`.
 */
export function parseFieldPath(field: string): Array<string | number> {
  const segments: Array<string | number> = [];
  const token = /\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]|\.?([^.[\]]+)/gy;
  let match: RegExpExecArray | null;
  while (token.lastIndex < field.length && (match = token.exec(field)) !== null) {
    if (match[1] !== undefined) segments.push(Number(match[1]));
    else if (match[2] !== undefined) segments.push(JSON.parse(match[2]) as string);
    else segments.push(match[3]!);
  }
  return segments;
}
