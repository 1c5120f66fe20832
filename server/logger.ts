import { pino, type Logger } from 'pino';

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** What redacted fields read as. */
export const REDACTED = '[redacted]';

/**
 * Fields never written as they are, at any depth a log call is likely to use (pino redaction):
 * credentials (`authorization`, `x-api-key`, `token` values) and secret values (a secret's
 * `data`, resolved `env` maps). A safety net: code must not log these in the first place.
 */
export const REDACT_PATHS: readonly string[] = [
  'authorization',
  '*.authorization',
  '*.*.authorization',
  '["x-api-key"]',
  '*["x-api-key"]',
  '*.*["x-api-key"]',
  'secret.data',
  '*.secret.data',
  'secretData',
  '*.secretData',
  'secretValue',
  '*.secretValue',
  'env',
  '*.env',
];

/** Structured JSON logs on stdout (or `destination`), with REDACT_PATHS censored. Secrets never go in here. */
export function createLogger(level: LogLevel, destination?: NodeJS.WritableStream): Logger {
  return pino(
    { level, base: { app: 'runed' }, timestamp: pino.stdTimeFunctions.isoTime, redact: { paths: [...REDACT_PATHS], censor: REDACTED } },
    destination ?? process.stdout,
  );
}
