/**
 * Where a command connects and as whom: the server address, the token, the namespace.
 * Resolution order, for each setting on its own: flags > environment > the context from the
 * client config (`--context`, else `RUNE_CONTEXT`, else `currentContext`) > built-in default
 * (server 127.0.0.1:7863, namespace "default").
 *
 * Tokens: `--token`, `--token-file`, `RUNE_TOKEN`, `RUNE_TOKEN_FILE`, the context's `token`,
 * the context's `tokenFile` — the first one set wins. Token files are read at use.
 *
 * TLS: `--ca`/`RUNE_CA`/the context's `ca`, and likewise `cert` and `key`, each on its own. The
 * connection uses TLS when any of them is set or the server is written `tls://host:port` (or
 * `https://host:port`); without a CA, runed's certificate is verified against the system's roots.
 * `cert` and `key` go together (mutual TLS). The files are read at use (loadTls).
 */
import { readFile } from 'node:fs/promises';
import { RuneError } from '../../shared/errors.js';
import { dnsLabelProblem } from '../../shared/spec/names.js';
import { clientConfigPath, DEFAULT_SERVER, readClientConfig, type ClientConfig, type ClientContext } from '../../shared/config/client-config.js';
import { UsageError, type GlobalArgs } from './global-options.js';
import { loginHint } from './login-hint.js';

export const DEFAULT_NAMESPACE = 'default';

export interface Connection {
  server: string;
  /** An inline token, if that is where the token comes from. */
  token?: string;
  /** A token file, if that is where the token comes from. */
  tokenFile?: string;
  /** Where the token came from, for messages: `--token`, `RUNE_TOKEN`, `context "default"`. */
  tokenSource?: string;
  namespace: string;
  /** True when the namespace came from -n (explicit), so documents naming another one are errors. */
  namespaceExplicit: boolean;
  /** TLS settings when the connection uses TLS; undefined for plaintext. */
  tls?: ConnectionTls;
  /** The context used, if any. */
  context?: ClientContext;
  configPath: string;
  timeoutSeconds: number;
}

/** One TLS file and where its path came from, for messages: `--ca`, `RUNE_CA`, `context "prod"`. */
export interface TlsSetting {
  path: string;
  source: string;
}

/** The TLS files of a connection; all absent means TLS verified against the system's roots. */
export interface ConnectionTls {
  ca?: TlsSetting;
  cert?: TlsSetting;
  key?: TlsSetting;
}

/**
 * Resolves the connection from flags, environment and config, without touching the disk.
 * UsageError when --server is not host:port or --context names no context.
 */
export function resolveConnection(flags: Partial<GlobalArgs>, env: NodeJS.ProcessEnv, config: ClientConfig | undefined, configPath: string): Connection {
  const contextName = flags.context ?? (env.RUNE_CONTEXT || undefined) ?? (config?.currentContext || undefined);
  let context: ClientContext | undefined;
  if (contextName !== undefined) {
    context = config?.contexts.find((c) => c.name === contextName);
    if (!context) {
      const known = config?.contexts.map((c) => c.name) ?? [];
      const where = flags.context !== undefined ? '--context' : env.RUNE_CONTEXT ? 'RUNE_CONTEXT' : 'currentContext';
      throw new UsageError(
        `context "${contextName}" (from ${where}) is not in ${configPath}; ${known.length > 0 ? `known contexts: ${known.join(', ')}` : 'there are no contexts yet: run "rune login"'}`,
      );
    }
  }
  const written = flags.server ?? (env.RUNE_SERVER || undefined) ?? context?.server ?? DEFAULT_SERVER;
  const from = flags.server !== undefined ? '--server' : env.RUNE_SERVER ? 'RUNE_SERVER' : `context "${context?.name}"`;
  const { address: server, tls: tlsScheme } = splitServerAddress(written);
  if (!isHostPort(server)) throw new UsageError(`${from}: "${written}" is not host:port (or tls://host:port), e.g. 127.0.0.1:7863`);
  const tls = pickTls(flags, env, context, tlsScheme);

  const tokenChoice = pickToken(flags, env, context);
  const namespace = flags.namespace ?? (env.RUNE_NAMESPACE || undefined) ?? (context?.namespace || undefined) ?? DEFAULT_NAMESPACE;
  const namespaceProblem = dnsLabelProblem(namespace);
  if (namespaceProblem !== undefined) {
    const source = flags.namespace !== undefined ? '-n/--namespace' : env.RUNE_NAMESPACE ? 'RUNE_NAMESPACE' : `context "${context?.name}" namespace`;
    throw new UsageError(`${source}: "${namespace}" ${namespaceProblem}`);
  }
  const timeoutSeconds = flags.timeout ?? 10;
  if (!(timeoutSeconds > 0)) throw new UsageError(`--timeout must be a positive number of seconds, not ${flags.timeout}`);
  return { server, ...tokenChoice, namespace, namespaceExplicit: flags.namespace !== undefined, ...(tls ? { tls } : {}), context, configPath, timeoutSeconds };
}

/** `tls://host:port` and `https://host:port` mean TLS; the address is host:port either way. */
export function splitServerAddress(server: string): { address: string; tls: boolean } {
  const match = /^(tls|https):\/\/(.*?)\/?$/i.exec(server);
  return match ? { address: match[2]!, tls: true } : { address: server, tls: false };
}

/** The TLS settings from flags > env > context, each on its own; undefined for plaintext. UsageError for a cert without key or the reverse. */
export function pickTls(flags: Partial<GlobalArgs>, env: NodeJS.ProcessEnv, context: ClientContext | undefined, tlsScheme: boolean): ConnectionTls | undefined {
  const pick = (name: 'ca' | 'cert' | 'key', envName: string): TlsSetting | undefined => {
    if (flags[name] !== undefined) return { path: flags[name], source: `--${name}` };
    if (env[envName]) return { path: env[envName], source: envName };
    if (context?.[name]) return { path: context[name], source: `context "${context.name}"` };
    return undefined;
  };
  const ca = pick('ca', 'RUNE_CA');
  const cert = pick('cert', 'RUNE_CERT');
  const key = pick('key', 'RUNE_KEY');
  if (cert !== undefined && key === undefined) throw new UsageError(`a client certificate (${cert.source}) needs its key: pass --key (or set RUNE_KEY)`);
  if (key !== undefined && cert === undefined) throw new UsageError(`a client key (${key.source}) needs its certificate: pass --cert (or set RUNE_CERT)`);
  if (!tlsScheme && ca === undefined && cert === undefined) return undefined;
  return { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) };
}

function pickToken(flags: Partial<GlobalArgs>, env: NodeJS.ProcessEnv, context: ClientContext | undefined): Pick<Connection, 'token' | 'tokenFile' | 'tokenSource'> {
  if (flags.token !== undefined) return { token: flags.token, tokenSource: '--token' };
  if (flags.tokenFile !== undefined) return { tokenFile: flags.tokenFile, tokenSource: '--token-file' };
  if (env.RUNE_TOKEN) return { token: env.RUNE_TOKEN, tokenSource: 'RUNE_TOKEN' };
  if (env.RUNE_TOKEN_FILE) return { tokenFile: env.RUNE_TOKEN_FILE, tokenSource: 'RUNE_TOKEN_FILE' };
  if (context?.token) return { token: context.token, tokenSource: `context "${context.name}"` };
  if (context?.tokenFile) return { tokenFile: context.tokenFile, tokenSource: `context "${context.name}"` };
  return {};
}

/** True for `host:port` with a port 1-65535 (`[::1]:7863` for IPv6). */
export function isHostPort(address: string): boolean {
  const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(address);
  return match !== null && Number(match[2]) >= 1 && Number(match[2]) <= 65535;
}

/** True when `server`'s host is a loopback address (tokens then never leave the machine). */
export function isLoopback(server: string): boolean {
  const host = server.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/**
 * The token to send: the inline one, or the trimmed contents of the token file.
 * UNAUTHENTICATED with login advice when there is none or the file is unreadable or empty.
 */
export async function loadToken(connection: Connection): Promise<string> {
  if (connection.token !== undefined && connection.token !== '') return connection.token;
  if (connection.tokenFile === undefined) {
    throw new RuneError('UNAUTHENTICATED', `no token for ${connection.server}; ${loginHint(connection.server)}`);
  }
  let text: string;
  try {
    text = await readFile(connection.tokenFile, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'it does not exist' : (err as Error).message;
    throw new RuneError('UNAUTHENTICATED', `cannot read the token file ${connection.tokenFile} (from ${connection.tokenSource}): ${reason}; ${loginHint(connection.server)}`);
  }
  const token = text.trim();
  if (token === '') throw new RuneError('UNAUTHENTICATED', `the token file ${connection.tokenFile} is empty; ${loginHint(connection.server)}`);
  return token;
}

/**
 * The PEM bytes of the connection's TLS files (for RuneClient's `tls`), or undefined for
 * plaintext. FAILED_PRECONDITION naming the file and where it came from when one cannot be
 * read or holds no PEM certificate / key.
 */
export async function loadTls(connection: Pick<Connection, 'tls'>): Promise<{ ca?: Buffer; cert?: Buffer; key?: Buffer } | undefined> {
  const tls = connection.tls;
  if (tls === undefined) return undefined;
  const read = async (setting: TlsSetting | undefined, what: string, marker: RegExp) => {
    if (setting === undefined) return undefined;
    let bytes: Buffer;
    try {
      bytes = await readFile(setting.path);
    } catch (err) {
      const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'it does not exist' : (err as Error).message;
      throw new RuneError('FAILED_PRECONDITION', `cannot read the ${what} ${setting.path} (from ${setting.source}): ${reason}`);
    }
    if (!marker.test(bytes.toString('latin1'))) throw new RuneError('FAILED_PRECONDITION', `${setting.path} (from ${setting.source}) holds no PEM ${what}`);
    return bytes;
  };
  const [ca, cert, key] = await Promise.all([
    read(tls.ca, 'CA certificate', /-----BEGIN CERTIFICATE-----/),
    read(tls.cert, 'client certificate', /-----BEGIN CERTIFICATE-----/),
    read(tls.key, 'private key', /-----BEGIN [A-Z ]*PRIVATE KEY-----/),
  ]);
  return { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) };
}

/** Reads the client config (see clientConfigPath) and resolves the connection for `flags`. */
export async function connectionFor(flags: Partial<GlobalArgs>, env: NodeJS.ProcessEnv = process.env): Promise<Connection> {
  const configPath = clientConfigPath(env);
  const config = await readClientConfig(configPath);
  return resolveConnection(flags, env, config, configPath);
}
