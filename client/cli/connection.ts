/**
 * Where a command connects and as whom: the server address, the token, the namespace.
 * Resolution order, for each setting on its own: flags > environment > the context from the
 * client config (`--context`, else `RUNE_CONTEXT`, else `currentContext`) > built-in default
 * (server 127.0.0.1:7863, namespace "default").
 *
 * Tokens: `--token`, `--token-file`, `RUNE_TOKEN`, `RUNE_TOKEN_FILE`, the context's `token`,
 * the context's `tokenFile` — the first one set wins. Token files are read at use.
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
  /** The context used, if any. */
  context?: ClientContext;
  configPath: string;
  timeoutSeconds: number;
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
  const server = flags.server ?? (env.RUNE_SERVER || undefined) ?? context?.server ?? DEFAULT_SERVER;
  const from = flags.server !== undefined ? '--server' : env.RUNE_SERVER ? 'RUNE_SERVER' : `context "${context?.name}"`;
  if (!isHostPort(server)) throw new UsageError(`${from}: "${server}" is not host:port, e.g. 127.0.0.1:7863`);

  const tokenChoice = pickToken(flags, env, context);
  const namespace = flags.namespace ?? (env.RUNE_NAMESPACE || undefined) ?? (context?.namespace || undefined) ?? DEFAULT_NAMESPACE;
  const namespaceProblem = dnsLabelProblem(namespace);
  if (namespaceProblem !== undefined) {
    const source = flags.namespace !== undefined ? '-n/--namespace' : env.RUNE_NAMESPACE ? 'RUNE_NAMESPACE' : `context "${context?.name}" namespace`;
    throw new UsageError(`${source}: "${namespace}" ${namespaceProblem}`);
  }
  const timeoutSeconds = flags.timeout ?? 10;
  if (!(timeoutSeconds > 0)) throw new UsageError(`--timeout must be a positive number of seconds, not ${flags.timeout}`);
  return { server, ...tokenChoice, namespace, namespaceExplicit: flags.namespace !== undefined, context, configPath, timeoutSeconds };
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

/** Reads the client config (see clientConfigPath) and resolves the connection for `flags`. */
export async function connectionFor(flags: Partial<GlobalArgs>, env: NodeJS.ProcessEnv = process.env): Promise<Connection> {
  const configPath = clientConfigPath(env);
  const config = await readClientConfig(configPath);
  return resolveConnection(flags, env, config, configPath);
}
