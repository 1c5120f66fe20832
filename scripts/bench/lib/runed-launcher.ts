/**
 * Starts the built runed (dist/server/main.js) as a child process, the way it is deployed: its
 * own process group, a fresh data dir and HOME under the caller's dir, info logging to a file,
 * gRPC on an ephemeral loopback port. Offers the few RPCs the scenarios need as promises.
 *
 * `stop()` kills runed only: its instances outlive it by design (the harness's tag sweep kills
 * them). With `cpuProfileDir`, runed runs under `node --cpu-prof` and `stop()` ends it with
 * SIGTERM so the profile gets written.
 */
import { spawn } from 'node:child_process';
import { closeSync, fstatSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { InstanceServiceClient } from '../../../shared/gen/rune/v1/instance_service.js';
import type { Instance } from '../../../shared/gen/rune/v1/instance.js';
import { NamespaceServiceClient } from '../../../shared/gen/rune/v1/namespace_service.js';
import { Namespace } from '../../../shared/gen/rune/v1/namespace.js';
import { Service } from '../../../shared/gen/rune/v1/service.js';
import { ServiceServiceClient } from '../../../shared/gen/rune/v1/service_service.js';
import type { WatchResponse } from '../../../shared/gen/rune/v1/watch_service.js';
import { runedEntry } from './build.js';
import { childEnv, killGroup, TAG_VARIABLE } from './cleanup.js';
import { alive } from './proc.js';
import { sleep, waitFor } from './wait.js';

export interface LaunchRunedOptions {
  /** Tag of runed and (through the service env) of its instances. */
  tag: string;
  /** A dir of the caller's: data/, home/ and runed.log go here. */
  dir: string;
  /** Run under `node --cpu-prof --cpu-prof-dir <dir>`. */
  cpuProfileDir?: string;
  /** How long runed may take to serve. Default 20 s. */
  timeoutMs?: number;
  /** More runed flags, e.g. ['--rate-limit', '0']. */
  extraArgs?: string[];
}

export interface ProcessServiceSpec {
  namespace: string;
  name: string;
  command: string;
  args: string[];
  scale: number;
}

export interface RunedUnderTest {
  pid: number;
  grpcAddr: string;
  /** The REST gateway's address (host:port). */
  httpAddr: string;
  /** The bootstrap admin token. */
  token: string;
  dataDir: string;
  logPath: string;
  /** From spawn to "runed is serving", ms. */
  startMs: number;
  createNamespace(name: string): Promise<void>;
  /** Casts a process service whose instances carry the tag in their env. */
  castService(spec: ProcessServiceSpec): Promise<void>;
  listInstances(namespace: string): Promise<{ instances: Instance[]; revision: number }>;
  /** Streams instance changes in `namespace` after `fromRevision`; cancel() the stream when done. */
  watchInstances(namespace: string, fromRevision: number): grpc.ClientReadableStream<WatchResponse>;
  stop(): Promise<void>;
}

function unary<Res>(invoke: (callback: (err: grpc.ServiceError | null, res: Res) => void) => unknown): Promise<Res> {
  return new Promise((resolve, reject) => {
    invoke((err, res) => (err ? reject(err) : resolve(res)));
  });
}

/** The log written from byte `from` on: this start's lines, not an earlier runed's in the same file. */
function logSince(logPath: string, from: number): string {
  return readFileSync(logPath).subarray(from).toString('utf8');
}

/** The REST address from runed's "serving" log line. */
function servingHttpAddress(logPath: string, from: number): string {
  for (const line of logSince(logPath, from).split('\n')) {
    if (!line.includes('runed is serving')) continue;
    const entry = JSON.parse(line) as { httpAddr?: string };
    if (entry.httpAddr) return entry.httpAddr;
  }
  throw new Error('runed logged no REST address');
}

/** Lines of runed's log that say it serves, with the bound address. */
function servingAddress(logPath: string, from: number): string | undefined {
  let text: string;
  try {
    text = logSince(logPath, from);
  } catch {
    return undefined;
  }
  for (const line of text.split('\n')) {
    if (!line.includes('runed is serving')) continue;
    try {
      const entry = JSON.parse(line) as { grpcAddr?: string };
      if (entry.grpcAddr) return entry.grpcAddr;
    } catch {
      // a partly written line: read again on the next poll
    }
  }
  return undefined;
}

function tail(path: string, lines = 20): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export async function launchRuned(options: LaunchRunedOptions): Promise<RunedUnderTest> {
  const dataDir = join(options.dir, 'data');
  const home = join(options.dir, 'home');
  const logPath = join(options.dir, 'runed.log');
  mkdirSync(home, { recursive: true });
  const nodeArgs = options.cpuProfileDir ? ['--cpu-prof', '--cpu-prof-dir', options.cpuProfileDir] : [];
  const args = [...nodeArgs, runedEntry, '--data-dir', dataDir, '--grpc-addr', '127.0.0.1:0', '--http-addr', '127.0.0.1:0', '--log-level', 'info', ...(options.extraArgs ?? [])];
  const logFd = openSync(logPath, 'a');
  // The log is appended to across starts on the same dir: read only what this start writes.
  const logStart = fstatSync(logFd).size;
  const started = performance.now();
  const child = spawn(process.execPath, args, {
    env: childEnv(options.tag, { HOME: home, RUNE_CONFIG: join(home, '.rune', 'config.yaml') }),
    stdio: ['ignore', logFd, logFd],
    detached: true, // its own process group, like a daemon; killGroup ends it
  });
  closeSync(logFd);
  const pid = child.pid;
  if (pid === undefined) throw new Error(`cannot start runed: ${await new Promise((resolve) => child.once('error', resolve))}`);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let grpcAddr: string;
  try {
    grpcAddr = await waitFor('runed to serve', () => {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`runed exited (${child.exitCode ?? child.signalCode}) before serving; its log:\n${tail(logPath)}`);
      return servingAddress(logPath, logStart);
    }, { timeoutMs: options.timeoutMs ?? 20_000, everyMs: 10 });
  } catch (err) {
    killGroup(pid);
    throw new Error(`${(err as Error).message}\nruned log:\n${tail(logPath)}`);
  }
  const startMs = performance.now() - started;
  if (!grpcAddr.startsWith('127.0.0.1:')) throw new Error(`runed serves on ${grpcAddr}, not on loopback`);
  const token = readFileSync(join(dataDir, 'admin.token'), 'utf8').trim();
  const md = new grpc.Metadata();
  md.set('authorization', `Bearer ${token}`);
  const creds = grpc.credentials.createInsecure();
  // A large window: a watch of 500 instances must never wait on flow control.
  const channel = { 'grpc-node.flow_control_window': 16 * 1024 * 1024 };
  const namespaces = new NamespaceServiceClient(grpcAddr, creds, channel);
  const services = new ServiceServiceClient(grpcAddr, creds, channel);
  const instances = new InstanceServiceClient(grpcAddr, creds, channel);

  return {
    pid,
    grpcAddr,
    httpAddr: servingHttpAddress(logPath, logStart),
    token,
    dataDir,
    logPath,
    startMs,
    createNamespace: async (name) => {
      await unary((cb) => namespaces.createNamespace({ namespace: Namespace.fromPartial({ metadata: { name } }) }, md, cb));
    },
    castService: async (spec) => {
      const service = Service.fromPartial({
        metadata: { name: spec.name, namespace: spec.namespace },
        spec: { runtime: 'process', command: spec.command, args: spec.args, scale: spec.scale, env: { [TAG_VARIABLE]: options.tag } },
      });
      await unary((cb) => services.castService({ service, dryRun: false }, md, cb));
    },
    listInstances: async (namespace) => {
      const res = await unary<{ instances: Instance[]; listMeta?: { revision: number } }>((cb) =>
        instances.listInstances({ namespace, service: '', options: { limit: 5000, continueToken: '', labelSelector: '' } }, md, cb),
      );
      return { instances: res.instances, revision: res.listMeta?.revision ?? 0 };
    },
    watchInstances: (namespace, fromRevision) => instances.watchInstances({ namespace, fromRevision }, md),
    stop: async () => {
      for (const client of [namespaces, services, instances]) client.close();
      if (options.cpuProfileDir && alive(pid)) {
        // SIGTERM: runed stops cleanly and node writes the profile. Bounded: SIGKILL after 15 s.
        child.kill('SIGTERM');
        await Promise.race([exited, sleep(15_000)]);
      }
      killGroup(pid);
      await Promise.race([exited, sleep(5_000)]);
    },
  };
}
