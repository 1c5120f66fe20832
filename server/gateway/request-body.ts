/**
 * Reads a request body as JSON, within a size limit. Errors carry their HTTP status:
 * 413 over the limit (by Content-Length at once, else while reading), 415 for a content type
 * other than JSON (no Content-Type is taken as JSON), 400 for malformed JSON.
 */
import type { IncomingMessage } from 'node:http';
import type { JsonValue } from '@bufbuild/protobuf';
import { RuneError } from '../../shared/errors.js';
import { GatewayError } from './http-errors.js';

export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;

/** The raw body, or undefined when there is none; throws GatewayError 413 past `limit`. */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) throw tooLarge(limit);
  if (declared === '0' || (declared === undefined && req.headers['transfer-encoding'] === undefined)) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw tooLarge(limit);
    chunks.push(chunk as Buffer);
  }
  return size === 0 ? undefined : Buffer.concat(chunks, size);
}

function tooLarge(limit: number): GatewayError {
  return new GatewayError('RESOURCE_EXHAUSTED', 413, `the request body is larger than the limit of ${limit} bytes (runed --http-max-body-bytes)`);
}

/** True for application/json and any `+json` type (charset and other parameters allowed). */
export function isJsonType(contentType: string | undefined): boolean {
  if (contentType === undefined) return true;
  const type = contentType.split(';')[0]!.trim().toLowerCase();
  return type === 'application/json' || /^application\/[\w.-]+\+json$/.test(type);
}

/** The body as JSON, or undefined when empty. */
export function parseJsonBody(req: IncomingMessage, raw: Buffer | undefined): JsonValue | undefined {
  if (raw === undefined) return undefined;
  if (!isJsonType(req.headers['content-type'])) {
    throw new GatewayError('INVALID_ARGUMENT', 415, `the request body must be JSON, not ${req.headers['content-type']}; send Content-Type: application/json`);
  }
  const text = raw.toString('utf8');
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as JsonValue;
  } catch (err) {
    throw new RuneError('INVALID_ARGUMENT', `the request body is not valid JSON: ${(err as Error).message}`);
  }
}

/** A newline-delimited JSON body (one request message per line), for RPCs that stream requests. */
export function parseJsonSequence(req: IncomingMessage, raw: Buffer | undefined): JsonValue[] {
  if (raw === undefined) return [];
  const type = req.headers['content-type']?.split(';')[0]!.trim().toLowerCase();
  if (type !== undefined && type !== 'application/x-ndjson' && type !== 'application/jsonl' && !isJsonType(type)) {
    throw new GatewayError('INVALID_ARGUMENT', 415, `the request body must be newline-delimited JSON, not ${req.headers['content-type']}; send Content-Type: application/x-ndjson`);
  }
  const values: JsonValue[] = [];
  raw
    .toString('utf8')
    .split('\n')
    .forEach((line, i) => {
      if (line.trim() === '') return;
      try {
        values.push(JSON.parse(line) as JsonValue);
      } catch (err) {
        throw new RuneError('INVALID_ARGUMENT', `line ${i + 1} of the request body is not valid JSON: ${(err as Error).message}`);
      }
    });
  return values;
}
