/**
 * First start: with no subjects in the store, create the "default" namespace, the root subject
 * (admin) and its token, write the token to <data-dir>/admin.token (0600) and, if the CLI has
 * no config yet, a context pointing at this runed. Later starts find subjects and do nothing,
 * so bootstrap happens once (also when root was deleted later).
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import { clientConfigPath, readClientConfig, writeClientConfig } from '../../shared/config/client-config.js';
import type { Subject } from '../../shared/gen/rune/v1/auth.js';
import { newMeta } from '../domain/objects.js';
import { DEFAULT_NAMESPACE } from '../domain/namespaces.js';
import type { Store } from '../store/store.js';
import { writeSecretFile } from './key-file.js';
import type { TokenService } from './token-service.js';

export const ROOT_SUBJECT = 'root';

export interface BootstrapOptions {
  store: Store;
  tokens: TokenService;
  dataDir: string;
  /** The gRPC address clients should use, for the CLI context. */
  grpcAddr: string;
  log: Logger;
  env?: NodeJS.ProcessEnv;
}

/** Returns the path of the admin token file when this start bootstrapped, else undefined. */
export async function bootstrap(options: BootstrapOptions): Promise<string | undefined> {
  const { store, tokens, dataDir, log } = options;
  // Any subject means this runed was bootstrapped: deleting root (as another admin) must not
  // make the next start mint a new admin token.
  if ((await store.list('subjects', { limit: 1 })).items.length > 0) return undefined;
  const { token, record } = await tokens.issue({ subject: ROOT_SUBJECT, description: 'bootstrap admin token' });
  const tokenFile = join(dataDir, 'admin.token');
  // The file first: if we crash before the commit, the next start bootstraps again and
  // overwrites it; the other order could leave a root whose only token is lost.
  await writeSecretFile(tokenFile, token + '\n');
  const root: Subject = { metadata: newMeta(ROOT_SUBJECT, ''), type: 'user', admin: true, policies: ['admin'] };
  const ops = [
    { op: 'create' as const, kind: 'subjects', object: root },
    { op: 'create' as const, kind: 'tokens', object: record },
  ];
  if (!(await store.get('namespaces', '', DEFAULT_NAMESPACE))) ops.push({ op: 'create' as const, kind: 'namespaces', object: { metadata: newMeta(DEFAULT_NAMESPACE, '') } as never });
  await store.commit(ops);
  log.info({ tokenFile }, 'bootstrapped: created the root subject and its admin token');

  const configPath = clientConfigPath(options.env ?? process.env);
  if ((await readClientConfig(configPath).catch(() => 'unreadable')) === undefined) {
    await writeClientConfig(configPath, {
      currentContext: 'default',
      contexts: [{ name: 'default', server: options.grpcAddr, tokenFile, namespace: DEFAULT_NAMESPACE }],
    });
    log.info({ configPath }, 'wrote a CLI context for this runed');
  }
  return tokenFile;
}
