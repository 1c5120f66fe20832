/**
 * Secrets and configmaps injected into real processes by a real runed, checked through /proc
 * and the file system: env references, envFrom, mounts (modes, removal when the instance
 * stops), a changed secret rolling the service, a missing secret failing the start with a
 * reason that names it; and THE GREP TEST: after a full cast / run / crash / runed restart /
 * new version / delete cycle, a planted secret value appears nowhere in the data dir (LevelDB
 * files included, raw bytes) nor in runed's log, while a configmap value planted the same way
 * is found (so the grep can fail).
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, readdirSync, readFileSync, statSync, type WriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { expect } from 'chai';
import { ClassicLevel } from 'classic-level';
import { ConfigMap } from '../../shared/gen/rune/v1/configmap.js';
import { ConfigMapServiceClient } from '../../shared/gen/rune/v1/configmap_service.js';
import { ExecRequest, type ExecResponse } from '../../shared/gen/rune/v1/exec_service.js';
import type { Instance } from '../../shared/gen/rune/v1/instance.js';
import { Secret } from '../../shared/gen/rune/v1/secret.js';
import { SecretServiceClient } from '../../shared/gen/rune/v1/secret_service.js';
import { Service } from '../../shared/gen/rune/v1/service.js';
import { createLogger } from '../../server/logger.js';
import { aNamespace } from '../support/builders.js';
import { alive, environOf, eventually, killProcessesUnder, runeProcesses } from '../support/procs.js';
import { auth, call, clients, startTestRuned, type TestRuned } from '../support/test-runed.js';

const TUNING = { backoff: { baseMs: 300, maxMs: 2000 }, pollMs: 100 };

const unique = () => randomBytes(24).toString('base64url');

/** Every regular file under `dir`, recursively. */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(path));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

/** The files under `dirs` whose raw bytes contain `value` (as is, base64 or hex). */
function filesContaining(dirs: string[], value: string): string[] {
  const needles = [Buffer.from(value), Buffer.from(Buffer.from(value).toString('base64')), Buffer.from(Buffer.from(value).toString('hex'))];
  return dirs.flatMap(filesUnder).filter((file) => {
    const bytes = readFileSync(file);
    return needles.some((n) => bytes.includes(n));
  });
}

class Api {
  readonly c: ReturnType<typeof clients>;
  readonly secrets: SecretServiceClient;
  readonly configMaps: ConfigMapServiceClient;
  readonly md: grpc.Metadata;

  constructor(
    t: TestRuned,
    readonly ns: string,
  ) {
    this.c = clients(t.runed.grpcAddr);
    this.secrets = new SecretServiceClient(t.runed.grpcAddr, grpc.credentials.createInsecure());
    this.configMaps = new ConfigMapServiceClient(t.runed.grpcAddr, grpc.credentials.createInsecure());
    this.md = auth(t.token);
  }

  close(): void {
    this.c.close();
    this.secrets.close();
    this.configMaps.close();
  }

  secret(name: string, data: Record<string, string>) {
    const secret = Secret.fromPartial({ metadata: { name, namespace: this.ns }, data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v)])) });
    return call(this.secrets, this.secrets.castSecret, { secret, dryRun: false }, this.md);
  }

  configMap(name: string, data: Record<string, string>) {
    return call(this.configMaps, this.configMaps.castConfigMap, { configMap: ConfigMap.fromPartial({ metadata: { name, namespace: this.ns }, data }), dryRun: false }, this.md);
  }

  service(name: string, spec: Partial<NonNullable<Service['spec']>>) {
    const service = Service.fromPartial({ metadata: { name, namespace: this.ns }, spec: { runtime: 'process', scale: 1, command: 'sleep', args: ['300'], ...spec } });
    return call(this.c.services, this.c.services.castService, { service, dryRun: false }, this.md);
  }

  /** Runs `command` in `instance` with `rune exec`'s RPC; resolves with its stdout. */
  exec(instance: string, command: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      const stream = this.c.exec.exec(this.md, { deadline: Date.now() + 15_000 });
      let stdout = '';
      stream.on('data', (m: ExecResponse) => (stdout += m.stdout?.toString() ?? ''));
      stream.on('error', reject);
      stream.on('end', () => resolve(stdout));
      stream.write(ExecRequest.fromPartial({ start: { namespace: this.ns, instance, command } }));
      stream.write(ExecRequest.fromPartial({ stdinEof: true }));
    });
  }

  async instances(service: string): Promise<Instance[]> {
    return (await call(this.c.instances, this.c.instances.listInstances, { namespace: this.ns, service, options: undefined }, this.md)).instances;
  }

  /** The one ready, live instance of `service` (other than `not`, when given). */
  ready(service: string, not?: number): Promise<Instance> {
    return eventually(`a ready instance of ${service}${not ? ` other than pid ${not}` : ''}`, async () => {
      const live = (await this.instances(service)).filter((i) => !i.metadata?.deletionTimestamp);
      const [one] = live;
      return live.length === 1 && one!.status?.ready && alive(one!.status.pid) && one!.status.pid !== not ? one : undefined;
    }, 20_000);
  }
}

describe('secrets injected into instances (real runed, real processes)', function () {
  this.timeout(90_000);
  let t: TestRuned;
  let api: Api;
  let ns: string;
  let count = 0;

  before(async () => {
    t = await startTestRuned({ orchestrator: TUNING });
  });
  beforeEach(async () => {
    ns = `s${process.pid}-${++count}`;
    api = new Api(t, ns);
    await call(api.c.namespaces, api.c.namespaces.createNamespace, { namespace: aNamespace({ name: ns }) }, api.md);
  });
  afterEach(async () => {
    await call(api.c.namespaces, api.c.namespaces.deleteNamespace, { name: ns, cascade: true }, api.md).catch(() => undefined);
    await eventually(`processes of ${ns} to stop`, () => runeProcesses(ns).size === 0, 20_000);
    api.close();
  });
  after(async () => {
    await t?.stop();
  });

  it('resolves env references, envFrom and mounts into the process only, and rolls the service when the secret changes', async () => {
    const password = `pw-${randomBytes(8).toString('hex')}`;
    await api.secret('db', { password, user: 'app', 'tls.crt': 'CERT' });
    await api.configMap('app', { logLevel: 'debug', 'app.yaml': 'port: 8080\n' });
    await api.service('api', {
      env: { DB_PASSWORD: '{{secret:db/password}}', DATABASE_URL: 'postgres://app:{{ secret:db/password }}@127.0.0.1/app', LOG_LEVEL: '{{configmap:app/logLevel}}', PLAIN: 'x' },
      envFrom: [{ secret: 'db', configmap: '', prefix: 'DB_' }],
      secretMounts: [{ secret: 'db', keys: [], env: 'DB_DIR' }],
      configmapMounts: [{ configmap: 'app', keys: ['app.yaml'], env: '' }],
    });
    const first = await api.ready('api');
    const env = environOf(first.status!.pid);
    expect(env.DB_PASSWORD).to.equal(password);
    expect(env.DATABASE_URL).to.equal(`postgres://app:${password}@127.0.0.1/app`);
    expect(env.LOG_LEVEL).to.equal('debug');
    expect(env.PLAIN).to.equal('x');
    expect(env.DB_password, 'envFrom with its prefix').to.equal(password);
    expect(env.DB_user).to.equal('app');
    expect(env, 'a key that is no variable name is skipped').not.to.have.property('DB_tls.crt');

    const mountRoot = join(t.runed.dataDir, 'mounts', ns, first.metadata!.name);
    expect(env.RUNE_SECRETS_DIR).to.equal(join(mountRoot, 'secrets'));
    expect(env.DB_DIR).to.equal(join(mountRoot, 'secrets', 'db'));
    expect(readFileSync(join(env.DB_DIR!, 'password'), 'utf8')).to.equal(password);
    expect(statSync(join(env.DB_DIR!, 'password')).mode & 0o777).to.equal(0o400);
    expect(statSync(mountRoot).mode & 0o777).to.equal(0o700);
    const configFile = join(env.RUNE_CONFIGMAPS_DIR!, 'app', 'app.yaml');
    expect(readFileSync(configFile, 'utf8')).to.equal('port: 8080\n');
    expect(statSync(configFile).mode & 0o777).to.equal(0o440);
    expect(existsSync(join(env.RUNE_CONFIGMAPS_DIR!, 'app', 'logLevel')), 'only the listed keys').to.equal(false);

    // `rune exec` sees what the instance sees.
    expect(await api.exec(first.metadata!.name, ['printenv', 'DB_PASSWORD'])).to.equal(`${password}\n`);

    // The records keep the references, never the values.
    const records = JSON.stringify([await api.instances('api'), await call(api.c.services, api.c.services.getService, { namespace: ns, name: 'api' }, api.md)]);
    expect(records).to.include('{{secret:db/password}}');
    expect(records).not.to.include(password);

    // A new value rolls the service: a new process sees it; the old one and its files are gone.
    const next = `pw-${randomBytes(8).toString('hex')}`;
    expect((await api.secret('db', { password: next, user: 'app', 'tls.crt': 'CERT' })).result).to.equal('updated');
    const second = await api.ready('api', first.status!.pid);
    expect(second.metadata!.name).not.to.equal(first.metadata!.name);
    expect(environOf(second.status!.pid).DB_PASSWORD).to.equal(next);
    await eventually('the old process to stop', () => !alive(first.status!.pid));
    await eventually('the old instance mounts to be removed', () => !existsSync(mountRoot));

    // A configmap change rolls it too; casting the same secret again does not.
    expect((await api.secret('db', { password: next, user: 'app', 'tls.crt': 'CERT' })).result).to.equal('unchanged');
    await api.configMap('app', { logLevel: 'info', 'app.yaml': 'port: 8080\n' });
    const third = await api.ready('api', second.status!.pid);
    expect(environOf(third.status!.pid).LOG_LEVEL).to.equal('info');
  });

  it('fails the start with ConfigError naming a missing secret or key, and starts once it exists', async () => {
    await api.service('app', { env: { TOKEN: '{{secret:api-token/value}}' } });
    const failed = await eventually('a ConfigError', async () => {
      const [i] = await api.instances('app');
      return i?.status?.reason === 'ConfigError' ? i : undefined;
    });
    expect(failed.status!.message).to.include('secret "api-token" not found');
    await api.secret('api-token', { other: 'x' });
    await eventually('a ConfigError naming the key', async () => {
      const [i] = await api.instances('app');
      return i?.status?.reason === 'ConfigError' && i.status.message.includes('has no key "value" (its keys: other)');
    });
    const value = `tok-${randomBytes(6).toString('hex')}`;
    await api.secret('api-token', { value });
    const ready = await api.ready('app');
    expect(environOf(ready.status!.pid).TOKEN).to.equal(value);
  });
});

describe('the grep test: a secret value never reaches the disk or the logs', function () {
  this.timeout(120_000);
  let dataDir: string;
  let logDir: string;
  let log: WriteStream;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'rune-grep-data-'));
    logDir = await mkdtemp(join(tmpdir(), 'rune-grep-logs-'));
    log = createWriteStream(join(logDir, 'runed.log'));
  });
  after(async () => {
    killProcessesUnder(dataDir);
    await new Promise<void>((resolve) => log.end(resolve));
    await rm(dataDir, { recursive: true, force: true });
    await rm(logDir, { recursive: true, force: true });
  });

  it('after cast, run, crash, runed restart, a new version and delete, finds the secret nowhere but a configmap value as planted', async () => {
    const start = () => startTestRuned({ dataDir, orchestrator: TUNING, log: createLogger('trace', log) });
    // Random from a 64-letter alphabet with no prefix shared with anything else stored: LevelDB
    // compresses its tables (snappy), and a value sharing 4 bytes with earlier data in a block
    // could be split by a back-reference. A value like these stays one literal run.
    const planted = unique();
    const plantedNext = unique();
    const control = unique();
    const ns = 'grep';

    let t = await start();
    let api = new Api(t, ns);
    await call(api.c.namespaces, api.c.namespaces.createNamespace, { namespace: aNamespace({ name: ns }) }, api.md);
    await api.secret('db', { password: planted });
    await api.configMap('plain', { value: control });
    await api.service('app', {
      env: { DB_PASSWORD: '{{secret:db/password}}', CONTROL: '{{configmap:plain/value}}' },
      envFrom: [{ secret: 'db', configmap: '', prefix: 'FROM_' }],
      secretMounts: [{ secret: 'db', keys: [], env: '' }],
      health: { readiness: { type: 'exec', command: ['sh', '-c', 'test -n "$DB_PASSWORD"'], path: '', port: 0, initialDelaySeconds: 0, periodSeconds: 1, timeoutSeconds: 2, failureThreshold: 3, successThreshold: 1 }, liveness: undefined },
    });
    const first = await api.ready('app');
    expect(environOf(first.status!.pid).DB_PASSWORD, 'the process sees the value').to.equal(planted);
    const mountFile = join(dataDir, 'mounts', ns, first.metadata!.name, 'secrets', 'db', 'password');
    expect(readFileSync(mountFile, 'utf8')).to.equal(planted);

    // Crash: the instance restarts; its files are removed with the process and written again.
    process.kill(first.status!.pid, 'SIGKILL');
    const restarted = await api.ready('app', first.status!.pid);
    expect(restarted.status!.restartCount).to.equal(1);
    expect(environOf(restarted.status!.pid).DB_PASSWORD).to.equal(planted);

    // runed restart on the same data dir: the instance is adopted, not restarted.
    api.close();
    await t.runed.stop();
    t = await start();
    api = new Api(t, ns);
    const adopted = await api.ready('app');
    expect(adopted.status!.pid).to.equal(restarted.status!.pid);

    // A new version rolls it.
    await api.secret('db', { password: plantedNext });
    const rolled = await api.ready('app', adopted.status!.pid);
    expect(environOf(rolled.status!.pid).DB_PASSWORD).to.equal(plantedNext);

    // Delete: every process stops and its secret files go with it.
    await call(api.c.services, api.c.services.deleteService, { namespace: ns, name: 'app', resourceVersion: 0 }, api.md);
    await eventually('every process of the service to stop', () => runeProcesses(ns).size === 0, 20_000);
    await eventually('the service record to go', async () => (await api.instances('app')).length === 0 && !(await t.runed.store.get('services', ns, 'app')));
    await eventually('every mount dir to be removed', () => !existsSync(join(dataDir, 'mounts', ns)) || readdirSync(join(dataDir, 'mounts', ns)).length === 0);
    expect(existsSync(mountFile)).to.equal(false);
    api.close();
    await t.runed.stop();
    await new Promise<void>((resolve) => log.write('', () => resolve()));

    const dirs = [dataDir, logDir];
    // Every live key and value too, decompressed, through LevelDB itself.
    const db = new ClassicLevel<Buffer, Buffer>(join(dataDir, 'store'), { keyEncoding: 'buffer', valueEncoding: 'buffer' });
    const live: string[] = [];
    for await (const [key, value] of db.iterator()) {
      for (const [name, v] of [['control', control], ['planted', planted], ['plantedNext', plantedNext]] as const) {
        if (key.includes(Buffer.from(v)) || value.includes(Buffer.from(v))) live.push(`${name} in ${key.toString()}`);
      }
    }
    await db.close();
    expect(live.filter((l) => !l.startsWith('control'))).to.deep.equal([]);
    expect(live.some((l) => l.startsWith('control')), 'the configmap value is found in the store').to.equal(true);
    expect(filesUnder(join(dataDir, 'store')).length, 'LevelDB files are read').to.be.greaterThan(2);
    expect(readFileSync(join(logDir, 'runed.log'), 'utf8'), 'runed logged at trace level').to.include('runed is serving');
    expect(filesContaining(dirs, control), 'the grep finds a value that is stored in the clear (the control)').not.to.deep.equal([]);
    expect(filesContaining(dirs, planted), 'the first secret value').to.deep.equal([]);
    expect(filesContaining(dirs, plantedNext), 'the second secret value').to.deep.equal([]);
  });
});
