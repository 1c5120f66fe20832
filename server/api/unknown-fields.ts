/**
 * Rejects requests that carry fields this runed does not know. Protobuf would skip them
 * silently; for an API whose requests change stored state, a field the client meant and the
 * server ignored is lost input, so the client hears about it (INVALID_ARGUMENT).
 * ts-proto (option unknownFields=true) keeps such fields in `_unknownFields`, keyed by tag.
 */
import { RuneError } from '../../shared/errors.js';

export function rejectUnknownFields(message: unknown, what: string): void {
  const found = findUnknown(message, '');
  if (found) {
    const where = found.path ? ` inside "${found.path}"` : '';
    throw RuneError.invalid(found.path || 'request', `${what} has unknown field number ${found.field}${where}; this runed does not know it (is the client newer than the server?)`);
  }
}

function findUnknown(value: unknown, path: string): { path: string; field: number } | undefined {
  if (!value || typeof value !== 'object' || value instanceof Date || value instanceof Uint8Array) return undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findUnknown(value[i], `${path}[${i}]`);
      if (found) return found;
    }
    return undefined;
  }
  const record = value as Record<string, unknown>;
  const unknown = record._unknownFields as Record<string, unknown> | undefined;
  if (unknown) {
    const tag = Object.keys(unknown)[0];
    if (tag !== undefined) return { path, field: Number(tag) >>> 3 };
  }
  // for-in over these plain decoded messages: no entries array per object on every request.
  for (const key in record) {
    if (key === '_unknownFields') continue;
    const child = record[key];
    if (!child || typeof child !== 'object') continue;
    const found = findUnknown(child, path ? `${path}.${key}` : key);
    if (found) return found;
  }
  return undefined;
}
