/**
 * The proto3 JSON mapping, driven by descriptors (dist/rune.binpb), for any message of the API:
 * camelCase names (snake_case accepted on input), int64 as strings, enums by name, Timestamps
 * in RFC 3339, bytes in base64, Any with "@type".
 *
 * Input is strict: an unknown field, a wrong type, or two members of one oneof fail with
 * INVALID_ARGUMENT naming the field by its path as the client wrote it (`spec.ports[0].port`),
 * with a "did you mean" hint for a misspelt name.
 *
 * Output emits every field with implicit presence, defaults included (`"scale": 0`, `"labels": {}`,
 * `"resourceVersion": "0"`), as grpc-gateway does by default; unset message fields are omitted.
 */
import { fromBinary, fromJson, toBinary, toJson, type DescField, type DescMessage, type JsonObject, type JsonValue, type Registry } from '@bufbuild/protobuf';
import { isFieldError } from '@bufbuild/protobuf/reflect';
import { RuneError } from '../../shared/errors.js';
import { didYouMeanSuffix } from '../../shared/spec/suggest.js';
import { hasSpecialJson } from './proto-registry.js';

/** Where each field was seen in the input: `typeName.field` → the path the client used. */
export type SeenFields = Map<string, string>;

const fieldIndex = new WeakMap<DescMessage, Map<string, DescField>>();

/** A message's field by JSON name or proto name; undefined when it has none of that name. */
export function findField(message: DescMessage, key: string): DescField | undefined {
  let index = fieldIndex.get(message);
  if (!index) {
    index = new Map();
    for (const f of message.fields) {
      index.set(f.jsonName, f);
      index.set(f.name, f);
    }
    fieldIndex.set(message, index);
  }
  return index.get(key);
}

export function joinPath(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

export class ProtoJson {
  constructor(readonly registry: Registry) {}

  /**
   * Checks `json` against `message` for unknown fields and oneof conflicts, recording where each
   * field was seen (for naming a type error later). Throws RuneError INVALID_ARGUMENT.
   */
  check(message: DescMessage, json: JsonValue, path: string, seen: SeenFields): void {
    if (json === null) return;
    if (hasSpecialJson(message)) {
      this.checkSpecial(message, json, path);
      return;
    }
    if (typeof json !== 'object' || Array.isArray(json)) {
      throw RuneError.invalid(path || 'body', `expected a JSON object (${message.name}), got ${describe(json)}`);
    }
    const oneofs = new Map<string, string>();
    for (const [key, value] of Object.entries(json)) {
      const field = findField(message, key);
      const at = joinPath(path, key);
      if (!field) {
        const names = message.fields.map((f) => f.jsonName);
        throw RuneError.invalid(at, `unknown field "${key}"${path ? ` in ${path}` : ''}${didYouMeanSuffix(key, names)}`);
      }
      seen.set(`${message.typeName}.${field.name}`, at);
      if (field.oneof && value !== null) {
        const other = oneofs.get(field.oneof.name);
        if (other !== undefined) throw RuneError.invalid(at, `only one of ${field.oneof.fields.map((f) => f.jsonName).join(', ')} may be set, and "${other}" is set too`);
        oneofs.set(field.oneof.name, key);
      }
      this.checkValue(field, value, at, seen);
    }
  }

  private checkValue(field: DescField, value: JsonValue, at: string, seen: SeenFields): void {
    if (value === null) return;
    switch (field.fieldKind) {
      case 'message':
        this.check(field.message, value, at, seen);
        return;
      case 'list':
        if (field.listKind === 'message' && Array.isArray(value)) value.forEach((item, i) => this.check(field.message, item, `${at}[${i}]`, seen));
        return;
      case 'map':
        if (field.mapKind === 'message' && typeof value === 'object' && !Array.isArray(value)) {
          for (const [k, v] of Object.entries(value)) this.check(field.message, v, joinPath(at, k), seen);
        }
        return;
      default:
        return; // scalars and enums: fromJson checks them, named through `seen`
    }
  }

  private checkSpecial(message: DescMessage, json: JsonValue, path: string): void {
    try {
      fromJson(message, json, { registry: this.registry });
    } catch (err) {
      throw RuneError.invalid(path || 'body', cleanReason(err));
    }
  }

  /**
   * Strict proto3 JSON → binary protobuf. Throws RuneError INVALID_ARGUMENT naming the field.
   * `checked`: the caller already ran `check` (with paths of its own) and filled `seen`.
   */
  encode(message: DescMessage, json: JsonObject, options: { seen?: SeenFields; checked?: boolean } = {}): Uint8Array {
    const seen = options.seen ?? new Map();
    if (!options.checked) this.check(message, json, '', seen);
    let parsed;
    try {
      parsed = fromJson(message, json, { registry: this.registry });
    } catch (err) {
      const cause = (err as Error).cause;
      if (isFieldError(cause)) {
        const field = cause.field();
        const key = `${field.parent.typeName}.${field.name}`;
        const at = seen.get(key) ?? field.name;
        throw RuneError.invalid(at, cause.message);
      }
      throw RuneError.invalid('body', cleanReason(err));
    }
    return toBinary(message, parsed);
  }

  /** Binary protobuf → proto3 JSON (defaults emitted). */
  decode(message: DescMessage, bytes: Uint8Array): JsonValue {
    return toJson(message, fromBinary(message, bytes), { alwaysEmitImplicit: true, registry: this.registry });
  }
}

/** bufbuild's "cannot decode message X from JSON: reason" → "reason". */
function cleanReason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.replace(/^cannot decode (message|field) [\w.]+ from JSON: /, '');
}

export function describe(json: JsonValue): string {
  if (json === null) return 'null';
  if (Array.isArray(json)) return 'an array';
  if (typeof json === 'object') return 'an object';
  return `${typeof json} ${JSON.stringify(json)}`;
}
