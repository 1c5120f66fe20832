import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { expect } from 'chai';
import { SignJWT } from 'jose';
import { methods } from '../../shared/api/methods.js';
import type { Token } from '../../shared/gen/rune/v1/auth.js';
import { auth, call, clients, startTestRuned, type TestRuned } from '../support/test-runed.js';

describe('authentication', function () {
  let t: TestRuned;
  let c: ReturnType<typeof clients>;
  let signingKey: Uint8Array;

  before(async () => {
    t = await startTestRuned();
    c = clients(t.runed.grpcAddr);
    signingKey = new Uint8Array(await readFile(join(t.runed.dataDir, 'signing.key')));
  });
  after(async () => {
    c.close();
    await t.stop();
  });

  const whoami = (md: grpc.Metadata) => call(c.auth, c.auth.whoAmI, {}, md);

  async function rejection(md: grpc.Metadata): Promise<grpc.ServiceError> {
    try {
      await whoami(md);
    } catch (err) {
      return err as grpc.ServiceError;
    }
    throw new Error('the call was accepted');
  }

  /** A token signed with `key` for subject root, recorded in the store unless told otherwise. */
  async function token(options: { key?: Uint8Array; expSecondsFromNow?: number; record?: boolean; revoked?: boolean } = {}): Promise<string> {
    const jti = randomBytes(10).toString('hex');
    let jwt = new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setIssuer('runed').setAudience('rune').setSubject('root').setJti(jti).setIssuedAt();
    if (options.expSecondsFromNow !== undefined) jwt = jwt.setExpirationTime(Math.floor(Date.now() / 1000) + options.expSecondsFromNow);
    if (options.record !== false) {
      await t.runed.store.create<Token>('tokens', { metadata: { name: jti } as never, subject: 'root', description: 'test', expiresAt: undefined, revoked: options.revoked ?? false });
      await new Promise((r) => setTimeout(r, 20)); // let the informer see it
    }
    return jwt.sign(options.key ?? signingKey);
  }

  it('accepts the bootstrap admin token and says who the caller is', async () => {
    const me = await whoami(auth(t.token));
    expect(me.subject).to.equal('root');
    expect(me.admin).to.equal(true);
    expect(me.tokenId).to.match(/^[0-9a-f]{20}$/);
  });

  it('rejects a call without a token, saying how to log in', async () => {
    const err = await rejection(auth());
    expect(err.code).to.equal(grpc.status.UNAUTHENTICATED);
    expect(err.details).to.include('rune login');
  });

  it('rejects a malformed authorization header', async () => {
    const err = await rejection(auth(t.token, 'Basic'));
    expect(err.code).to.equal(grpc.status.UNAUTHENTICATED);
    expect(err.details).to.include('Bearer');
  });

  it('rejects a token with a bad signature', async () => {
    const err = await rejection(auth(await token({ key: randomBytes(32) })));
    expect(err.code).to.equal(grpc.status.UNAUTHENTICATED);
    expect(err.details).to.include('not valid');
  });

  it('rejects an expired token', async () => {
    const err = await rejection(auth(await token({ expSecondsFromNow: -60 })));
    expect(err.code).to.equal(grpc.status.UNAUTHENTICATED);
    expect(err.details).to.include('expired');
  });

  it('rejects a token whose jti is revoked, and one whose jti was never recorded', async () => {
    const revoked = await rejection(auth(await token({ revoked: true })));
    expect(revoked.code).to.equal(grpc.status.UNAUTHENTICATED);
    expect(revoked.details).to.include('revoked');
    const unknown = await rejection(auth(await token({ record: false })));
    expect(unknown.code).to.equal(grpc.status.UNAUTHENTICATED);
  });

  it('takes a revocation into account on the very next call', async () => {
    const good = await token();
    expect((await whoami(auth(good))).subject).to.equal('root');
    const jti = JSON.parse(Buffer.from(good.split('.')[1]!, 'base64url').toString()).jti as string;
    const record = (await t.runed.store.get<Token>('tokens', '', jti))!;
    await t.runed.store.update('tokens', { ...record, revoked: true });
    const err = await rejection(auth(good));
    expect(err.code).to.equal(grpc.status.UNAUTHENTICATED);
  });

  it('accepts the token as x-api-key too', async () => {
    const md = new grpc.Metadata();
    md.set('x-api-key', t.token);
    expect((await whoami(md)).subject).to.equal('root');
  });

  it('leaves health open without a token', async () => {
    const { HealthClient } = await healthClient();
    const health = new HealthClient(t.runed.grpcAddr, grpc.credentials.createInsecure());
    const res = await new Promise<{ status: string }>((resolve, reject) =>
      health.check({ service: '' }, (err: Error | null, r: { status: string }) => (err ? reject(err) : resolve(r))),
    );
    expect(res.status).to.equal('SERVING');
    const perService = await new Promise<{ status: string }>((resolve, reject) =>
      health.check({ service: 'rune.v1.RunService' }, (err: Error | null, r: { status: string }) => (err ? reject(err) : resolve(r))),
    );
    expect(perService.status).to.equal('SERVING');
    const unknown = await new Promise<grpc.ServiceError>((resolve) => health.check({ service: 'no.Such' }, (err: grpc.ServiceError) => resolve(err)));
    expect(unknown.code).to.equal(grpc.status.NOT_FOUND);
    // Watch: the current status at once (the standard client's wire format decodes it).
    const watched = await new Promise<string>((resolve, reject) => {
      const stream = (health as unknown as { watch(r: { service: string }): grpc.ClientReadableStream<{ status: string }> }).watch({ service: '' });
      stream.on('data', (m: { status: string }) => {
        resolve(m.status);
        stream.cancel();
      });
      stream.on('error', (err: grpc.ServiceError) => (err.code === grpc.status.CANCELLED ? undefined : reject(err)));
    });
    expect(watched).to.equal('SERVING');
    health.close();
  });

  it('serves reflection without a token, listing the API (what grpcurl list does)', async () => {
    const protoLoader = await import('@grpc/proto-loader');
    const { createRequire } = await import('node:module');
    const protoPath = createRequire(import.meta.url).resolve('@grpc/reflection/build/proto/grpc/reflection/v1/reflection.proto');
    const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(protoPath, { keepCase: true })) as unknown as {
      grpc: { reflection: { v1: { ServerReflection: new (addr: string, creds: grpc.ChannelCredentials) => grpc.Client & { ServerReflectionInfo(): grpc.ClientDuplexStream<unknown, { list_services_response?: { service: { name: string }[] } }> } } } };
    };
    const client = new pkg.grpc.reflection.v1.ServerReflection(t.runed.grpcAddr, grpc.credentials.createInsecure());
    const stream = client.ServerReflectionInfo();
    const names = await new Promise<string[]>((resolve, reject) => {
      stream.on('data', (m: { list_services_response?: { service: { name: string }[] } }) => resolve((m.list_services_response?.service ?? []).map((s) => s.name)));
      stream.on('error', reject);
      stream.write({ list_services: '' });
    });
    stream.end();
    client.close();
    expect(names).to.include.members(['rune.v1.ServiceService', 'rune.v1.NamespaceService', 'rune.v1.WatchService', 'rune.v1.AuthService']);
  });

  it('declares an access rule on every RPC', () => {
    const missing = [...methods.values()].filter((m) => !m.access || !m.access.resource || !m.access.verb).map((m) => m.path);
    expect(missing, `RPCs without a rune.v1.access rule: ${missing.join(', ')}`).to.deep.equal([]);
    expect(methods.size).to.be.greaterThan(5);
  });
});

async function healthClient() {
  const protoLoader = await import('@grpc/proto-loader');
  const { protoPath } = await import('grpc-health-check');
  const def = protoLoader.loadSync(protoPath, { keepCase: true, enums: String });
  const pkg = grpc.loadPackageDefinition(def) as unknown as { grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } } };
  return { HealthClient: pkg.grpc.health.v1.Health as unknown as new (addr: string, creds: grpc.ChannelCredentials) => grpc.Client & { check: Function } };
}
