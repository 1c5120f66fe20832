#!/usr/bin/env node
/**
 * runed: the Rune server. Exit codes: 0 stopped cleanly, 1 configuration or runtime error
 * (including a data dir held by another runed), 2 address already in use.
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { runeVersion } from '../shared/version.js';
import { createLogger, LOG_LEVELS, type LogLevel } from './logger.js';
import { parseRateLimit } from './api/rate-limiter.js';
import { AddressInUseError, DEFAULT_GRPC_ADDR, DEFAULT_HTTP_ADDR, DEFAULT_RATE_LIMIT_PER_MINUTE, startRuned, type Runed } from './runed.js';

const argv = yargs(hideBin(process.argv))
  .scriptName('runed')
  .usage('$0 [flags]\n\nRuns the Rune server: the store, the controllers and the API.')
  .option('data-dir', {
    type: 'string',
    default: process.env.RUNE_DATA_DIR ?? join(homedir(), '.rune', 'data'),
    defaultDescription: '$RUNE_DATA_DIR or ~/.rune/data',
    describe: 'Where the store, keys and the admin token live',
  })
  .option('grpc-addr', { type: 'string', default: DEFAULT_GRPC_ADDR, describe: 'gRPC listen address (host:port)' })
  .option('http-addr', { type: 'string', default: DEFAULT_HTTP_ADDR, describe: 'REST gateway listen address (host:port)' })
  .option('cors-origin', { type: 'string', array: true, default: [] as string[], describe: 'Browser origin allowed to call the REST gateway (CORS; repeatable; * for any). Default: CORS off' })
  .option('http-max-body-bytes', { type: 'number', default: 4 * 1024 * 1024, describe: 'Largest REST request body (and WebSocket message); larger ones get 413' })
  .option('log-level', { choices: LOG_LEVELS, default: 'info' as LogLevel, describe: 'Log level' })
  .option('instance-log-max-bytes', {
    type: 'number',
    default: 10 * 1024 * 1024,
    describe: "Rotate an instance's log file beyond this size (one rotated file is kept)",
  })
  .option('kek-file', {
    type: 'string',
    normalize: true,
    describe: 'Key-encryption key for secrets: exactly 32 random bytes, mode 0600 [default: env RUNE_KEK (base64 or hex), else <data-dir>/kek, generated on first start]',
  })
  .option('secret-versions', { type: 'number', default: 5, describe: 'Versions kept per secret (older ones are pruned)' })
  .option('tls-cert', { type: 'string', normalize: true, describe: 'PEM certificate chain to serve TLS with (reloaded when the file changes)' })
  .option('tls-key', { type: 'string', normalize: true, describe: 'PEM private key of --tls-cert (reloaded when the file changes)' })
  .option('client-ca', { type: 'string', normalize: true, describe: 'PEM CA bundle: require client certificates signed by one of these CAs (mutual TLS; reloaded when the file changes)' })
  .option('insecure-listen', { type: 'boolean', default: false, describe: 'Allow plaintext on a non-loopback address (only behind a trusted network or a TLS proxy)' })
  .option('rate-limit', {
    type: 'string',
    default: `${DEFAULT_RATE_LIMIT_PER_MINUTE}/min`,
    describe: 'Calls per subject (per address for calls without one), token bucket with a minute\'s worth of burst: N/min, N/s or N/h; 0 turns it off',
  })
  .option('audit-retention-days', { type: 'number', default: 30, describe: 'Days the audit log keeps its entries (<data-dir>/audit)' })
  .example('$0', 'serve on 127.0.0.1:7863 with data in ~/.rune/data')
  .example('$0 --data-dir /var/lib/rune --grpc-addr 127.0.0.1:9000', 'another data dir and port')
  .example('$0 --grpc-addr 0.0.0.0:7863 --tls-cert server.crt --tls-key server.key --client-ca clients-ca.crt', 'serve the network with mutual TLS')
  .epilogue('Exit codes: 0 stopped cleanly, 1 configuration or runtime error, 2 address already in use.')
  .check((args) => {
    const bytes = args['instance-log-max-bytes'];
    const versions = args['secret-versions'];
    if (!Number.isInteger(versions) || versions < 1 || versions > 100) throw new Error(`--secret-versions must be a whole number from 1 to 100 (got ${versions})`);
    if (!Number.isInteger(bytes) || bytes < 1024) throw new Error(`--instance-log-max-bytes must be a whole number of bytes, at least 1024 (got ${bytes})`);
    if ((args['tls-cert'] === undefined) !== (args['tls-key'] === undefined)) throw new Error('--tls-cert and --tls-key go together: pass both or neither');
    if (args['client-ca'] !== undefined && args['tls-cert'] === undefined) throw new Error('--client-ca needs --tls-cert and --tls-key: mutual TLS is TLS with client certificates');
    parseRateLimit(args['rate-limit']);
    const days = args['audit-retention-days'];
    if (!(days > 0)) throw new Error(`--audit-retention-days must be a positive number of days (got ${days})`);
    return true;
  })
  .version(runeVersion())
  .strict()
  .help()
  .parseSync();

const log = createLogger(argv['log-level']);

async function main(): Promise<void> {
  // Signals are handled from the first moment: one that arrives while runed is still starting
  // stops it as soon as it is up (never the default action, which would skip the shutdown).
  let signals = 0;
  let requested: string | undefined;
  let runed: Runed | undefined;
  const stop = (signal: string) => {
    if (++signals > 1) process.exit(1); // a second signal: stop waiting
    requested = signal;
    if (!runed) return;
    log.info({ signal }, 'shutting down');
    runed.stop().then(
      () => process.exit(0),
      (err) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  try {
    runed = await startRuned({
      dataDir: resolve(argv['data-dir']),
      grpcAddr: argv['grpc-addr'],
      httpAddr: argv['http-addr'],
      http: { corsOrigins: argv['cors-origin'].flatMap((o) => o.split(',')).map((o) => o.trim()).filter(Boolean), maxBodyBytes: argv['http-max-body-bytes'] },
      log,
      orchestrator: { logMaxBytes: argv['instance-log-max-bytes'] },
      secrets: { kekFile: argv['kek-file'] && resolve(argv['kek-file']), envKek: process.env.RUNE_KEK || undefined, keepVersions: argv['secret-versions'] },
      rateLimit: { perMinute: parseRateLimit(argv['rate-limit']) },
      audit: { retainMs: argv['audit-retention-days'] * 86_400_000 },
      tls: argv['tls-cert'] !== undefined && argv['tls-key'] !== undefined ? { certFile: argv['tls-cert'], keyFile: argv['tls-key'], clientCaFile: argv['client-ca'] } : undefined,
      insecureListen: argv['insecure-listen'],
    });
  } catch (err) {
    const code = err instanceof AddressInUseError ? 2 : 1;
    log.fatal({ code }, (err as Error).message);
    process.stderr.write(`runed: ${(err as Error).message}\n`);
    process.exit(code);
  }
  if (runed.bootstrapTokenFile) {
    process.stderr.write(`runed: first start: admin token written to ${runed.bootstrapTokenFile}; the rune CLI is configured to use it\n`);
  }
  if (requested) {
    signals = 0;
    stop(requested);
  }
}

void main();
