/**
 * The requests of the local event socket, one JSON object per line:
 *
 * ```json
 * {"action":"subscribe","namespaces":["a","b"],"filter":{"job":"backup","status":["running"],"source":"local"},"includeHistory":100,"fromRevision":0}
 * {"action":"status"}
 * ```
 *
 * Parsing is strict: an unknown action or field, a value of the wrong type, a status that is
 * not a run phase, an out-of-range number: RuneError INVALID_ARGUMENT naming the field
 * (`filter.status[1]`, `includeHistory`), with a message saying what is wanted.
 */
import { RuneError } from '../../shared/errors.js';
import { MAX_RUN_HISTORY, type RunSelector } from '../domain/run-events.js';
import { checkRunFilter } from '../domain/runs.js';

export const SOCKET_ACTIONS = ['subscribe', 'status'] as const;
export type SocketAction = (typeof SOCKET_ACTIONS)[number];

export interface SubscribeRequest {
  action: 'subscribe';
  selector: RunSelector;
  includeHistory: number;
  fromRevision: number;
}

export type SocketRequest = SubscribeRequest | { action: 'status' };

const SUBSCRIBE_FIELDS = ['action', 'namespaces', 'filter', 'includeHistory', 'fromRevision'];
const FILTER_FIELDS = ['job', 'status', 'source'];

export function parseSocketRequest(line: string): SocketRequest {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    throw RuneError.invalid('request', `is not valid JSON (${(err as Error).message}); send one JSON object per line, e.g. {"action":"status"}`);
  }
  if (!isObject(value)) throw RuneError.invalid('request', `must be a JSON object, got ${describe(value)}`);
  const action = value.action;
  if (action === 'status') {
    checkFields(value, ['action'], '');
    return { action };
  }
  if (action !== 'subscribe') {
    throw RuneError.invalid('action', action === undefined ? `is required: one of ${SOCKET_ACTIONS.join(', ')}` : `${JSON.stringify(action)} is not an action; use one of ${SOCKET_ACTIONS.join(', ')}`);
  }
  checkFields(value, SUBSCRIBE_FIELDS, '');
  const namespaces = stringArray(value.namespaces, 'namespaces') ?? [];
  for (const [i, ns] of namespaces.entries()) if (ns === '') throw RuneError.invalid(`namespaces[${i}]`, 'must not be empty; use "*" for every namespace');
  const filter = value.filter;
  if (filter !== undefined && !isObject(filter)) throw RuneError.invalid('filter', `must be an object like {"status":["running"]}, got ${describe(filter)}`);
  if (filter) checkFields(filter, FILTER_FIELDS, 'filter.');
  const runFilter = {
    job: optionalString(filter?.job, 'filter.job'),
    status: stringArray(filter?.status, 'filter.status') ?? [],
    source: optionalString(filter?.source, 'filter.source'),
  };
  checkRunFilter(runFilter);
  return {
    action,
    selector: { namespaces: namespaces.includes('*') ? [] : namespaces, filter: runFilter },
    includeHistory: integer(value.includeHistory, 'includeHistory', 0, MAX_RUN_HISTORY),
    fromRevision: integer(value.fromRevision, 'fromRevision', 0, Number.MAX_SAFE_INTEGER),
  };
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v)}`;
}

function checkFields(value: Record<string, unknown>, known: string[], prefix: string): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) throw RuneError.invalid(`${prefix}${key}`, `is not a field of this request; known fields: ${known.join(', ')}`);
  }
}

function stringArray(v: unknown, field: string): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw RuneError.invalid(field, `must be an array of strings, got ${describe(v)}`);
  for (const [i, item] of v.entries()) if (typeof item !== 'string') throw RuneError.invalid(`${field}[${i}]`, `must be a string, got ${describe(item)}`);
  return v as string[];
}

function optionalString(v: unknown, field: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') throw RuneError.invalid(field, `must be a string, got ${describe(v)}`);
  return v;
}

function integer(v: unknown, field: string, min: number, max: number): number {
  if (v === undefined || v === null) return 0;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw RuneError.invalid(field, `must be a whole number from ${min} to ${max}, got ${describe(v)}`);
  return v;
}
