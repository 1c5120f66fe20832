/**
 * `rune login`: checks a token against runed (WhoAmI), then stores it as a context in the
 * client config and makes that context current. Nothing is written if runed rejects the token.
 */
import type { Argv, CommandModule } from 'yargs';
import { action } from '../action.js';
import { UsageError, withHelp, type GlobalArgs } from '../global-options.js';

export const loginCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'login',
  describe: 'Check a token against runed and save it as the current context',
  builder: (y: Argv<GlobalArgs>) =>
    withHelp(y, [
      ['rune login --server 127.0.0.1:7863 --token-file ~/.rune/data/admin.token', 'Log in with the admin token runed wrote on its first start'],
      ['rune login --server 10.0.0.5:7863 --token "$TOKEN" --context lab -n dev', 'Save a second context named lab, default namespace dev'],
      ['rune login --server rune.example.internal:7863 --ca ca.crt --cert me.crt --key me.key --token-file me.token', 'A runed serving mutual TLS: the context keeps the three file paths'],
    ]),
  handler: action<GlobalArgs>(async (argv, state) => {
    const { resolve } = await import('node:path');
    const { readFile } = await import('node:fs/promises');
    const { clientConfigPath, readClientConfig, writeClientConfig, upsertContext, DEFAULT_SERVER } = await import('../../../shared/config/client-config.js');
    const { isHostPort, loadTls, pickTls, splitServerAddress } = await import('../connection.js');
    const { RuneError } = await import('../../../shared/errors.js');

    const server = argv.server ?? (process.env.RUNE_SERVER || undefined) ?? DEFAULT_SERVER;
    const { address, tls: tlsScheme } = splitServerAddress(server);
    if (!isHostPort(address)) throw new UsageError(`--server: "${server}" is not host:port (or tls://host:port), e.g. 127.0.0.1:7863`);
    // TLS files from flags or RUNE_CA/RUNE_CERT/RUNE_KEY (not from a context): saved as absolute paths.
    const tlsFiles = pickTls(argv, process.env, undefined, tlsScheme);
    for (const setting of Object.values(tlsFiles ?? {})) setting.path = resolve(setting.path);
    const tls = await loadTls({ tls: tlsFiles });
    if (argv.namespace !== undefined) {
      const { dnsLabelProblem } = await import('../../../shared/spec/names.js');
      const problem = dnsLabelProblem(argv.namespace);
      if (problem !== undefined) throw new UsageError(`-n/--namespace: "${argv.namespace}" ${problem}`);
    }
    if (argv.context !== undefined && argv.context.trim() === '') throw new UsageError('--context: the context name must not be empty');
    if (argv.token !== undefined && argv.tokenFile !== undefined) throw new UsageError('pass either --token or --token-file, not both');
    const tokenFile = argv.tokenFile !== undefined ? resolve(argv.tokenFile) : undefined;
    const inlineToken = argv.token ?? (tokenFile === undefined ? process.env.RUNE_TOKEN || undefined : undefined);
    if (inlineToken === undefined && tokenFile === undefined) {
      throw new UsageError('pass --token TOKEN or --token-file FILE (runed writes its admin token to <data-dir>/admin.token on first start)');
    }
    let token = inlineToken;
    if (tokenFile !== undefined) {
      try {
        token = (await readFile(tokenFile, 'utf8')).trim();
      } catch (err) {
        throw new RuneError('NOT_FOUND', `--token-file: cannot read ${tokenFile}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
      }
      if (token === '') throw new RuneError('INVALID_ARGUMENT', `--token-file: ${tokenFile} is empty`);
    }

    state.server = server;
    state.timeoutSeconds = argv.timeout;
    state.tls = tls !== undefined;
    if (tls) (await import('../session.js')).quietIpServerNameWarning();
    const { RuneClient } = await import('../../api/rune-client.js');
    const client = new RuneClient({ server: address, token, timeoutSeconds: argv.timeout, tls });
    let who;
    try {
      who = await client.whoAmI();
    } catch (err) {
      const error = RuneError.from(err);
      if (error.code === 'UNAUTHENTICATED') throw new RuneError('UNAUTHENTICATED', `runed at ${server} rejected the token: ${error.message}`);
      throw error;
    } finally {
      client.close();
    }

    const configPath = clientConfigPath(process.env);
    const config = await readClientConfig(configPath);
    const contextName = argv.context ?? defaultContextName(config, server);
    const previous = config?.contexts.find((c) => c.name === contextName);
    const context = {
      name: contextName,
      server,
      ...(tokenFile !== undefined ? { tokenFile } : { token }),
      namespace: argv.namespace ?? previous?.namespace ?? 'default',
      ...(tlsFiles?.ca ? { ca: tlsFiles.ca.path } : {}),
      ...(tlsFiles?.cert ? { cert: tlsFiles.cert.path } : {}),
      ...(tlsFiles?.key ? { key: tlsFiles.key.path } : {}),
    };
    await writeClientConfig(configPath, upsertContext(config, context, { makeCurrent: true }));
    process.stdout.write(
      `Logged in to ${server} as ${who.subject}${who.admin ? ' (admin)' : ''}. Context "${contextName}" (namespace "${context.namespace}") is now current; saved in ${configPath}\n`,
    );
  }),
};

/** The context a login to `server` updates when --context is not given: one already for this server (with or without tls://), else "default" if free, else one named after the address. */
function defaultContextName(config: { contexts: Array<{ name: string; server: string }> } | undefined, server: string): string {
  const address = (s: string) => s.replace(/^(tls|https):\/\//i, '').replace(/\/$/, '');
  const same = config?.contexts.find((c) => address(c.server) === address(server));
  if (same) return same.name;
  if (!config?.contexts.some((c) => c.name === 'default')) return 'default';
  return server.replace(/[^A-Za-z0-9]+/g, '-');
}
