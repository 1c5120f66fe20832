/**
 * Subjects, policies and tokens through the admin API against a real runed, and what they
 * allow: namespaced rules on create/update and on watch streams, the admin-only API, built-in
 * policies that cannot be replaced or deleted, policy validation naming the bad entry, and
 * `WhoAmI` showing the effective policies.
 */
import * as grpc from '@grpc/grpc-js';
import { expect } from 'chai';
import { methods } from '../../shared/api/methods.js';
import { ObjectMeta } from '../../shared/gen/rune/v1/meta.js';
import { Policy } from '../../shared/gen/rune/v1/policy.js';
import { Service } from '../../shared/gen/rune/v1/service.js';
import { genericClients, grpcError, invoke, subjectToken } from '../support/access.js';
import { auth, call, clients, startTestRuned, type TestRuned } from '../support/test-runed.js';

const aService = (name: string, namespace: string): Service => Service.fromPartial({ metadata: { name, namespace }, spec: { command: 'true', runtime: 'process', scale: 0 } });
const meta = (name: string): ObjectMeta => ObjectMeta.fromPartial({ name });
const aPolicy = (name: string, rules: { resources: string[]; verbs: string[]; namespaces: string[] }[], description = ''): Policy => Policy.fromPartial({ metadata: { name }, rules, description });

describe('access control: subjects, policies, tokens (real runed)', function () {
  this.timeout(30_000);
  let t: TestRuned;
  let c: ReturnType<typeof clients>;
  let generic: ReturnType<typeof genericClients>;
  const admin = () => auth(t.token);

  before(async () => {
    t = await startTestRuned({ orchestrator: { enabled: false } });
    c = clients(t.runed.grpcAddr);
    generic = genericClients(t.runed.grpcAddr);
    for (const name of ['dev', 'prod']) await call(c.namespaces, c.namespaces.createNamespace, { namespace: { metadata: meta(name) } }, admin());
  });
  after(async () => {
    generic?.close();
    c?.close();
    await t?.stop();
  });

  it('seeds the built-in policies, marked builtin, and refuses to replace or delete them', async () => {
    const { policies } = await call(c.admin, c.admin.listPolicies, {}, admin());
    const builtins = policies.filter((p) => p.builtin).map((p) => p.metadata!.name);
    expect(builtins).to.have.members(['admin', 'readwrite', 'readonly']);
    const readonly = (await call(c.admin, c.admin.getPolicy, { name: 'readonly' }, admin())).policy!;
    expect(readonly.rules.map((r) => ({ resources: r.resources, verbs: r.verbs, namespaces: r.namespaces }))).to.deep.equal([{ resources: ['*'], verbs: ['get', 'list', 'watch', 'logs'], namespaces: ['*'] }]);
    const overwrite = await grpcError(call(c.admin, c.admin.createPolicy, { policy: aPolicy('readonly', [{ resources: ['*'], verbs: ['*'], namespaces: ['*'] }]) }, admin()));
    expect(overwrite.code).to.equal(grpc.status.FAILED_PRECONDITION);
    expect(overwrite.details).to.include('built in');
    const del = await grpcError(call(c.admin, c.admin.deletePolicy, { name: 'admin' }, admin()));
    expect(del.code).to.equal(grpc.status.FAILED_PRECONDITION);
  });

  it('rejects a policy with unknown verbs or resources, naming each entry', async () => {
    const err = await grpcError(
      call(c.admin, c.admin.createPolicy, { policy: aPolicy('bad', [{ resources: ['services'], verbs: ['get'], namespaces: ['dev'] }, { resources: ['servics'], verbs: ['destroy'], namespaces: ['Dev'] }]) }, admin()),
    );
    expect(err.code).to.equal(grpc.status.INVALID_ARGUMENT);
    expect(err.details).to.include('rules[1].verbs[0]: unknown verb "destroy"; known: get, list');
    expect(err.details).to.include('rules[1].resources[0]: unknown resource "servics" (did you mean "services"?)');
    expect(err.details).to.include('rules[1].namespaces[0]');
  });

  it('creates, updates (upsert), reports unchanged, and deletes a policy only once nobody holds it', async () => {
    const policy = aPolicy('viewer', [{ resources: ['services'], verbs: ['get'], namespaces: ['*'] }], 'reads services');
    expect((await call(c.admin, c.admin.createPolicy, { policy }, admin())).result).to.equal('created');
    expect((await call(c.admin, c.admin.createPolicy, { policy }, admin())).result).to.equal('unchanged');
    const updated = await call(c.admin, c.admin.createPolicy, { policy: aPolicy('viewer', [{ resources: ['services'], verbs: ['get', 'list'], namespaces: ['*'] }], 'reads services') }, admin());
    expect(updated.result).to.equal('updated');
    expect(updated.policy!.rules[0]!.verbs).to.deep.equal(['get', 'list']);
    await call(c.admin, c.admin.createSubject, { name: 'vera', type: 'user', policies: ['viewer'] }, admin());
    const held = await grpcError(call(c.admin, c.admin.deletePolicy, { name: 'viewer' }, admin()));
    expect(held.code).to.equal(grpc.status.FAILED_PRECONDITION);
    expect(held.details).to.include('vera');
    await call(c.admin, c.admin.detachPolicy, { subject: 'vera', policy: 'viewer' }, admin());
    await call(c.admin, c.admin.deletePolicy, { name: 'viewer' }, admin());
    expect((await grpcError(call(c.admin, c.admin.getPolicy, { name: 'viewer' }, admin()))).code).to.equal(grpc.status.NOT_FOUND);
  });

  it('validates subjects: name, type, and that every policy exists', async () => {
    expect((await grpcError(call(c.admin, c.admin.createSubject, { name: 'Bad Name', type: '', policies: [] }, admin()))).code).to.equal(grpc.status.INVALID_ARGUMENT);
    expect((await grpcError(call(c.admin, c.admin.createSubject, { name: 'x', type: 'robot', policies: [] }, admin()))).code).to.equal(grpc.status.INVALID_ARGUMENT);
    const missing = await grpcError(call(c.admin, c.admin.createSubject, { name: 'x', type: 'user', policies: ['nope'] }, admin()));
    expect(missing.code).to.equal(grpc.status.NOT_FOUND);
    expect(missing.details).to.include('"nope"');
    const ok = await call(c.admin, c.admin.createSubject, { name: 'ci-bot@example.com', type: 'serviceaccount', policies: [] }, admin());
    expect(ok.subject!.type).to.equal('serviceaccount');
    const dup = await grpcError(call(c.admin, c.admin.createSubject, { name: 'ci-bot@example.com', type: 'user', policies: [] }, admin()));
    expect(dup.code).to.equal(grpc.status.ALREADY_EXISTS);
  });

  describe('a policy limited to namespace dev', () => {
    let token: string;
    const md = () => auth(token);
    const method = (path: string) => methods.get(path)!;

    before(async () => {
      await call(c.admin, c.admin.createPolicy, {
        policy: aPolicy('dev-deployer', [{ resources: ['services', 'instances'], verbs: ['get', 'list', 'watch', 'create', 'update'], namespaces: ['dev'] }]),
      }, admin());
      token = await subjectToken(c, t.token, 'dana', ['dev-deployer']);
      // Something to update in both namespaces.
      for (const ns of ['dev', 'prod']) await call(c.services, c.services.castService, { service: aService('web', ns), dryRun: false }, admin());
    });

    it('allows create and update in dev, denies them in prod naming subject, verb, resource and namespace', async () => {
      const created = await call(c.services, c.services.castService, { service: aService('api', 'dev'), dryRun: false }, md());
      expect(created.result).to.equal('created');
      const denied = await grpcError(call(c.services, c.services.castService, { service: aService('api', 'prod'), dryRun: false }, md()));
      expect(denied.code).to.equal(grpc.status.PERMISSION_DENIED);
      expect(denied.details).to.include('subject "dana"').and.include('create services').and.include('namespace "prod"');
      expect((await call(c.services, c.services.scaleService, { namespace: 'dev', name: 'web', scale: 2 }, md())).service!.spec!.scale).to.equal(2);
      const scale = await grpcError(call(c.services, c.services.scaleService, { namespace: 'prod', name: 'web', scale: 2 }, md()));
      expect(scale.code).to.equal(grpc.status.PERMISSION_DENIED);
      expect(scale.details).to.include('update services').and.include('"prod"');
      // Not delete: the rule does not list it.
      expect((await grpcError(call(c.services, c.services.deleteService, { namespace: 'dev', name: 'api', resourceVersion: 0 }, md()))).code).to.equal(grpc.status.PERMISSION_DENIED);
    });

    it('denies lists across namespaces and cluster-scoped resources', async () => {
      expect((await call(c.services, c.services.listServices, { namespace: 'dev', options: undefined }, md())).services.map((s) => s.metadata!.name)).to.include('api');
      expect((await grpcError(call(c.services, c.services.listServices, { namespace: '*', options: undefined }, md()))).code).to.equal(grpc.status.PERMISSION_DENIED);
      expect((await grpcError(call(c.namespaces, c.namespaces.getNamespace, { name: 'dev' }, md()))).code).to.equal(grpc.status.PERMISSION_DENIED);
    });

    it('checks watch streams at start: WatchServices and WatchInstances in dev only', async () => {
      expect((await invoke(generic, method('/rune.v1.ServiceService/WatchServices'), { namespace: 'dev' }, md())).code).to.equal(grpc.status.OK);
      const prod = await invoke(generic, method('/rune.v1.ServiceService/WatchServices'), { namespace: 'prod' }, md());
      expect(prod.code).to.equal(grpc.status.PERMISSION_DENIED);
      expect(prod.details).to.include('watch services').and.include('"prod"');
      expect((await invoke(generic, method('/rune.v1.InstanceService/WatchInstances'), { namespace: 'dev' }, md())).code).to.equal(grpc.status.OK);
      expect((await invoke(generic, method('/rune.v1.InstanceService/WatchInstances'), { namespace: 'prod' }, md())).code).to.equal(grpc.status.PERMISSION_DENIED);
    });

    it('checks each create message of the multiplexed Watch: dev yes, prod and all namespaces no, on one stream', async () => {
      const stream = c.watch.watch(md());
      const replies: { created: number[]; canceled: { watchId: number; code: string }[] }[] = [];
      stream.on('data', (m: { created: { watchId: number }[]; canceled: { watchId: number; code: string }[] }) => replies.push({ created: m.created.map((x) => x.watchId), canceled: m.canceled.map((x) => ({ watchId: x.watchId, code: x.code })) }));
      stream.on('error', () => undefined);
      stream.write({ create: { watchId: 1, kind: 'services', namespace: 'dev', fromRevision: 0 } });
      stream.write({ create: { watchId: 2, kind: 'services', namespace: 'prod', fromRevision: 0 } });
      stream.write({ create: { watchId: 3, kind: 'services', namespace: '', fromRevision: 0 } });
      stream.write({ create: { watchId: 4, kind: 'namespaces', namespace: '', fromRevision: 0 } });
      const deadline = Date.now() + 5000;
      const seen = () => new Set(replies.flatMap((r) => [...r.created, ...r.canceled.map((x) => x.watchId)]));
      while (seen().size < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      stream.cancel();
      expect(replies.flatMap((r) => r.created)).to.deep.equal([1]);
      expect(replies.flatMap((r) => r.canceled).sort((a, b) => a.watchId - b.watchId)).to.deep.equal([
        { watchId: 2, code: 'PERMISSION_DENIED' },
        { watchId: 3, code: 'PERMISSION_DENIED' },
        { watchId: 4, code: 'PERMISSION_DENIED' },
      ]);
    });

    it('applies a policy change from the next call on (no restart, no new token)', async () => {
      await call(c.admin, c.admin.attachPolicy, { subject: 'dana', policy: 'readonly' }, admin());
      expect((await call(c.services, c.services.listServices, { namespace: '*', options: undefined }, md())).services.length).to.be.greaterThan(1);
      await call(c.admin, c.admin.detachPolicy, { subject: 'dana', policy: 'readonly' }, admin());
      expect((await grpcError(call(c.services, c.services.listServices, { namespace: '*', options: undefined }, md()))).code).to.equal(grpc.status.PERMISSION_DENIED);
    });

    it('shows the effective policies, with their rules, in WhoAmI', async () => {
      const me = await call(c.auth, c.auth.whoAmI, {}, md());
      expect(me.subject).to.equal('dana');
      expect(me.admin).to.equal(false);
      expect(me.policies).to.deep.equal(['dev-deployer']);
      expect(me.effectivePolicies.map((p) => p.metadata!.name)).to.deep.equal(['dev-deployer']);
      expect(me.effectivePolicies[0]!.rules[0]!.namespaces).to.deep.equal(['dev']);
    });
  });

  it('keeps the admin-only API from non-admins, whatever their policies, and admits them once given admin', async () => {
    const token = await subjectToken(c, t.token, 'rita', ['readwrite']);
    const err = await grpcError(call(c.admin, c.admin.listSubjects, {}, auth(token)));
    expect(err.code).to.equal(grpc.status.PERMISSION_DENIED);
    expect(err.details).to.include('admins only').and.include('rita');
    await call(c.admin, c.admin.attachPolicy, { subject: 'rita', policy: 'admin' }, admin());
    expect((await call(c.admin, c.admin.listSubjects, {}, auth(token))).subjects.map((s) => s.metadata!.name)).to.include('rita');
    expect((await call(c.auth, c.auth.whoAmI, {}, auth(token))).admin).to.equal(true);
  });

  it('will not let an admin delete itself or detach admin from itself', async () => {
    const self = await grpcError(call(c.admin, c.admin.deleteSubject, { name: 'root' }, admin()));
    expect(self.code).to.equal(grpc.status.FAILED_PRECONDITION);
    const detach = await grpcError(call(c.admin, c.admin.detachPolicy, { subject: 'root', policy: 'admin' }, admin()));
    expect(detach.code).to.equal(grpc.status.FAILED_PRECONDITION);
  });

  it('issues tokens shown once, lists them without values, revokes them, and deleting a subject revokes its tokens', async () => {
    await call(c.admin, c.admin.createSubject, { name: 'tess', type: 'user', policies: ['readonly'] }, admin());
    const a = await call(c.admin, c.admin.createToken, { subject: 'tess', ttlSeconds: 3600, description: 'laptop' }, admin());
    const b = await call(c.admin, c.admin.createToken, { subject: 'tess', ttlSeconds: 0, description: 'ci' }, admin());
    expect(a.value.split('.')).to.have.length(3);
    expect(a.token!.expiresAt!.getTime()).to.be.closeTo(Date.now() + 3600_000, 10_000);
    expect(b.token!.expiresAt).to.equal(undefined);
    const listed = await call(c.admin, c.admin.listTokens, { subject: 'tess' }, admin());
    expect(listed.tokens.map((x) => x.description)).to.deep.equal(['laptop', 'ci']);
    expect(JSON.stringify(listed)).to.not.include(a.value).and.not.include(a.value.split('.')[2]!);
    expect((await call(c.auth, c.auth.whoAmI, {}, auth(a.value))).subject).to.equal('tess');
    await call(c.admin, c.admin.revokeToken, { id: a.token!.metadata!.name }, admin());
    expect((await grpcError(call(c.auth, c.auth.whoAmI, {}, auth(a.value)))).code).to.equal(grpc.status.UNAUTHENTICATED);
    expect((await call(c.auth, c.auth.whoAmI, {}, auth(b.value))).subject).to.equal('tess');
    const deleted = await call(c.admin, c.admin.deleteSubject, { name: 'tess' }, admin());
    expect(deleted.revokedTokens).to.equal(1);
    expect((await grpcError(call(c.auth, c.auth.whoAmI, {}, auth(b.value)))).code).to.equal(grpc.status.UNAUTHENTICATED);
    expect((await call(c.admin, c.admin.listTokens, { subject: 'tess' }, admin())).tokens.every((x) => x.revoked)).to.equal(true);
    expect((await grpcError(call(c.admin, c.admin.createToken, { subject: 'tess', ttlSeconds: 0, description: '' }, admin()))).code).to.equal(grpc.status.NOT_FOUND);
    expect((await grpcError(call(c.admin, c.admin.createToken, { subject: 'root', ttlSeconds: -5, description: '' }, admin()))).code).to.equal(grpc.status.INVALID_ARGUMENT);
  });
});
