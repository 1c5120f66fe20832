/**
 * runed, assembled: the store, the token service, the gRPC server with health and reflection,
 * and first-start bootstrap. `startRuned` is what `runed` runs and what tests start in-process.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { RuneError } from '../shared/errors.js';
import { apiServices } from '../shared/api/methods.js';
import { packageRoot, runeVersion } from '../shared/version.js';
import { interceptors } from './api/chain.js';
import { HealthService } from './api/health.js';
import { addLazyReflection } from './api/lazy-reflection.js';
import { implement, type HandlerMap } from './api/dispatch.js';
import { grpcServerCredentials } from './api/grpc-server-credentials.js';
import { checkListenAddress } from './api/listen-address.js';
import type { Registry } from 'prom-client';
import { prepareGatewaySocket, type GatewaySocket } from './gateway/gateway-socket.js';
import { HttpAddressInUseError, startHttpGateway, type HttpGateway } from './gateway/http-gateway.js';
import { createMetricsRegistry } from './metrics.js';
import { RunedMetrics } from './observability/metrics.js';
import type { Tracing } from './observability/tracing.js';
import { checkReadiness, type Readiness } from './readiness.js';
import { TlsMaterial, type TlsMaterialOptions } from './api/tls-material.js';
import { authHandlers } from './api/handlers/auth-handler.js';
import { adminHandlers } from './api/handlers/admin-handler.js';
import { RateLimiter } from './api/rate-limiter.js';
import { StreamRegistry } from './api/stream-registry.js';
import { AuditLog, type AuditLogOptions } from './audit/audit-log.js';
import { Rbac } from './auth/rbac.js';
import { seedBuiltinPolicies } from './domain/policies.js';
import { namespaceHandlers } from './api/handlers/namespace-handler.js';
import { serviceHandlers } from './api/handlers/service-handler.js';
import { jobHandlers } from './api/handlers/job-handler.js';
import { runHandlers } from './api/handlers/run-handler.js';
import { systemHandlers } from './api/handlers/system-handler.js';
import { watchHandlers } from './api/handlers/watch-handler.js';
import { execHandlers } from './api/handlers/exec-handler.js';
import { instanceHandlers } from './api/handlers/instance-handler.js';
import { logHandlers } from './api/handlers/log-handler.js';
import { LogIndexer } from './logs/log-indexer.js';
import { removeLogFiles } from './logs/log-files.js';
import type { BackoffOptions } from './orchestrator/instance-plan.js';
import { startOrchestrator, type Orchestrator } from './orchestrator/orchestrator.js';
import type { RolloutOptions } from './orchestrator/service-plan.js';
import { ProcessRunner } from './runner/process-runner.js';
import type { Instance } from '../shared/gen/rune/v1/instance.js';
import { bootstrap } from './auth/bootstrap.js';
import { configMapHandlers } from './api/handlers/configmap-handler.js';
import { kekHandlers } from './api/handlers/kek-handler.js';
import { secretHandlers } from './api/handlers/secret-handler.js';
import { Keyring } from './crypto/keyring.js';
import { checkKek, completePendingRotation } from './domain/kek.js';
import { DEFAULT_KEEP_VERSIONS, SecretVault } from './domain/secrets.js';
import { Injector } from './orchestrator/injection.js';
import { TokenService } from './auth/token-service.js';
import { createLogger, type LogLevel } from './logger.js';
import { SOCKET_FILE, startEventSocket, type EventSocket } from './events/event-socket.js';
import { MAX_SOCKET_PATH } from './events/private-socket.js';
import { compactionTask, DEFAULT_COMPACT_EVERY_MS, logCleanupTask, runCleanupTask } from './housekeeping/housekeeping-tasks.js';
import { cleanUpRuns } from './orchestrator/job-controller.js';
import { HousekeepingScheduler } from './housekeeping/scheduler.js';
import type { LiveStatus } from './daemon/live-status.js';
import { defaultKinds } from './store/kinds.js';
import { openLevelStore, type LevelStoreOptions } from './store/level-store.js';
import type { Store } from './store/store.js';

export interface RunedOptions {
  /** Where the store, keys and admin token live. */
  dataDir: string;
  /** host:port for gRPC; port 0 picks a free one (tests). Default 127.0.0.1:7863. */
  grpcAddr?: string;
  /** host:port for the REST gateway; port 0 picks a free one (tests). Default 127.0.0.1:7861. */
  httpAddr?: string;
  /** REST gateway: CORS allow-list (`--cors-origin`; default none, CORS off) and body limit (`--http-max-body-bytes`; default 4 MiB). */
  http?: { corsOrigins?: string[]; maxBodyBytes?: number };
  logLevel?: LogLevel;
  log?: Logger;
  /** Environment for the CLI config path at bootstrap (HOME, RUNE_CONFIG). */
  env?: NodeJS.ProcessEnv;
  store?: Pick<LevelStoreOptions, 'retainEvents' | 'retainMs' | 'compactEveryMs'>;
  /** Orchestrator tuning (tests shorten the restart backoff). */
  /**
   * Orchestrator tuning (tests shorten the restart backoff). `enabled: false` serves the API
   * without running any workload, for tests of the API's own effects on the store.
   */
  orchestrator?: { enabled?: boolean; backoff?: Partial<BackoffOptions>; rollout?: Partial<RolloutOptions>; pollMs?: number; logMaxBytes?: number; jobs?: { retryBackoffMs?: number } };
  /**
   * Secrets: the KEK (`kekFile` from --kek-file, else `envKek` from RUNE_KEK, else
   * <dataDir>/kek, generated 0600 on first start; see server/crypto/keyring.ts) and how many
   * versions to keep per secret (--secret-versions, default 5). A KEK of the wrong size or a KEK
   * file readable by group or others fails the start with FAILED_PRECONDITION naming it.
   */
  secrets?: { kekFile?: string; envKek?: string; keepVersions?: number };
  /** TLS for the API listeners (`--tls-cert`, `--tls-key`, `--client-ca`), hot-reloaded; plaintext without it. */
  tls?: Omit<TlsMaterialOptions, 'log'>;
  /** Serve plaintext on a non-loopback address (`--insecure-listen`). Default false: refused with FAILED_PRECONDITION. */
  insecureListen?: boolean;
  /**
   * Calls per minute per subject (per peer address without one), token bucket (`--rate-limit`).
   * Default 6000 per minute with a burst of a minute's worth; `perMinute: 0` turns it off.
   */
  rateLimit?: { perMinute?: number; burst?: number };
  /** The audit log in <dataDir>/audit: retention (default 30 days), compaction period. */
  audit?: AuditLogOptions;
  /**
   * OpenTelemetry traces over OTLP/HTTP to `endpoint` (default $OTEL_EXPORTER_OTLP_ENDPOINT;
   * off when neither is set, and then the SDK is never loaded). `exportDelayMs`: see tracing.ts.
   */
  tracing?: { endpoint?: string; exportDelayMs?: number };
  /**
   * The local event socket (server/events): `enabled` (`--event-socket`, default true) and
   * `path` (`--event-socket-path`, default <dataDir>/runed.sock).
   */
  eventSocket?: { enabled?: boolean; path?: string };
  /**
   * Housekeeping periods (server/housekeeping; tests shorten them). Event-log compaction runs
   * every `store.compactEveryMs` (default 30 s; 0: never).
   */
  housekeeping?: { logCleanupEveryMs?: number; logCleanupFirstRunMs?: number; logGraceMs?: number; runCleanupEveryMs?: number };
}

export interface Runed {
  /** The address gRPC is bound to, with the real port. */
  grpcAddr: string;
  /** The address the REST gateway is bound to, with the real port. */
  httpAddr: string;
  /** This runed's Prometheus registry (`GET /metrics` serves it with the process metrics). */
  metrics: Registry;
  /** Readiness (`GET /readyz`): the store answers reads and the controllers run. */
  ready(): Promise<Readiness>;
  dataDir: string;
  store: Store;
  /** Undefined when started with `orchestrator.enabled: false`. */
  orchestrator: Orchestrator | undefined;
  /** The admin token file if this start bootstrapped. */
  bootstrapTokenFile: string | undefined;
  /** The TLS material in use (reload events, current certificate); undefined when plaintext. */
  tls: TlsMaterial | undefined;
  /** The local event socket's path; undefined when it is off. */
  eventSocket: string | undefined;
  /** The periodic tasks (their last and next runs: `housekeeping.status()`). */
  housekeeping: HousekeepingScheduler;
  /** Graceful stop: NOT_SERVING, end streams, drain calls, close the store. */
  stop(): Promise<void>;
}

/** Thrown when the gRPC address is taken: runed exits with code 2. */
export class AddressInUseError extends Error {}

export const DEFAULT_GRPC_ADDR = '127.0.0.1:7863';
export const DEFAULT_HTTP_ADDR = '127.0.0.1:7861';
/** Calls per minute per subject unless --rate-limit says otherwise. */
export const DEFAULT_RATE_LIMIT_PER_MINUTE = 6000;
const DRAIN_MS = 5000;

export async function startRuned(options: RunedOptions): Promise<Runed> {
  const log = options.log ?? createLogger(options.logLevel ?? 'info');
  const { dataDir } = options;
  checkListenAddress(options.grpcAddr ?? DEFAULT_GRPC_ADDR, { flag: '--grpc-addr', tls: options.tls !== undefined, insecureListen: options.insecureListen ?? false });
  checkListenAddress(options.httpAddr ?? DEFAULT_HTTP_ADDR, { flag: '--http-addr', tls: options.tls !== undefined, insecureListen: options.insecureListen ?? false });
  const tls = options.tls ? await TlsMaterial.open({ ...options.tls, log }) : undefined;
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  const keyring = await Keyring.load({ dataDir, kekFile: options.secrets?.kekFile, envKek: options.secrets?.envKek });
  const kinds = defaultKinds();
  const metrics = createMetricsRegistry();
  const runedMetrics = new RunedMetrics(metrics);
  const otlpEndpoint = options.tracing?.endpoint ?? process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  const tracing: Tracing | undefined = otlpEndpoint
    ? await (await import('./observability/tracing.js')).startTracing({ endpoint: otlpEndpoint, exportDelayMs: options.tracing?.exportDelayMs, version: runeVersion(), log })
    : undefined;
  runedMetrics.tracer = tracing;
  // Compaction runs as a housekeeping task (visible in `runed status`), not on the store's own timer.
  const store = await openLevelStore(join(dataDir, 'store'), { kinds, ...options.store, compactEveryMs: 0, metrics: runedMetrics }).catch(async (err: unknown) => {
    await tracing?.stop();
    tls?.close();
    throw err;
  });
  runedMetrics.watchStore(store);
  tracing?.wrap(store, 'commit', 'store.commit', { childOnly: true, attributes: (ops: unknown[]) => ({ 'rune.store.ops': ops.length }) });
  let server: grpc.Server | undefined;
  let gateway: HttpGateway | undefined;
  let gatewaySocket: GatewaySocket | undefined;
  let stopRequested = false;
  let orchestrator: Orchestrator | undefined;
  let logIndexer: LogIndexer | undefined;
  let closeAccessControl: (() => Promise<void>) | undefined;
  let eventSocket: EventSocket | undefined;
  const housekeeping = new HousekeepingScheduler({ log: log.child({ component: 'housekeeping' }), metrics: runedMetrics });
  try {
    const tokens = await TokenService.open(store, join(dataDir, 'signing.key'));
    // Access control: built-in policies, RBAC from memory, the audit log, the rate limiter, and
    // the open streams that a revocation (or a deleted subject) ends.
    await seedBuiltinPolicies(store);
    const rbac = await Rbac.open(store, tokens);
    closeAccessControl = async () => rbac.stop();
    const audit = await AuditLog.open(join(dataDir, 'audit'), options.audit);
    closeAccessControl = async () => {
      rbac.stop();
      await audit.close();
    };
    const limiter = new RateLimiter({ perMinute: options.rateLimit?.perMinute ?? DEFAULT_RATE_LIMIT_PER_MINUTE, burst: options.rateLimit?.burst });
    const streams = new StreamRegistry();
    tokens.onInvalidated(({ tokenId, subject }) => {
      if (tokenId) streams.endToken(tokenId);
      if (subject) streams.endSubject(subject);
    });
    const resumed = await completePendingRotation(store, keyring);
    if (resumed) log.warn({ previousKekId: resumed.previousKekId, kekId: resumed.kekId, versionsRewrapped: resumed.versionsRewrapped }, 'completed a KEK rotation an earlier runed left unfinished');
    await checkKek(store, keyring, dataDir);
    const vault = new SecretVault(keyring, options.secrets?.keepVersions ?? DEFAULT_KEEP_VERSIONS);
    // `rune exec` sees the environment the instance got: references resolved, values in memory only.
    const execEnv = new Injector({ store, keyring, dataDir, log });
    const tuning = options.orchestrator ?? {};
    if (tuning.enabled !== false) {
      const runner = new ProcessRunner({ dataDir, log, pollMs: tuning.pollMs, logMaxBytes: tuning.logMaxBytes });
      tracing?.wrap(runner, 'start', 'runner.start', { attributes: (request: { instance: string }) => ({ 'rune.instance': request.instance }) });
      tracing?.wrap(runner, 'stop', 'runner.stop', { attributes: (instance: string) => ({ 'rune.instance': instance }) });
      // Adoption of instances that kept running while runed was down happens in the first pass.
      orchestrator = await startOrchestrator({ store, runner, log, dataDir, keyring, backoff: tuning.backoff, rollout: tuning.rollout, jobs: tuning.jobs, metrics: runedMetrics });
      runedMetrics.watchInstances(orchestrator.instances);
      // Line times: index every instance's log while runed runs (see server/logs).
      const indexer = new LogIndexer({ pollMs: tuning.pollMs, onError: (err, path) => log.debug({ err, path }, 'log index skipped a poll') });
      logIndexer = indexer;
      const index = (i: Instance, type: string) => {
        const path = i.status?.logPath;
        if (!path) return;
        if (type !== 'DELETED') return indexer.track(path);
        // The instance is gone (its process was stopped first): so are its log and default work dir.
        indexer.untrack(path);
        const meta = i.metadata!;
        void removeLogFiles(path).catch((err) => log.warn({ err, path }, 'could not remove the log of a deleted instance'));
        void rm(join(dataDir, 'work', meta.namespace, meta.name), { recursive: true, force: true }).catch(() => undefined);
      };
      for (const i of orchestrator.instances.values()) index(i, 'MODIFIED');
      orchestrator.instances.onChange(index);
    }
    const shutdown = new AbortController();
    const dispatch = { chain: interceptors({ tokens, rbac, limiter, audit, streams, log, observability: { metrics: runedMetrics, tracer: tracing } }), log, shutdown: shutdown.signal };
    const handlers: HandlerMap = {
      ...namespaceHandlers(store),
      ...serviceHandlers(store, kinds),
      ...instanceHandlers(store, kinds),
      ...logHandlers(store),
      ...jobHandlers(store),
      ...runHandlers(store),
      ...execHandlers(store, { dataDir, resolveEnv: (namespace, instance, spec) => execEnv.resolveEnv(namespace, instance, spec) }),
      ...watchHandlers(store, kinds),
      ...secretHandlers(store, vault),
      ...configMapHandlers(store),
      ...kekHandlers(store, vault, keyring),
      ...authHandlers(rbac),
      ...adminHandlers({ store, tokens, audit }),
      ...systemHandlers(store, runeVersion(), 'leveldb'),
    };

    server = new grpc.Server({ 'grpc.max_receive_message_length': 4 * 1024 * 1024 });
    for (const { grpc: definition } of apiServices) {
      server.addService(passBytesThrough(definition as unknown as grpc.ServiceDefinition), implement(definition as unknown as grpc.ServiceDefinition, handlers, dispatch));
    }
    const health = new HealthService({ '': 'NOT_SERVING' });
    health.addToServer(server);
    addLazyReflection(server, join(packageRoot(), 'dist', 'rune.binpb'));

    const requested = options.grpcAddr ?? DEFAULT_GRPC_ADDR;
    const port = await bind(server, requested, grpcServerCredentials(tls));
    const grpcAddr = requested.replace(/:\d+$/, `:${port}`);
    // The REST gateway calls this same server (same chain) through a private Unix socket.
    gatewaySocket = await prepareGatewaySocket(dataDir);
    await bind(server, gatewaySocket.address, grpc.ServerCredentials.createInsecure());
    const orchestratorRunning = orchestrator;
    const ready = () => checkReadiness({ store, controllers: orchestratorRunning ? { running: !stopRequested } : undefined, stopping: stopRequested });
    gateway = await startHttpGateway({
      addr: options.httpAddr ?? DEFAULT_HTTP_ADDR,
      grpc: { address: gatewaySocket.address },
      tls,
      log,
      version: runeVersion(),
      metrics,
      tracer: tracing,
      ready,
      corsOrigins: options.http?.corsOrigins,
      maxBodyBytes: options.http?.maxBodyBytes,
    }).catch((err: unknown) => {
      throw err instanceof HttpAddressInUseError ? new AddressInUseError(err.message) : err;
    });

    const bootstrapTokenFile = await bootstrap({ store, tokens, dataDir, grpcAddr, log, env: options.env });

    const compactEveryMs = options.store?.compactEveryMs ?? DEFAULT_COMPACT_EVERY_MS;
    if (compactEveryMs > 0) housekeeping.add(compactionTask(store, compactEveryMs));
    const hk = options.housekeeping ?? {};
    housekeeping.add(logCleanupTask({ store, dataDir, everyMs: hk.logCleanupEveryMs, firstRunMs: hk.logCleanupFirstRunMs, graceMs: hk.logGraceMs }));
    const orchestratorForCleanup = orchestrator;
    if (orchestratorForCleanup) housekeeping.add(runCleanupTask((now) => cleanUpRuns(store, orchestratorForCleanup.jobs, orchestratorForCleanup.runs, now), hk.runCleanupEveryMs));
    housekeeping.start();
    const eventSocketPath = options.eventSocket?.path ?? join(dataDir, SOCKET_FILE);
    if (options.eventSocket?.path === undefined && Buffer.byteLength(eventSocketPath) > MAX_SOCKET_PATH) {
      log.warn({ path: eventSocketPath }, 'the data dir path is too long for the local event socket: it is off; pass --event-socket-path with a shorter path');
    } else if (options.eventSocket?.enabled !== false) {
      const startedAt = new Date();
      const httpAddr = gateway.addr;
      const orch = orchestrator;
      eventSocket = await startEventSocket({
        path: eventSocketPath,
        store,
        log,
        status: (): LiveStatus => ({
          version: runeVersion(),
          pid: process.pid,
          startedAt: startedAt.toISOString(),
          uptimeSeconds: Math.round((Date.now() - startedAt.getTime()) / 1000),
          dataDir,
          grpcAddr,
          httpAddr,
          revision: store.revision,
          compactedRevision: store.compactedRevision,
          ...(orch ? { supervised: orch.supervised, instances: orch.instances.size, services: orch.services.size } : {}),
          eventSocket: { path: eventSocket?.path, connections: eventSocket?.connections ?? 0, subscriptions: eventSocket?.subscriptions ?? 0 },
          housekeeping: housekeeping.status(),
        }),
      });
    }
    for (const { definition } of apiServices) health.setStatus(definition.fullName, 'SERVING');
    health.setStatus('', 'SERVING');
    log.info({ grpcAddr, httpAddr: gateway.addr, dataDir, revision: store.revision, tls: tls ? (tls.mutual ? 'mutual' : 'server') : 'off' }, 'runed is serving');

    let stopping: Promise<void> | undefined;
    const srv = server;
    const orch = orchestrator;
    const gw = gateway;
    const gwSocket = gatewaySocket;
    const events = eventSocket;
    return {
      grpcAddr,
      httpAddr: gw.addr,
      metrics,
      ready,
      dataDir,
      store,
      orchestrator: orch,
      bootstrapTokenFile,
      tls,
      eventSocket: events?.path,
      housekeeping,
      stop: () =>
        (stopping ??= (async () => {
          health.setStatus('', 'NOT_SERVING');
          for (const { definition } of apiServices) health.setStatus(definition.fullName, 'NOT_SERVING');
          stopRequested = true;
          await events?.close(); // subscribers get an UNAVAILABLE line with their resume revision
          await housekeeping.stop();
          await gw.close(); // REST streams end with an UNAVAILABLE frame, unary calls finish
          shutdown.abort();
          await drain(srv);
          await gwSocket.cleanup();
          tls?.close();
          // Workloads keep running: the next runed adopts them.
          await orch?.stop();
          await logIndexer?.close();
          tokens.stop();
          await closeAccessControl?.();
          await store.close();
          await tracing?.stop();
          log.info('runed stopped');
        })()),
    };
  } catch (err) {
    await eventSocket?.close();
    await housekeeping.stop();
    await gateway?.close();
    server?.forceShutdown();
    await gatewaySocket?.cleanup();
    tls?.close();
    await orchestrator?.stop();
    await closeAccessControl?.();
    await store.close();
    await tracing?.stop();
    throw err;
  }
}

/** Streams may write pre-encoded messages (watch fan-out); every other value is encoded as usual. */
function passBytesThrough(definition: grpc.ServiceDefinition): grpc.ServiceDefinition {
  return Object.fromEntries(
    Object.entries(definition).map(([key, method]) => {
      const encode = method.responseSerialize;
      const serialize = (value: unknown) => (value instanceof Uint8Array ? Buffer.from(value.buffer, value.byteOffset, value.byteLength) : encode(value));
      return [key, method.responseStream ? { ...method, responseSerialize: serialize } : method];
    }),
  );
}

function bind(server: grpc.Server, addr: string, credentials: grpc.ServerCredentials): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(addr, credentials, (err, port) => {
      if (!err) return resolve(port);
      if (/EADDRINUSE|address already in use/i.test(err.message)) reject(new AddressInUseError(`address ${addr} is already in use; stop what listens there or pass --grpc-addr`));
      else reject(new RuneError('INVALID_ARGUMENT', `cannot listen on ${addr}: ${err.message}`));
    });
  });
}

function drain(server: grpc.Server): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, DRAIN_MS);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
