/**
 * API tokens: issued for a subject, listed (ids and records, never values), revoked. The value
 * is handed out once, by `createToken`; runed keeps only the record named by the token's id
 * (jti). A revoked token is refused from the next call on and its open streams end.
 */
import { RuneError } from '../../shared/errors.js';
import type { Token } from '../../shared/gen/rune/v1/auth.js';
import type { TokenService } from '../auth/token-service.js';
import type { Store } from '../store/store.js';
import { listAll } from './objects.js';

/** Longest lifetime a token may be given: ten years. */
export const MAX_TTL_SECONDS = 10 * 365 * 24 * 3600;
const MAX_DESCRIPTION = 256;

export interface NewToken {
  subject: string;
  /** Seconds; 0: never expires. */
  ttlSeconds: number;
  description: string;
}

/** Issues a token; NOT_FOUND for an unknown subject, INVALID_ARGUMENT for a bad ttl or description. */
export async function createToken(store: Store, tokens: TokenService, input: NewToken, now = new Date()): Promise<{ value: string; token: Token }> {
  if (!input.subject) throw RuneError.invalid('subject', 'is required: the subject the token authenticates as');
  if (!Number.isInteger(input.ttlSeconds) || input.ttlSeconds < 0 || input.ttlSeconds > MAX_TTL_SECONDS) {
    throw RuneError.invalid('ttlSeconds', `must be a whole number of seconds from 0 (never expires) to ${MAX_TTL_SECONDS} (ten years), not ${input.ttlSeconds}`);
  }
  if (input.description.length > MAX_DESCRIPTION) throw RuneError.invalid('description', `must be at most ${MAX_DESCRIPTION} characters`);
  const { token: value, record } = await tokens.issue({ subject: input.subject, description: input.description, ttlSeconds: input.ttlSeconds }, now);
  // One commit: the subject must still exist when the record is written.
  const result = await store.commit([
    { op: 'check', kind: 'subjects', namespace: '', name: input.subject, exists: true, error: () => RuneError.notFound(`subject "${input.subject}" not found; create it with rune admin subject create ${input.subject}`) },
    { op: 'create', kind: 'tokens', object: record },
  ]);
  return { value, token: result.objects[1] as Token };
}

/** Token records, oldest first; only `subject`'s when given. */
export async function listTokens(store: Store, subject = ''): Promise<Token[]> {
  const all = await listAll<Token>(store, 'tokens');
  return all.filter((t) => !subject || t.subject === subject).sort((a, b) => (a.metadata!.createdAt?.getTime() ?? 0) - (b.metadata!.createdAt?.getTime() ?? 0));
}

/** Revokes token `id` (idempotent); NOT_FOUND when there is no such token. */
export async function revokeToken(store: Store, id: string): Promise<Token> {
  if (!id) throw RuneError.invalid('id', 'is required: a token id from rune admin token list');
  for (let attempt = 1; ; attempt++) {
    const token = await store.get<Token>('tokens', '', id);
    if (!token) throw RuneError.notFound(`token "${id}" not found; list them with rune admin token list`);
    if (token.revoked) return token;
    try {
      return await store.update<Token>('tokens', { ...token, revoked: true });
    } catch (err) {
      if (attempt < 5 && err instanceof RuneError && err.code === 'ABORTED') continue; // changed meanwhile: read again
      throw err;
    }
  }
}
