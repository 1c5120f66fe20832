import * as grpc from '@grpc/grpc-js';
import { expect } from 'chai';
import type { Service } from '../../shared/gen/rune/v1/service.js';
import { Status } from '../../shared/gen/google/rpc/status.js';
import { CastServiceRequest } from '../../shared/gen/rune/v1/service_service.js';
import { BadRequest } from '../../shared/gen/google/rpc/error_details.js';
import { aNamespace, aService as baseService, type ServiceFixture } from '../support/builders.js';
import { auth, call, clients, startTestRuned, type TestRuned } from '../support/test-runed.js';

type Fixture = ServiceFixture & Partial<Pick<NonNullable<Service['spec']>, 'args' | 'ports' | 'restartPolicy' | 'runtime'>>;

/** A service in namespace "default" unless told otherwise, with the spec fields these tests vary. */
function aService(fixture: Fixture): Service {
  const { args, ports, restartPolicy, runtime, ...base } = fixture;
  const service = baseService({ namespace: 'default', ...base });
  Object.assign(service.spec!, { args: args ?? [], ports: ports ?? [], restartPolicy: restartPolicy ?? '', runtime: runtime ?? 'process' });
  return service;
}

describe('services API (real gRPC, real LevelDB)', function () {
  let t: TestRuned;
  let c: ReturnType<typeof clients>;
  let md: grpc.Metadata;

  before(async () => {
    t = await startTestRuned({ orchestrator: { enabled: false } }); // API effects on the store alone
    c = clients(t.runed.grpcAddr);
    md = auth(t.token);
  });
  after(async () => {
    c.close();
    await t.stop();
  });

  const cast = (service: Service, dryRun = false) => call(c.services, c.services.castService, { service, dryRun }, md);
  const get = (name: string, namespace = 'default') => call(c.services, c.services.getService, { namespace, name }, md);

  async function failure(promise: Promise<unknown>): Promise<grpc.ServiceError> {
    try {
      await promise;
    } catch (err) {
      return err as grpc.ServiceError;
    }
    throw new Error('the call succeeded');
  }

  /** Runs `action`, expecting it to fail, and checks the store did not change. */
  async function failsAndChangesNothing(action: () => Promise<unknown>): Promise<grpc.ServiceError> {
    const before = t.runed.store.revision;
    const err = await failure(action());
    expect(t.runed.store.revision, 'store revision after a failed request').to.equal(before);
    return err;
  }

  it('creates a service, applying defaults, and reads it back', async () => {
    const res = await cast(aService({ name: 'web', command: 'sleep', args: ['60'] }));
    expect(res.result).to.equal('created');
    const { service } = await get('web');
    expect(service!.metadata!.generation).to.equal(1);
    expect(service!.metadata!.uid).to.have.length.greaterThan(0);
    expect(service!.spec!.command).to.equal('sleep');
    expect(service!.spec!.runtime).to.equal('process');
    expect(service!.spec!.restartPolicy).to.equal('Always');
  });

  it('reports unchanged / configured / updated like kubectl apply, bumping generation only for spec changes', async () => {
    await cast(aService({ name: 'api', command: 'sleep', args: ['1'] }));
    expect((await cast(aService({ name: 'api', command: 'sleep', args: ['1'] }))).result).to.equal('unchanged');
    expect((await cast(aService({ name: 'api', command: 'sleep', args: ['1'], labels: { tier: 'back' } }))).result).to.equal('configured');
    expect((await get('api')).service!.metadata!.generation).to.equal(1);
    expect((await cast(aService({ name: 'api', command: 'sleep', args: ['2'], labels: { tier: 'back' } }))).result).to.equal('updated');
    expect((await get('api')).service!.metadata!.generation).to.equal(2);
  });

  it('dry run validates and reports without writing', async () => {
    const before = t.runed.store.revision;
    const res = await cast(aService({ name: 'dry', command: 'sleep' }), true);
    expect(res.result).to.equal('created');
    expect(t.runed.store.revision).to.equal(before);
    expect((await failure(get('dry'))).code).to.equal(grpc.status.NOT_FOUND);
  });

  it('rejects a stale resourceVersion with ABORTED and changes nothing', async () => {
    const { service } = await get('web');
    const stale = aService({ name: 'web', command: 'sleep', args: ['99'] });
    stale.metadata!.resourceVersion = service!.metadata!.resourceVersion - 1;
    const err = await failsAndChangesNothing(() => cast(stale));
    expect(err.code).to.equal(grpc.status.ABORTED);
    expect(err.details).to.include('stale');
    expect((await get('web')).service!.spec!.args).to.deep.equal(['60']);
  });

  it('rejects a name that is not a DNS-1123 label, naming the field, with BadRequest details', async () => {
    const err = await failsAndChangesNothing(() => cast(aService({ name: 'Web_1', command: 'sleep' })));
    expect(err.code).to.equal(grpc.status.INVALID_ARGUMENT);
    expect(err.details).to.include('name');
    const raw = err.metadata.get('grpc-status-details-bin')[0] as Buffer;
    const status = Status.decode(raw);
    const bad = BadRequest.decode(status.details[0]!.value);
    expect(bad.fieldViolations.map((v) => v.field).join()).to.include('name');
  });

  it('rejects wrong values naming the field (scale, port, restartPolicy, runtime)', async () => {
    const cases: [Fixture, string][] = [
      [{ scale: -1 }, 'scale'],
      [{ ports: [{ name: 'http', port: 70000, protocol: 'tcp' }] }, 'port'],
      [{ restartPolicy: 'Sometimes' }, 'restartPolicy'],
      [{ runtime: 'docker' }, 'runtime'],
    ];
    for (const [override, field] of cases) {
      const err = await failsAndChangesNothing(() => cast(aService({ name: 'bad', command: 'sleep', ...override })));
      expect(err.code, field).to.equal(grpc.status.INVALID_ARGUMENT);
      expect(err.details, field).to.include(field);
    }
  });

  it('rejects a request carrying a field runed does not know, naming where it is', async () => {
    // A CastServiceRequest with an extra field 99 inside service.spec, as a newer client might send.
    const request = CastServiceRequest.fromPartial({ service: aService({ name: 'future', command: 'sleep' }) });
    request.service!.spec!._unknownFields = { [(99 << 3) | 0]: [Uint8Array.of(0x01)] };
    const bytes = Buffer.from(CastServiceRequest.encode(request).finish());
    const err = await failsAndChangesNothing(
      () =>
        new Promise((resolve, reject) =>
          c.services.makeUnaryRequest('/rune.v1.ServiceService/CastService', (b: Buffer) => b, (b: Buffer) => b, bytes, md, (e, r) => (e ? reject(e) : resolve(r))),
        ),
    );
    expect(err.code).to.equal(grpc.status.INVALID_ARGUMENT);
    expect(err.details).to.include('unknown field number 99');
    expect(err.details).to.include('service.spec');
  });

  it('answers NOT_FOUND for a missing namespace, telling how to create it', async () => {
    const err = await failsAndChangesNothing(() => cast(aService({ name: 'web', namespace: 'nowhere', command: 'sleep' })));
    expect(err.code).to.equal(grpc.status.NOT_FOUND);
    expect(err.details).to.include('rune namespace create nowhere');
  });

  it('rejects an oversized object with INVALID_ARGUMENT', async () => {
    const err = await failsAndChangesNothing(() => cast(aService({ name: 'huge', command: 'sleep', env: { BIG: 'x'.repeat(1_200_000) } })));
    expect(err.code).to.equal(grpc.status.INVALID_ARGUMENT);
    expect(err.details).to.match(/bytes|limit|large/);
  });

  it('lists services of one namespace only, with pagination', async () => {
    await call(c.namespaces, c.namespaces.createNamespace, { namespace: aNamespace({ name: 'dev' }) }, md);
    await call(c.namespaces, c.namespaces.createNamespace, { namespace: aNamespace({ name: 'dev2' }) }, md);
    for (let i = 0; i < 5; i++) await cast(aService({ name: `s${i}`, namespace: 'dev', command: 'sleep' }));
    await cast(aService({ name: 'other', namespace: 'dev2', command: 'sleep' }));
    const names: string[] = [];
    let continueToken = '';
    do {
      const page = await call(c.services, c.services.listServices, { namespace: 'dev', options: { limit: 2, continueToken, labelSelector: '' } }, md);
      expect(page.services.length).to.be.at.most(2);
      names.push(...page.services.map((s) => s.metadata!.name));
      continueToken = page.listMeta!.continueToken;
    } while (continueToken);
    expect(names).to.deep.equal(['s0', 's1', 's2', 's3', 's4']);
    const all = await call(c.services, c.services.listServices, { namespace: '*', options: undefined }, md);
    expect(all.services.map((s) => s.metadata!.name)).to.include.members(['other', 's0', 'web']);
  });

  it('refuses to delete a namespace that is not empty unless cascading', async () => {
    const err = await failsAndChangesNothing(() => call(c.namespaces, c.namespaces.deleteNamespace, { name: 'dev', cascade: false }, md));
    expect(err.code).to.equal(grpc.status.FAILED_PRECONDITION);
    expect(err.details).to.include('--cascade');
    // Cascade marks the namespace and its services; the controllers (off in this suite) stop the
    // instances and remove the records (test/orchestrator covers that part).
    const marked = await call(c.namespaces, c.namespaces.deleteNamespace, { name: 'dev', cascade: true }, md);
    expect(marked.namespace!.metadata!.deletionTimestamp).to.be.instanceOf(Date);
    const left = await call(c.services, c.services.listServices, { namespace: 'dev', options: undefined }, md);
    expect(left.services.length).to.equal(5);
    expect(left.services.every((s) => s.metadata!.deletionTimestamp instanceof Date)).to.equal(true);
    const refused = await failsAndChangesNothing(() => cast(aService({ name: 'late', namespace: 'dev', command: 'sleep' })));
    expect(refused.code).to.equal(grpc.status.FAILED_PRECONDITION);
    expect(refused.details).to.include('being deleted');
  });

  it('refuses to delete the default namespace', async () => {
    const err = await failsAndChangesNothing(() => call(c.namespaces, c.namespaces.deleteNamespace, { name: 'default', cascade: true }, md));
    expect(err.code).to.equal(grpc.status.FAILED_PRECONDITION);
  });

  it('deletes a service by marking it for its finalizer; a missing one is NOT_FOUND', async () => {
    const { service } = await call(c.services, c.services.deleteService, { namespace: 'default', name: 'api', resourceVersion: 0 }, md);
    // The instances are stopped first: the service controller removes the record after (test/orchestrator).
    expect(service!.metadata!.deletionTimestamp).to.be.instanceOf(Date);
    expect(service!.metadata!.finalizers).to.deep.equal(['rune.dev/instances']);
    const before = t.runed.store.revision;
    await call(c.services, c.services.deleteService, { namespace: 'default', name: 'api', resourceVersion: 0 }, md);
    expect(t.runed.store.revision, 'deleting again changes nothing').to.equal(before);
    const err = await failsAndChangesNothing(() => call(c.services, c.services.deleteService, { namespace: 'default', name: 'never', resourceVersion: 0 }, md));
    expect(err.code).to.equal(grpc.status.NOT_FOUND);
    const stale = await failsAndChangesNothing(() => call(c.services, c.services.deleteService, { namespace: 'default', name: 'web', resourceVersion: 1 }, md));
    expect(stale.code).to.equal(grpc.status.ABORTED);
  });
});
