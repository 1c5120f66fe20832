/**
 * Issues and verifies API tokens: JWTs signed by runed (HS256, a 32-byte key generated on first
 * start and kept 0600 in the data dir). Each token's id (jti) is recorded in the store as a
 * `tokens` object so it can be listed and revoked; the token value itself is never stored.
 *
 * Verification is the signature, the expiry, and an in-memory lookup of the jti (kept current
 * by an informer): no store read and no scan per request.
 */
import { randomBytes } from 'node:crypto';
import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import { RuneError } from '../../shared/errors.js';
import type { Subject, Token } from '../../shared/gen/rune/v1/auth.js';
import { Informer } from '../store/informer.js';
import type { Store } from '../store/store.js';
import { readOrCreateSecretFile } from './key-file.js';

const ISSUER = 'runed';
const AUDIENCE = 'rune';
/** Most verified tokens remembered (see TokenService.verified). */
const MAX_VERIFIED = 10_000;

/** Who is calling, once authenticated. */
export interface Principal {
  subject: string;
  admin: boolean;
  policies: string[];
  tokenId: string;
  /** Undefined when the token never expires. */
  expiresAt: Date | undefined;
}

export interface IssueOptions {
  subject: string;
  description?: string;
  /** Lifetime in seconds; 0 or absent: no expiry. */
  ttlSeconds?: number;
}

const LOGIN_HINT = 'log in with `rune login --server ADDR --token-file <data-dir>/admin.token` or pass --token';

export class TokenService {
  /**
   * Claims of tokens whose signature was already checked, by token string (bounded; oldest
   * dropped first). jose's verification costs ~60–80 µs and a thread-pool hop per call; the
   * signing key never changes while runed runs, so a token verified once stays authentic, and
   * expiry, revocation and the subject are checked again on every call.
   */
  private readonly verified = new Map<string, { jti: string; sub: string; exp: number | undefined }>();

  private constructor(
    private readonly key: Uint8Array,
    private readonly tokens: Informer<Token>,
    private readonly subjects: Informer<Subject>,
  ) {}

  /** Loads (or creates) the signing key in `keyFile` and starts following tokens and subjects. */
  static async open(store: Store, keyFile: string): Promise<TokenService> {
    const key = await readOrCreateSecretFile(keyFile, () => randomBytes(32));
    const [tokens, subjects] = await Promise.all([Informer.start<Token>(store, 'tokens'), Informer.start<Subject>(store, 'subjects')]);
    return new TokenService(key, tokens, subjects);
  }

  /**
   * Signs a token for `subject` and returns it with the record to store. The caller commits the
   * record (with whatever else it writes) before handing the token out.
   */
  async issue(options: IssueOptions, now = new Date()): Promise<{ token: string; record: Token }> {
    const jti = randomBytes(10).toString('hex');
    const expiresAt = options.ttlSeconds ? new Date(now.getTime() + options.ttlSeconds * 1000) : undefined;
    let jwt = new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setIssuer(ISSUER).setAudience(AUDIENCE).setSubject(options.subject).setJti(jti).setIssuedAt(Math.floor(now.getTime() / 1000));
    if (expiresAt) jwt = jwt.setExpirationTime(Math.floor(expiresAt.getTime() / 1000));
    const token = await jwt.sign(this.key);
    const record: Token = {
      metadata: { name: jti, namespace: '', uid: '', labels: {}, resourceVersion: 0, generation: 0, createdAt: undefined, updatedAt: undefined, deletionTimestamp: undefined, finalizers: [] },
      subject: options.subject,
      description: options.description ?? '',
      expiresAt,
      revoked: false,
    };
    return { token, record };
  }

  /** The principal behind `token`, or UNAUTHENTICATED saying why and how to log in. */
  async verify(token: string): Promise<Principal> {
    let claims = this.verified.get(token);
    if (claims?.exp !== undefined && Math.floor(Date.now() / 1000) >= claims.exp) {
      this.verified.delete(token);
      throw new RuneError('UNAUTHENTICATED', `token has expired; ${LOGIN_HINT} with a new token`);
    }
    if (!claims) {
      try {
        const { payload } = await jwtVerify(token, this.key, { issuer: ISSUER, audience: AUDIENCE, algorithms: ['HS256'] });
        claims = { jti: payload.jti ?? '', sub: payload.sub ?? '', exp: payload.exp };
      } catch (err) {
        if (err instanceof joseErrors.JWTExpired) throw new RuneError('UNAUTHENTICATED', `token has expired; ${LOGIN_HINT} with a new token`);
        throw new RuneError('UNAUTHENTICATED', `token is not valid for this runed (bad signature or malformed); ${LOGIN_HINT}`);
      }
      if (this.verified.size >= MAX_VERIFIED) this.verified.delete(this.verified.keys().next().value!);
      this.verified.set(token, claims);
    }
    const jti = claims.jti;
    const record = this.tokens.get('', jti);
    if (!record || record.revoked) throw new RuneError('UNAUTHENTICATED', `token ${jti} has been revoked; ${LOGIN_HINT} with another token`);
    const subject = this.subjects.get('', claims.sub);
    if (!subject) throw new RuneError('UNAUTHENTICATED', `subject "${claims.sub}" of token ${jti} no longer exists; ${LOGIN_HINT}`);
    return { subject: subject.metadata!.name, admin: isAdmin(subject), policies: subject.policies, tokenId: jti, expiresAt: record.expiresAt };
  }

  /** Whether token `jti` is still valid (for ending open streams of revoked tokens). */
  isActive(jti: string): boolean {
    const record = this.tokens.get('', jti);
    return record !== undefined && !record.revoked;
  }

  /** Subject `name` as it is now (from memory), or undefined. Never mutate it. */
  subject(name: string): Subject | undefined {
    return this.subjects.get('', name);
  }

  /**
   * Calls `listener` whenever credentials stop being valid: a token revoked or deleted
   * (`tokenId`), a subject deleted (`subject`). Called synchronously as the change is seen.
   */
  onInvalidated(listener: (invalidated: { tokenId?: string; subject?: string }) => void): void {
    this.tokens.onChange((token, type) => {
      if (type === 'DELETED' || token.revoked) listener({ tokenId: token.metadata!.name });
    });
    this.subjects.onChange((subject, type) => {
      if (type === 'DELETED') listener({ subject: subject.metadata!.name });
    });
  }

  stop(): void {
    this.tokens.stop();
    this.subjects.stop();
  }
}

/** Admins pass the admin gate: the subject's admin flag (root), or the built-in admin policy attached. */
export function isAdmin(subject: Subject): boolean {
  return subject.admin || subject.policies.includes('admin');
}

/** Reads the bearer token from `authorization: Bearer …` or `x-api-key`. */
export function bearerToken(authorization: string | undefined, apiKey: string | undefined): string {
  if (authorization) {
    const match = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
    if (!match) throw new RuneError('UNAUTHENTICATED', `the authorization header must be "Bearer <token>"; ${LOGIN_HINT}`);
    return match[1]!;
  }
  if (apiKey) return apiKey.trim();
  throw new RuneError('UNAUTHENTICATED', `no token: this call needs "authorization: Bearer <token>"; ${LOGIN_HINT}`);
}
