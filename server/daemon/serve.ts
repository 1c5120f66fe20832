/**
 * `runed` / `runed serve`: runs runed in the foreground until SIGTERM or SIGINT. Writes
 * `<data-dir>/runed.pid` once serving and removes it on the way out. Exits the process:
 * 0 stopped cleanly, 1 configuration or runtime error, 2 address already in use.
 */
import { resolve } from 'node:path';
import { runeVersion } from '../../shared/version.js';
import { createLogger, type LogLevel } from '../logger.js';
import { parseRateLimit } from '../api/rate-limiter.js';
import { AddressInUseError, startRuned, type Runed } from '../runed.js';
import type { RunedSettings } from '../config/runed-flags.js';
import { ownStartTime, removePidfileIfOwn, writePidfile } from './pidfile.js';

export async function serve(s: RunedSettings): Promise<void> {
  const log = createLogger(s['log-level'] as LogLevel);
  const dataDir = resolve(s['data-dir'] as string);
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
      () => {
        removePidfileIfOwn(dataDir, process.pid);
        process.exit(0);
      },
      (err) => {
        log.error({ err }, 'shutdown failed');
        removePidfileIfOwn(dataDir, process.pid);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  const tlsCert = s['tls-cert'] as string | undefined;
  const tlsKey = s['tls-key'] as string | undefined;
  const kekFile = s['kek-file'] as string | undefined;
  try {
    runed = await startRuned({
      dataDir,
      grpcAddr: s['grpc-addr'] as string,
      httpAddr: s['http-addr'] as string,
      http: {
        corsOrigins: (s['cors-origin'] as string[]).flatMap((o) => o.split(',')).map((o) => o.trim()).filter(Boolean),
        maxBodyBytes: s['http-max-body-bytes'] as number,
      },
      log,
      orchestrator: { logMaxBytes: s['instance-log-max-bytes'] as number },
      secrets: { kekFile: kekFile && resolve(kekFile), envKek: (s['kek'] as string | undefined) || undefined, keepVersions: s['secret-versions'] as number },
      rateLimit: { perMinute: parseRateLimit(s['rate-limit'] as string) },
      audit: { retainMs: (s['audit-retention-days'] as number) * 86_400_000 },
      tls: tlsCert !== undefined && tlsKey !== undefined ? { certFile: tlsCert, keyFile: tlsKey, clientCaFile: s['client-ca'] as string | undefined } : undefined,
      insecureListen: s['insecure-listen'] as boolean,
      eventSocket: { enabled: s['event-socket'] as boolean, path: s['event-socket-path'] === undefined ? undefined : resolve(s['event-socket-path'] as string) },
    });
  } catch (err) {
    const code = err instanceof AddressInUseError ? 2 : 1;
    log.fatal({ code }, (err as Error).message);
    process.stderr.write(`runed: ${(err as Error).message}\n`);
    process.exit(code);
  }
  // runed holds the data dir's LevelDB lock now: this pidfile cannot be another live runed's.
  writePidfile(dataDir, {
    pid: process.pid,
    startTime: ownStartTime(),
    grpcAddr: runed.grpcAddr,
    httpAddr: runed.httpAddr,
    version: runeVersion(),
    startedAt: new Date().toISOString(),
    eventSocket: runed.eventSocket,
  });
  if (runed.bootstrapTokenFile) {
    process.stderr.write(`runed: first start: admin token written to ${runed.bootstrapTokenFile}; the rune CLI is configured to use it\n`);
  }
  if (requested) {
    signals = 0;
    stop(requested);
  }
}
