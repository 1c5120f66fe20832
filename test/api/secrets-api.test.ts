/**
 * Secrets, configmaps and the KEK through the API of a real runed (real gRPC, real LevelDB):
 * values only with reveal (and only for callers allowed to reveal), versions and pruning, the
 * stored record encrypted, configmaps with apply semantics, the KEK RPCs for admins only.
 */
import * as grpc from '@grpc/grpc-js';
import { expect } from 'chai';
import type { AuditEntry } from '../../shared/gen/rune/v1/audit.js';
import { ConfigMap } from '../../shared/gen/rune/v1/configmap.js';
import { ConfigMapServiceClient } from '../../shared/gen/rune/v1/configmap_service.js';
import { KekServiceClient } from '../../shared/gen/rune/v1/kek_service.js';
import { SecretRecord, type Secret } from '../../shared/gen/rune/v1/secret.js';
import { SecretServiceClient } from '../../shared/gen/rune/v1/secret_service.js';
import { aNamespace } from '../support/builders.js';
import { grpcError, subjectToken } from '../support/access.js';
import { auth, call, clients, startTestRuned, type TestRuned } from '../support/test-runed.js';

const aSecret = (name: string, data: Record<string, string>, extra: { namespace?: string; labels?: Record<string, string> } = {}): Secret => ({
  metadata: { name, namespace: extra.namespace ?? 'default', labels: extra.labels ?? {}, uid: '', resourceVersion: 0, generation: 0, createdAt: undefined, updatedAt: undefined, deletionTimestamp: undefined, finalizers: [] },
  type: '',
  keys: [],
  data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v)])),
  version: 0,
  versions: [],
});
const text = (data: Record<string, Uint8Array>) => Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString()]));

describe('secrets and configmaps API (real gRPC, real LevelDB)', function () {
  this.timeout(30_000);
  let t: TestRuned;
  let c: ReturnType<typeof clients>;
  let secrets: SecretServiceClient;
  let configMaps: ConfigMapServiceClient;
  let kek: KekServiceClient;
  let md: grpc.Metadata;

  before(async () => {
    t = await startTestRuned({ orchestrator: { enabled: false }, secrets: { keepVersions: 3 } });
    c = clients(t.runed.grpcAddr);
    const creds = grpc.credentials.createInsecure();
    secrets = new SecretServiceClient(t.runed.grpcAddr, creds);
    configMaps = new ConfigMapServiceClient(t.runed.grpcAddr, creds);
    kek = new KekServiceClient(t.runed.grpcAddr, creds);
    md = auth(t.token);
  });
  after(async () => {
    for (const client of [secrets, configMaps, kek]) client?.close();
    c?.close();
    await t?.stop();
  });

  const cast = (secret: Secret, metadata = md) => call(secrets, secrets.castSecret, { secret, dryRun: false }, metadata);
  const get = (name: string, options: { reveal?: boolean; version?: number; namespace?: string } = {}, metadata = md) =>
    call(secrets, secrets.getSecret, { namespace: options.namespace ?? 'default', name, reveal: options.reveal ?? false, version: options.version ?? 0 }, metadata);

  it('creates a secret and shows its keys, never its values, unless revealed', async () => {
    const created = await cast(aSecret('db', { user: 'app', password: 'hunter2-api' }));
    expect(created.result).to.equal('created');
    expect(created.secret!.keys).to.deep.equal(['password', 'user']);
    expect(created.secret!.data).to.deep.equal({});
    expect(created.secret!.version).to.equal(1);
    expect(created.secret!.type).to.equal('opaque');

    const plain = (await get('db')).secret!;
    expect(plain.keys).to.deep.equal(['password', 'user']);
    expect(plain.data).to.deep.equal({});

    const revealed = (await get('db', { reveal: true })).secret!;
    expect(text(revealed.data)).to.deep.equal({ user: 'app', password: 'hunter2-api' });

    const listed = (await call(secrets, secrets.listSecrets, { namespace: 'default', options: undefined }, md)).secrets;
    expect(listed.map((s) => [s.metadata!.name, s.keys, s.data])).to.deep.equal([['db', ['password', 'user'], {}]]);
  });

  it('stores only ciphertext: the record holds neither the values nor the data key in the clear', async () => {
    await cast(aSecret('stored', { token: 'plain-text-token-value' }));
    const record = (await t.runed.store.get<SecretRecord>('secrets', 'default', 'stored'))!;
    const bytes = Buffer.from(SecretRecord.encode(record).finish());
    expect(bytes.includes(Buffer.from('plain-text-token-value'))).to.equal(false);
    const [version] = record.versions;
    expect(version!.kekId).to.match(/^[0-9a-f]{16}$/);
    expect(version!.wrappedDek).to.have.length(48);
    expect(version!.keys).to.deep.equal(['token']);
  });

  it('makes a new version only when the values change, and prunes beyond --secret-versions', async () => {
    expect((await cast(aSecret('rot', { k: 'v1' }))).result).to.equal('created');
    expect((await cast(aSecret('rot', { k: 'v1' }))).result).to.equal('unchanged');
    const labelled = await cast(aSecret('rot', { k: 'v1' }, { labels: { team: 'a' } }));
    expect(labelled.result).to.equal('configured');
    expect(labelled.secret!.version).to.equal(1);
    for (const value of ['v2', 'v3', 'v4', 'v5']) expect((await cast(aSecret('rot', { k: value }, { labels: { team: 'a' } }))).result).to.equal('updated');
    const current = (await get('rot', { reveal: true })).secret!;
    expect(current.version).to.equal(5);
    expect(text(current.data)).to.deep.equal({ k: 'v5' });
    expect(current.versions.map((v) => v.version), 'keeps the newest 3').to.deep.equal([3, 4, 5]);
    expect(text((await get('rot', { reveal: true, version: 4 })).secret!.data)).to.deep.equal({ k: 'v4' });
    const pruned = await grpcError(get('rot', { version: 2 }));
    expect(pruned.code).to.equal(grpc.status.NOT_FOUND);
    expect(pruned.details).to.include('retained versions: 3, 4, 5');
  });

  it('deletes a secret with every version', async () => {
    await cast(aSecret('gone', { a: '1' }));
    const deleted = await call(secrets, secrets.deleteSecret, { namespace: 'default', name: 'gone' }, md);
    expect(deleted.secret!.data).to.deep.equal({});
    expect((await grpcError(get('gone'))).code).to.equal(grpc.status.NOT_FOUND);
    expect(await t.runed.store.get('secrets', 'default', 'gone')).to.equal(undefined);
  });

  it('rejects bad input naming the key, never quoting a value', async () => {
    const badKey = await grpcError(cast(aSecret('bad', { 'no/slash': 'quoted-never-123' })));
    expect(badKey.code).to.equal(grpc.status.INVALID_ARGUMENT);
    expect(badKey.details).to.include('data["no/slash"]').and.not.include('quoted-never-123');
    const empty = await grpcError(cast(aSecret('bad', {})));
    expect(empty.details).to.include('at least one key');
    const big = await grpcError(cast(aSecret('bad', { k: 'x'.repeat(300 * 1024) })));
    expect(big.details).to.include('at most 256 KiB');
    const missingNs = await grpcError(cast(aSecret('x', { k: 'v' }, { namespace: 'nope' })));
    expect(missingNs.code).to.equal(grpc.status.NOT_FOUND);
  });

  it('reveals values only to subjects allowed to reveal secrets in the namespace', async () => {
    await cast(aSecret('shared', { key: 'reveal-me' }));
    const reader = await subjectToken(c, t.token, 'secret-reader', ['readonly']);
    const keys = (await get('shared', {}, auth(reader))).secret!;
    expect(keys.keys).to.deep.equal(['key']);
    const denied = await grpcError(get('shared', { reveal: true }, auth(reader)));
    expect(denied.code).to.equal(grpc.status.PERMISSION_DENIED);
    expect(denied.details).to.include('reveal').and.include('secrets').and.include('secret-reader');
    expect(denied.details).not.to.include('reveal-me');

    // Each reveal is audited, allowed or not, without the value.
    await get('shared', { reveal: true });
    const entries = await new Promise<AuditEntry[]>((resolve, reject) => {
      const out: AuditEntry[] = [];
      const stream = c.admin.streamAudit({ since: undefined, follow: false }, md);
      stream.on('data', (m: { entries: AuditEntry[] }) => out.push(...m.entries));
      stream.on('error', reject);
      stream.on('end', () => resolve(out));
    });
    const reveals = entries.filter((e) => e.verb === 'reveal' && e.name === 'shared');
    expect(reveals.map((e) => [e.subject, e.resource, e.namespace, e.outcome])).to.deep.equal([
      ['secret-reader', 'secrets', 'default', 'PERMISSION_DENIED'],
      ['root', 'secrets', 'default', 'OK'],
    ]);
    expect(JSON.stringify(entries)).not.to.include('reveal-me');
  });

  it('casts, gets, lists and deletes configmaps', async () => {
    const castMap = (data: Record<string, string>) =>
      call(configMaps, configMaps.castConfigMap, { configMap: ConfigMap.fromPartial({ metadata: { name: 'app', namespace: 'default' }, data }), dryRun: false }, md);
    expect((await castMap({ logLevel: 'debug' })).result).to.equal('created');
    expect((await castMap({ logLevel: 'debug' })).result).to.equal('unchanged');
    const updated = await castMap({ logLevel: 'info', 'app.yaml': 'port: 8080\n' });
    expect(updated.result).to.equal('updated');
    expect(updated.configMap!.metadata!.generation).to.equal(2);
    const got = (await call(configMaps, configMaps.getConfigMap, { namespace: 'default', name: 'app' }, md)).configMap!;
    expect(got.data).to.deep.equal({ logLevel: 'info', 'app.yaml': 'port: 8080\n' });
    const listed = (await call(configMaps, configMaps.listConfigMaps, { namespace: '*', options: undefined }, md)).configMaps;
    expect(listed.map((m) => m.metadata!.name)).to.deep.equal(['app']);
    const badKey = await grpcError(castMap({ '..': 'x' }));
    expect(badKey.code).to.equal(grpc.status.INVALID_ARGUMENT);
    await call(configMaps, configMaps.deleteConfigMap, { namespace: 'default', name: 'app' }, md);
    expect((await grpcError(call(configMaps, configMaps.getConfigMap, { namespace: 'default', name: 'app' }, md))).code).to.equal(grpc.status.NOT_FOUND);
  });

  it('keeps secrets and configmaps in a namespace from being deleted without --cascade, and deletes them with it', async () => {
    await call(c.namespaces, c.namespaces.createNamespace, { namespace: aNamespace({ name: 'vault' }) }, md);
    await cast(aSecret('s', { k: 'v' }, { namespace: 'vault' }));
    await call(configMaps, configMaps.castConfigMap, { configMap: ConfigMap.fromPartial({ metadata: { name: 'm', namespace: 'vault' }, data: { k: 'v' } }), dryRun: false }, md);
    const refused = await grpcError(call(c.namespaces, c.namespaces.deleteNamespace, { name: 'vault', cascade: false }, md));
    expect(refused.code).to.equal(grpc.status.FAILED_PRECONDITION);
    expect(refused.details).to.include('secrets/s').and.include('configmaps/m');
    await call(c.namespaces, c.namespaces.deleteNamespace, { name: 'vault', cascade: true }, md);
    expect(await t.runed.store.get('secrets', 'vault', 's')).to.equal(undefined);
    expect(await t.runed.store.get('configmaps', 'vault', 'm')).to.equal(undefined);
  });

  it('tells admins which KEK is in use, and nobody else', async () => {
    const status = await call(kek, kek.getKekStatus, {}, md);
    expect(status.source).to.equal('data-dir');
    expect(status.kekFile).to.equal(`${t.runed.dataDir}/kek`);
    expect(status.kekId).to.match(/^[0-9a-f]{16}$/);
    expect(status.versionsOnCurrentKek).to.equal(status.secretVersions);
    const reader = await subjectToken(c, t.token, 'not-admin', ['readwrite']);
    expect((await grpcError(call(kek, kek.rotateKek, {}, auth(reader)))).code).to.equal(grpc.status.PERMISSION_DENIED);
  });
});
