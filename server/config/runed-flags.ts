/**
 * Every runed setting, declared once. The table feeds yargs (flags and --help), the config
 * file loader (`--config runed.yaml`, same kebab-case keys), the environment (`RUNE_<NAME>`)
 * and `runed config print` (secret entries redacted). Add a setting here and it exists everywhere.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { LOG_LEVELS } from '../logger.js';
import { parseRateLimit } from '../api/rate-limiter.js';
import { DEFAULT_GRPC_ADDR, DEFAULT_HTTP_ADDR, DEFAULT_RATE_LIMIT_PER_MINUTE } from '../runed.js';

export const FLAG_TYPES = ['string', 'number', 'boolean', 'string-array'] as const;
export type FlagType = (typeof FLAG_TYPES)[number];
export type FlagValue = string | number | boolean | string[] | undefined;

export interface RunedFlag {
  /** kebab-case: the flag (`--name`) and the config file key. */
  name: string;
  type: FlagType;
  /** Undefined: unset unless given. */
  default?: FlagValue;
  /** Shown in --help instead of the default value. */
  defaultDescription?: string;
  /** Environment variable read when the flag is not given (`RUNE_<NAME>`); none when absent. */
  env?: string;
  describe: string;
  /** Redacted by `runed config print`, never written into a service unit. */
  secret: boolean;
  /** A file or directory: a relative value in a config file is relative to that file's directory. */
  path?: boolean;
  choices?: readonly string[];
  /** False: not a command-line flag (a secret that must not show in `ps`); env or file only. */
  cli?: boolean;
  /** False: not accepted in the config file (env only). */
  file?: boolean;
}

export const RUNED_FLAGS: readonly RunedFlag[] = [
  { name: 'data-dir', type: 'string', default: join(homedir(), '.rune', 'data'), defaultDescription: '~/.rune/data', env: 'RUNE_DATA_DIR', secret: false, path: true, describe: 'Where the store, keys, the admin token, runed.pid and runed.log live' },
  { name: 'grpc-addr', type: 'string', default: DEFAULT_GRPC_ADDR, env: 'RUNE_GRPC_ADDR', secret: false, describe: 'gRPC listen address (host:port)' },
  { name: 'http-addr', type: 'string', default: DEFAULT_HTTP_ADDR, env: 'RUNE_HTTP_ADDR', secret: false, describe: 'REST gateway listen address (host:port)' },
  { name: 'cors-origin', type: 'string-array', default: [], env: 'RUNE_CORS_ORIGIN', secret: false, describe: 'Browser origin allowed to call the REST gateway (CORS; repeatable or comma-separated; * for any). Default: CORS off' },
  { name: 'http-max-body-bytes', type: 'number', default: 4 * 1024 * 1024, env: 'RUNE_HTTP_MAX_BODY_BYTES', secret: false, describe: 'Largest REST request body (and WebSocket message); larger ones get 413' },
  { name: 'log-level', type: 'string', default: 'info', choices: LOG_LEVELS, env: 'RUNE_LOG_LEVEL', secret: false, describe: 'Log level' },
  { name: 'instance-log-max-bytes', type: 'number', default: 10 * 1024 * 1024, env: 'RUNE_INSTANCE_LOG_MAX_BYTES', secret: false, describe: "Rotate an instance's log file beyond this size (one rotated file is kept)" },
  { name: 'kek-file', type: 'string', env: 'RUNE_KEK_FILE', secret: false, path: true, describe: 'Key-encryption key for secrets: exactly 32 random bytes, mode 0600 [default: env RUNE_KEK (base64 or hex), else <data-dir>/kek, generated on first start]' },
  { name: 'kek', type: 'string', env: 'RUNE_KEK', secret: true, cli: false, file: false, describe: 'The key-encryption key itself, base64 or hex (environment only: never a flag or a file key)' },
  { name: 'secret-versions', type: 'number', default: 5, env: 'RUNE_SECRET_VERSIONS', secret: false, describe: 'Versions kept per secret (older ones are pruned)' },
  { name: 'tls-cert', type: 'string', env: 'RUNE_TLS_CERT', secret: false, path: true, describe: 'PEM certificate chain to serve TLS with (reloaded when the file changes)' },
  { name: 'tls-key', type: 'string', env: 'RUNE_TLS_KEY', secret: false, path: true, describe: 'PEM private key of --tls-cert (reloaded when the file changes)' },
  { name: 'client-ca', type: 'string', env: 'RUNE_CLIENT_CA', secret: false, path: true, describe: 'PEM CA bundle: require client certificates signed by one of these CAs (mutual TLS; reloaded when the file changes)' },
  { name: 'insecure-listen', type: 'boolean', default: false, env: 'RUNE_INSECURE_LISTEN', secret: false, describe: 'Allow plaintext on a non-loopback address (only behind a trusted network or a TLS proxy)' },
  { name: 'rate-limit', type: 'string', default: `${DEFAULT_RATE_LIMIT_PER_MINUTE}/min`, env: 'RUNE_RATE_LIMIT', secret: false, describe: "Calls per subject (per address for calls without one), token bucket with a minute's worth of burst: N/min, N/s or N/h; 0 turns it off" },
  { name: 'audit-retention-days', type: 'number', default: 30, env: 'RUNE_AUDIT_RETENTION_DAYS', secret: false, describe: 'Days the audit log keeps its entries (<data-dir>/audit)' },
  { name: 'event-socket', type: 'boolean', default: true, env: 'RUNE_EVENT_SOCKET', secret: false, describe: 'Serve run events and status as JSON lines on a local Unix socket (mode 0600: its file permissions are the authentication, no token); --no-event-socket turns it off' },
  { name: 'event-socket-path', type: 'string', env: 'RUNE_EVENT_SOCKET_PATH', defaultDescription: '<data-dir>/runed.sock', secret: false, path: true, describe: 'Where the local event socket is created (its directory should not be writable by others)' },
];

/** The effective settings, keyed by flag name. */
export type RunedSettings = Record<string, FlagValue>;

/**
 * Cross-field and range checks on the effective settings. Throws an Error whose message names
 * the flag (and what is wanted); the same rules whichever source a value came from.
 */
export function checkRunedSettings(s: RunedSettings): void {
  const bytes = s['instance-log-max-bytes'] as number;
  const versions = s['secret-versions'] as number;
  if (!Number.isInteger(versions) || versions < 1 || versions > 100) throw new Error(`--secret-versions must be a whole number from 1 to 100 (got ${versions})`);
  if (!Number.isInteger(bytes) || bytes < 1024) throw new Error(`--instance-log-max-bytes must be a whole number of bytes, at least 1024 (got ${bytes})`);
  const maxBody = s['http-max-body-bytes'] as number;
  if (!Number.isInteger(maxBody) || maxBody < 1) throw new Error(`--http-max-body-bytes must be a whole number of bytes, at least 1 (got ${maxBody})`);
  if ((s['tls-cert'] === undefined) !== (s['tls-key'] === undefined)) throw new Error('--tls-cert and --tls-key go together: pass both or neither');
  if (s['client-ca'] !== undefined && s['tls-cert'] === undefined) throw new Error('--client-ca needs --tls-cert and --tls-key: mutual TLS is TLS with client certificates');
  parseRateLimit(s['rate-limit'] as string);
  const days = s['audit-retention-days'] as number;
  if (!(days > 0)) throw new Error(`--audit-retention-days must be a positive number of days (got ${days})`);
}

/** The flag named `name`, or undefined. */
export function findFlag(name: string): RunedFlag | undefined {
  return RUNED_FLAGS.find((f) => f.name === name);
}
