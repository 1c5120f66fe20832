/**
 * Runs a cast-file zod schema over a plain value and turns zod's issues into FieldViolations
 * whose messages read as advice: `must be a string; quote the value: "8080"`,
 * `unknown field "prot"; did you mean "protocol"?`, `must be one of: tcp, udp`. Shared by every
 * kind's schema so all kinds speak the same way.
 */
import { z } from 'zod';
import type { FieldViolation } from '../errors.js';
import { formatFieldPath, joinField } from './names.js';
import { didYouMeanSuffix } from './suggest.js';

/** The result of checking a value against a schema: the typed value only when there were no violations. */
export interface SchemaCheck<T> {
  value?: T;
  violations: FieldViolation[];
}

/** Checks `input` against `schema`; violation fields are paths relative to `input`. */
export function checkSchema<S extends z.ZodType>(schema: S, input: unknown): SchemaCheck<z.output<S>> {
  const result = schema.safeParse(input, { error: messageFor });
  if (result.success) return { value: result.data, violations: [] };
  const violations: FieldViolation[] = [];
  for (const issue of result.error.issues) {
    if (issue.code === 'unrecognized_keys') {
      const known = objectKeysAt(schema, issue.path);
      for (const key of issue.keys) {
        const field = joinField(formatFieldPath(issue.path), key);
        const hint = didYouMeanSuffix(key, known);
        const description = hint !== '' ? `unknown field "${key}"${hint}` : `unknown field "${key}"; known fields: ${known.join(', ')}`;
        violations.push({ field, description });
      }
      continue;
    }
    violations.push({ field: formatFieldPath(issue.path), description: issue.message });
  }
  return { violations };
}

/** A number range message used by every integer field: `must be between 1 and 65535`. */
export function between(min: number, max: number): string {
  return `must be between ${min} and ${max}`;
}

/** An integer schema in [min, max] with the same message for both ends. */
export function intBetween(min: number, max: number) {
  return z.int().min(min, between(min, max)).max(max, between(min, max));
}

/** The per-parse error map: messages for issues the schema itself did not word. */
function messageFor(issue: z.core.$ZodRawIssue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      return typeMessage(issue.expected, issue.input);
    case 'invalid_value': {
      const values = issue.values.map(String);
      if (issue.input === undefined) return `is required: one of ${values.join(', ')}`;
      const hint = typeof issue.input === 'string' ? didYouMeanSuffix(issue.input, values) : '';
      return `must be one of: ${values.join(', ')}${hint}`;
    }
    case 'too_small':
      if (issue.origin === 'array') return `must have at least ${issue.minimum} item${issue.minimum === 1 ? '' : 's'}`;
      if (issue.origin === 'string') return issue.minimum === 1 ? 'must not be empty' : `must be at least ${issue.minimum} characters`;
      return `must be at least ${issue.minimum}`;
    case 'too_big':
      if (issue.origin === 'array') return `must have at most ${issue.maximum} items`;
      if (issue.origin === 'string') return `must be at most ${issue.maximum} characters`;
      return `must be at most ${issue.maximum}`;
    default:
      return undefined;
  }
}

const EXPECTED: Readonly<Record<string, string>> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  object: 'a mapping (key: value)',
  record: 'a mapping (key: value)',
  array: 'a list',
};

function typeMessage(expected: string, input: unknown): string {
  if (input === undefined) return 'is required';
  if (expected === 'string' && (typeof input === 'number' || typeof input === 'boolean')) {
    return `must be a string; quote the value: "${String(input)}"`;
  }
  if (expected === 'int' && typeof input === 'number') {
    return Number.isFinite(input) ? `must be a whole number (got ${input})` : 'must be a whole number';
  }
  if ((expected === 'int' || expected === 'number') && typeof input === 'string' && /^-?\d+(\.\d+)?$/.test(input.trim())) {
    return `must be a number, not the string "${input}"; remove the quotes`;
  }
  return `must be ${EXPECTED[expected] ?? expected}, not ${describeValue(input)}`;
}

/** How a YAML value reads back to its author: `a list`, `the string "x"`, `empty (null)`. */
export function describeValue(value: unknown): string {
  if (value === null) return 'empty (null)';
  if (Array.isArray(value)) return 'a list';
  switch (typeof value) {
    case 'string':
      return `the string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value)}`;
    case 'number':
      return `the number ${value}`;
    case 'boolean':
      return `${value}`;
    case 'object':
      return 'a mapping';
    default:
      return typeof value;
  }
}

/** The field names of the object schema found by following `path` through `schema` ([] if none). */
export function objectKeysAt(schema: z.ZodType, path: ReadonlyArray<PropertyKey>): string[] {
  let current: unknown = schema;
  for (const segment of path) {
    current = unwrap(current);
    if (current instanceof z.ZodObject) current = (current.shape as Record<string, unknown>)[String(segment)];
    else if (current instanceof z.ZodArray) current = current.element;
    else if (current instanceof z.ZodRecord) current = current.valueType;
    else return [];
  }
  current = unwrap(current);
  return current instanceof z.ZodObject ? Object.keys(current.shape) : [];
}

function unwrap(schema: unknown): unknown {
  let current = schema;
  while (current instanceof z.ZodOptional || current instanceof z.ZodDefault || current instanceof z.ZodNullable) {
    current = current.unwrap();
  }
  return current;
}
