/**
 * An HTTP request → the proto3 JSON of the RPC's request message, as google.api.http defines it:
 *
 * - the body fills the whole request (`body: "*"`) or one field (`body: "service"`), or is
 *   refused when the rule has none;
 * - each path variable sets its field (`{service.metadata.namespace}`); a different non-empty
 *   value for the same field in the body is a 400, not silently overwritten;
 * - every other query parameter sets the field it names: camelCase or snake_case, nested with
 *   dots (`options.limit=2`), repeated fields by repeating the key (`command=a&command=b`).
 *   Unknown parameters are refused with a hint; a route whose body is `*` takes no query fields.
 *
 * Errors are RuneError INVALID_ARGUMENT naming the field as the client wrote it: in the body
 * relative to the body (`spec.scale`), in the query string by its key. The result is checked
 * (unknown fields, oneofs): encode it with `{ seen, checked: true }`.
 */
import type { DescField, DescMessage, JsonObject, JsonValue } from '@bufbuild/protobuf';
import { ScalarType } from '@bufbuild/protobuf';
import { RuneError } from '../../shared/errors.js';
import { didYouMeanSuffix } from '../../shared/spec/suggest.js';
import { describe, findField, joinPath, type ProtoJson, type SeenFields } from './proto-json.js';
import { hasSpecialJson } from './proto-registry.js';
import type { Route } from './route-table.js';

export interface MappedRequest {
  json: JsonObject;
  seen: SeenFields;
}

/** Query parameters the gateway itself interprets (never request fields). */
export const RESERVED_QUERY = new Set(['watch']);

export function mapRequest(codec: ProtoJson, route: Route, pathValues: Map<string, string>, query: URLSearchParams, body: JsonValue | undefined): MappedRequest {
  const seen: SeenFields = new Map();
  let json: JsonObject = {};
  if (route.body === '*') {
    if (body !== undefined) {
      if (body === null || typeof body !== 'object' || Array.isArray(body)) throw RuneError.invalid('body', `expected a JSON object (${route.input.name}), got ${describe(body)}`);
      codec.check(route.input, body, '', seen);
      json = body;
    }
  } else if (route.body) {
    if (body !== undefined) {
      const field = fieldAt(route.input, route.body);
      if (field.fieldKind === 'message') codec.check(field.message, body, '', seen);
      // A type error in a scalar body is named "body".
      else seen.set(`${field.parent.typeName}.${field.name}`, 'body');
      setAt(route.input, json, route.body, body);
    }
  } else if (body !== undefined) {
    throw new RuneError('INVALID_ARGUMENT', `${route.verb} ${route.pattern} takes no body; send its fields as query parameters`);
  }

  for (const [fieldPath, raw] of pathValues) {
    const field = fieldAt(route.input, fieldPath);
    const value = scalarFromString(field, raw, `path variable {${fieldPath}}`);
    const existing = getAt(route.input, json, fieldPath);
    if (existing !== undefined && existing !== null && existing !== '' && String(existing) !== String(value)) {
      const where = route.body && route.body !== '*' && fieldPath.startsWith(`${route.body}.`) ? fieldPath.slice(route.body.length + 1) : fieldPath;
      throw RuneError.invalid(where, `"${String(existing)}" in the body differs from "${raw}" in the URL path; leave it out of the body or make them equal`);
    }
    setAt(route.input, json, fieldPath, value);
    seen.set(`${field.parent.typeName}.${field.name}`, `path variable {${fieldPath}}`);
  }

  const keys = [...new Set(query.keys())].filter((k) => !RESERVED_QUERY.has(k));
  if (keys.length > 0 && route.body === '*') {
    throw RuneError.invalid(keys[0]!, `${route.verb} ${route.pattern} takes its fields in the JSON body, not as query parameters`);
  }
  for (const key of keys) {
    const fields = resolveQueryKey(route.input, key);
    const dotted = fields.map((f) => f.name).join('.');
    if (route.body && (dotted === route.body || dotted.startsWith(`${route.body}.`))) throw RuneError.invalid(key, `is set by the request body of ${route.verb} ${route.pattern}, not by a query parameter`);
    if (pathValues.has(dotted)) throw RuneError.invalid(key, 'is set by the URL path, not by a query parameter');
    const field = fields[fields.length - 1]!;
    const values = query.getAll(key);
    let value: JsonValue;
    if (field.fieldKind === 'list') {
      if (field.listKind === 'message' && !hasSpecialJson(field.message)) throw RuneError.invalid(key, 'a list of messages cannot be set from the query string; use a route that takes a body');
      value = values.map((v) => scalarFromString(field, v, key));
    } else {
      if (values.length > 1) throw RuneError.invalid(key, `given ${values.length} times; it is not a repeated field`);
      if (field.fieldKind === 'map' || (field.fieldKind === 'message' && !hasSpecialJson(field.message))) {
        throw RuneError.invalid(key, `is a message; set its fields instead (${key}.<field>=…)`);
      }
      value = scalarFromString(field, values[0]!, key);
    }
    setAt(route.input, json, dotted, value);
    seen.set(`${field.parent.typeName}.${field.name}`, key);
  }
  return { json, seen };
}

/** The fields along a query key such as `options.limit` or `from_revision`; throws with a hint. */
function resolveQueryKey(message: DescMessage, key: string): DescField[] {
  const fields: DescField[] = [];
  let current: DescMessage | undefined = message;
  let path = '';
  for (const part of key.split('.')) {
    if (!current) throw RuneError.invalid(key, `unknown query parameter: ${path} has no fields`);
    const field = findField(current, part);
    if (!field) {
      const candidates = current.fields.map((f) => joinPath(path, f.jsonName));
      throw RuneError.invalid(key, `unknown query parameter${didYouMeanSuffix(joinPath(path, part), candidates)}`);
    }
    fields.push(field);
    path = joinPath(path, field.jsonName);
    current = field.fieldKind === 'message' && !hasSpecialJson(field.message) ? field.message : undefined;
  }
  return fields;
}

function fieldAt(message: DescMessage, path: string): DescField {
  let current = message;
  let field: DescField | undefined;
  for (const part of path.split('.')) {
    field = findField(current, part);
    if (!field) throw new Error(`${message.typeName} has no field ${path}`); // checked when the route was built
    if (field.fieldKind === 'message') current = field.message;
  }
  return field!;
}

/** The key an object uses for a field: the one already present (JSON or proto name), else the JSON name. */
function keyFor(object: JsonObject, field: DescField): string {
  if (field.name in object && !(field.jsonName in object)) return field.name;
  return field.jsonName;
}

function getAt(message: DescMessage, json: JsonObject, path: string): JsonValue | undefined {
  let current: JsonValue | undefined = json;
  let desc = message;
  for (const part of path.split('.')) {
    if (current === null || typeof current !== 'object' || Array.isArray(current)) return undefined;
    const field = findField(desc, part)!;
    current = current[keyFor(current, field)];
    if (field.fieldKind === 'message') desc = field.message;
  }
  return current;
}

function setAt(message: DescMessage, json: JsonObject, path: string, value: JsonValue): void {
  const parts = path.split('.');
  let holder = json;
  let desc = message;
  for (let i = 0; i < parts.length; i++) {
    const field = findField(desc, parts[i]!)!;
    const key = keyFor(holder, field);
    if (i === parts.length - 1) {
      holder[key] = value;
      return;
    }
    let next = holder[key];
    if (next === undefined || next === null) holder[key] = next = {};
    if (typeof next !== 'object' || Array.isArray(next)) throw RuneError.invalid(parts.slice(0, i + 1).join('.'), `expected a JSON object, got ${describe(next)}`);
    holder = next;
    if (field.fieldKind === 'message') desc = field.message;
  }
}

/** A path or query string → the JSON value proto3 JSON expects for the field (or list item). */
function scalarFromString(field: DescField, raw: string, where: string): JsonValue {
  const kind = field.fieldKind === 'list' ? field.listKind : field.fieldKind;
  if (kind === 'enum') return /^-?\d+$/.test(raw) ? Number(raw) : raw;
  if (kind === 'message') return raw; // Timestamp, Duration, FieldMask, wrappers: their JSON is a string or parses from one
  const scalar = field.scalar!;
  switch (scalar) {
    case ScalarType.STRING:
    case ScalarType.BYTES:
      return raw;
    case ScalarType.BOOL:
      if (raw === 'true' || raw === '1' || raw === '') return true;
      if (raw === 'false' || raw === '0') return false;
      throw RuneError.invalid(where, `expected true or false, got "${raw}"`);
    default:
      // Numbers: proto3 JSON accepts them as strings (int64 always is); fromJson checks the range.
      if (raw.trim() === '') throw RuneError.invalid(where, 'expected a number, got an empty string');
      return raw;
  }
}
