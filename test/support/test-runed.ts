/**
 * An in-process runed on 127.0.0.1:0 with temp dirs, and promise-based API clients for it.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { AdminServiceClient } from '../../shared/gen/rune/v1/admin_service.js';
import { AuthServiceClient } from '../../shared/gen/rune/v1/auth_service.js';
import { ExecServiceClient } from '../../shared/gen/rune/v1/exec_service.js';
import { InstanceServiceClient } from '../../shared/gen/rune/v1/instance_service.js';
import { LogServiceClient } from '../../shared/gen/rune/v1/log_service.js';
import { NamespaceServiceClient } from '../../shared/gen/rune/v1/namespace_service.js';
import { ServiceServiceClient } from '../../shared/gen/rune/v1/service_service.js';
import { SystemServiceClient } from '../../shared/gen/rune/v1/system_service.js';
import { WatchServiceClient } from '../../shared/gen/rune/v1/watch_service.js';
import { createLogger } from '../../server/logger.js';
import { startRuned, type Runed, type RunedOptions } from '../../server/runed.js';
import { killProcessesUnder } from './procs.js';

export interface TestRuned {
  runed: Runed;
  /** The REST gateway's base URL, `http://127.0.0.1:PORT`. */
  baseUrl: string;
  token: string;
  home: string;
  stop(): Promise<void>;
}

export async function startTestRuned(options: Partial<RunedOptions> = {}): Promise<TestRuned> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'runed-test-')));
  const home = await mkdtemp(join(tmpdir(), 'runed-home-'));
  const runed = await startRuned({
    grpcAddr: '127.0.0.1:0',
    httpAddr: '127.0.0.1:0',
    log: createLogger('silent'),
    env: { HOME: home, RUNE_CONFIG: join(home, '.rune', 'config.yaml') },
    ...options,
    dataDir,
  });
  const token = (await readFile(join(dataDir, 'admin.token'), 'utf8')).trim();
  return {
    runed,
    baseUrl: `http://${runed.httpAddr}`,
    token,
    home,
    stop: async () => {
      await runed.stop();
      killProcessesUnder(dataDir); // instances outlive runed by design; tests leave none behind
      await rm(dataDir, { recursive: true, force: true });
      await rm(home, { recursive: true, force: true });
    },
  };
}

/** Metadata carrying a bearer token (omit the token to call unauthenticated). */
export function auth(token?: string, scheme = 'Bearer'): grpc.Metadata {
  const md = new grpc.Metadata();
  if (token !== undefined) md.set('authorization', `${scheme} ${token}`);
  return md;
}

/** Request and response types of a generated unary method (from its last overload). */
type Unary<F> = F extends (req: infer Req, md: grpc.Metadata, opts: Partial<grpc.CallOptions>, cb: (err: grpc.ServiceError | null, res: infer Res) => void) => grpc.ClientUnaryCall ? { req: Req; res: Res } : never;

/** Calls a generated client's unary method as a promise. */
export function call<F extends (...args: never[]) => grpc.ClientUnaryCall>(client: grpc.Client, method: F, request: Unary<F>['req'], metadata: grpc.Metadata): Promise<Unary<F>['res']> {
  return new Promise((resolve, reject) => {
    (method as unknown as Function).call(client, request, metadata, {}, (err: grpc.ServiceError | null, res: Unary<F>['res']) => (err ? reject(err) : resolve(res)));
  });
}

export function clients(addr: string) {
  const creds = grpc.credentials.createInsecure();
  const options = { 'grpc-node.flow_control_window': 4 * 1024 * 1024 };
  const all = {
    namespaces: new NamespaceServiceClient(addr, creds, options),
    services: new ServiceServiceClient(addr, creds, options),
    instances: new InstanceServiceClient(addr, creds, options),
    logs: new LogServiceClient(addr, creds, options),
    exec: new ExecServiceClient(addr, creds, options),
    watch: new WatchServiceClient(addr, creds, options),
    auth: new AuthServiceClient(addr, creds, options),
    admin: new AdminServiceClient(addr, creds, options),
    system: new SystemServiceClient(addr, creds, options),
  };
  return { ...all, close: () => Object.values(all).forEach((c) => c.close()) };
}
