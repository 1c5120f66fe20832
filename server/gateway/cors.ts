/**
 * CORS for browser clients: off unless origins are allowed (`runed --cors-origin
 * https://ui.example.com`, repeatable; `*` allows any origin). Credentials travel in the
 * Authorization or X-API-Key header, never in cookies, so no `Allow-Credentials`.
 */
import type { IncomingMessage } from 'node:http';

export const CORS_ALLOW_HEADERS = 'Authorization, X-API-Key, Content-Type, Accept, Last-Event-ID';
export const CORS_EXPOSE_HEADERS = 'WWW-Authenticate, Retry-After';
const MAX_AGE_SECONDS = 600;

export class Cors {
  private readonly any: boolean;
  private readonly origins: ReadonlySet<string>;

  constructor(origins: readonly string[] = []) {
    this.any = origins.includes('*');
    this.origins = new Set(origins.map((o) => o.replace(/\/+$/, '')));
  }

  get enabled(): boolean {
    return this.any || this.origins.size > 0;
  }

  allows(origin: string): boolean {
    return this.any || this.origins.has(origin);
  }

  /** Headers for an actual request from an allowed origin; none otherwise. */
  responseHeaders(req: IncomingMessage): Record<string, string> {
    const origin = req.headers.origin;
    if (origin === undefined || !this.allows(origin)) return {};
    return { 'access-control-allow-origin': this.any ? '*' : origin, vary: 'Origin', 'access-control-expose-headers': CORS_EXPOSE_HEADERS };
  }

  /** True for a browser preflight (OPTIONS with Origin and Access-Control-Request-Method). */
  static isPreflight(req: IncomingMessage): boolean {
    return req.method === 'OPTIONS' && req.headers.origin !== undefined && req.headers['access-control-request-method'] !== undefined;
  }

  /** Headers answering a preflight from an allowed origin for a path serving `methods`. */
  preflightHeaders(req: IncomingMessage, methods: readonly string[]): Record<string, string> {
    return {
      ...this.responseHeaders(req),
      'access-control-allow-methods': methods.join(', '),
      'access-control-allow-headers': CORS_ALLOW_HEADERS,
      'access-control-max-age': String(MAX_AGE_SECONDS),
    };
  }
}
