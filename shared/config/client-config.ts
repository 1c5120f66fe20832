/**
 * The CLI's configuration file (`~/.rune/config.yaml`, or `$RUNE_CONFIG`): named contexts, each
 * a runed address with credentials and a default namespace, and which one is current. runed
 * writes a first context on its first start; `rune login` adds or replaces contexts.
 *
 * ```yaml
 * currentContext: default
 * contexts:
 *   - name: default
 *     server: 127.0.0.1:7863
 *     tokenFile: /home/me/.rune/data/admin.token
 *     namespace: default
 *   - name: prod                     # runed serving mutual TLS
 *     server: rune.example.internal:7863
 *     tokenFile: /home/me/.rune/prod.token
 *     ca: /home/me/.rune/prod/ca.crt       # any of ca, cert, key set: connect with TLS
 *     cert: /home/me/.rune/prod/client.crt
 *     key: /home/me/.rune/prod/client.key
 * ```
 *
 * The file may hold tokens, so it is written with mode 0600 in a 0700 directory, atomically
 * (a temporary file renamed over the old one): a reader never sees half a file.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { z } from 'zod';
import { RuneError } from '../errors.js';

/** Where runed listens for gRPC unless told otherwise. */
export const DEFAULT_SERVER = '127.0.0.1:7863';

export interface ClientContext {
  name: string;
  /** host:port of runed's gRPC endpoint. */
  server: string;
  /** A bearer token, inline. */
  token?: string;
  /** A file holding the bearer token (read at every use, so a rotated file just works). */
  tokenFile?: string;
  /** Default namespace for commands run in this context. */
  namespace?: string;
  /** PEM file of the CA that signed runed's certificate: connect with TLS (see also `tls://` servers). */
  ca?: string;
  /** PEM client certificate for runed's mutual TLS (with `key`). */
  cert?: string;
  /** PEM private key of `cert`. */
  key?: string;
}

export interface ClientConfig {
  /** Name of the context commands use when `--context` is not given; '' for none. */
  currentContext: string;
  contexts: ClientContext[];
}

const ContextSchema = z.looseObject({
  name: z.string().min(1, 'must not be empty'),
  server: z.string().min(1, 'must not be empty'),
  token: z.string().optional(),
  tokenFile: z.string().optional(),
  namespace: z.string().optional(),
  ca: z.string().optional(),
  cert: z.string().optional(),
  key: z.string().optional(),
});

const ConfigSchema = z.looseObject({
  currentContext: z.string().optional().default(''),
  contexts: z.array(ContextSchema).optional().default([]),
});

/** `env.RUNE_CONFIG` when set, else `$HOME/.rune/config.yaml` (os.homedir() without HOME). */
export function clientConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.RUNE_CONFIG) return env.RUNE_CONFIG;
  return join(env.HOME ?? homedir(), '.rune', 'config.yaml');
}

/**
 * Reads the config at `path`. Undefined when the file does not exist; an empty file is a
 * config with no contexts. Throws a FAILED_PRECONDITION RuneError naming the file (and line)
 * when it is not YAML or not shaped like a config.
 */
export async function readClientConfig(path: string): Promise<ClientConfig | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new RuneError('FAILED_PRECONDITION', `cannot read the client config ${path}: ${(err as Error).message}`, { cause: err });
  }
  let data: unknown;
  try {
    data = parseYaml(text, { prettyErrors: true });
  } catch (err) {
    throw new RuneError('FAILED_PRECONDITION', `client config ${path} is not valid YAML: ${(err as Error).message.split('\n')[0]}; fix it or delete it and run "rune login"`, { cause: err });
  }
  if (data === null || data === undefined) return { currentContext: '', contexts: [] };
  const parsed = ConfigSchema.safeParse(data);
  if (!parsed.success) {
    const first = parsed.error.issues[0]!;
    const field = first.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '') || '(top level)';
    throw new RuneError('FAILED_PRECONDITION', `client config ${path} is malformed: ${field}: ${first.message}; fix it or delete it and run "rune login"`);
  }
  return parsed.data as ClientConfig;
}

/**
 * Writes `config` to `path` atomically: the directory is created with mode 0700 if missing,
 * the file gets mode 0600. Contexts are written as given (undefined fields left out).
 */
export async function writeClientConfig(path: string, config: ClientConfig): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const clean: ClientConfig = {
    ...config,
    currentContext: config.currentContext,
    contexts: config.contexts.map((c) => Object.fromEntries(Object.entries(c).filter(([, v]) => v !== undefined)) as unknown as ClientContext),
  };
  const temp = join(dir, `.${randomBytes(6).toString('hex')}.config.tmp`);
  const file = await open(temp, 'wx', 0o600);
  try {
    await file.writeFile(stringifyYaml(clean), 'utf8');
    await file.sync();
    await file.close();
    await rename(temp, path);
  } catch (err) {
    await file.close().catch(() => undefined);
    await rm(temp, { force: true });
    throw err;
  }
}

/** The context named `name`, or undefined. */
export function findContext(config: ClientConfig | undefined, name: string): ClientContext | undefined {
  return config?.contexts.find((c) => c.name === name);
}

/**
 * A copy of `config` with `context` added, or replacing the context of the same name; with
 * `makeCurrent`, it also becomes the current context. Never mutates `config`.
 */
export function upsertContext(config: ClientConfig | undefined, context: ClientContext, options: { makeCurrent: boolean }): ClientConfig {
  const contexts = (config?.contexts ?? []).filter((c) => c.name !== context.name);
  const index = (config?.contexts ?? []).findIndex((c) => c.name === context.name);
  if (index >= 0) contexts.splice(index, 0, context);
  else contexts.push(context);
  return { ...config, currentContext: options.makeCurrent ? context.name : (config?.currentContext ?? ''), contexts };
}
