/**
 * Bad tokens, each refused with UNAUTHENTICATED: truncated, a wrong signature, `alg: none`, a
 * wrong algorithm (HS512 with the right key), expired, revoked, and one signed by another
 * runed. The tokens are made by the admin API (or forged from its output), against a real runed.
 */
import { createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { expect } from 'chai';
import { SignJWT } from 'jose';
import { grpcError, subjectToken, tokenId } from '../support/access.js';
import { auth, call, clients, startTestRuned, type TestRuned } from '../support/test-runed.js';

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('token hardening: every bad token is UNAUTHENTICATED (real runed)', function () {
  this.timeout(30_000);
  let t: TestRuned;
  let other: TestRuned;
  let c: ReturnType<typeof clients>;
  let good: string;
  let key: Uint8Array;

  before(async () => {
    [t, other] = await Promise.all([startTestRuned({ orchestrator: { enabled: false } }), startTestRuned({ orchestrator: { enabled: false } })]);
    c = clients(t.runed.grpcAddr);
    good = await subjectToken(c, t.token, 'hana', ['readonly']);
    key = new Uint8Array(await readFile(join(t.runed.dataDir, 'signing.key')));
  });
  after(async () => {
    c?.close();
    await Promise.all([t?.stop(), other?.stop()]);
  });

  const whoami = (token: string) => call(c.auth, c.auth.whoAmI, {}, auth(token));
  async function refused(token: string): Promise<string> {
    const err = await grpcError(whoami(token));
    expect(err.code, err.details).to.equal(grpc.status.UNAUTHENTICATED);
    return err.details;
  }
  const parts = () => good.split('.') as [string, string, string];
  const claims = () => JSON.parse(Buffer.from(parts()[1], 'base64url').toString()) as Record<string, unknown>;

  it('accepts the good token (the baseline)', async () => {
    expect((await whoami(good)).subject).to.equal('hana');
  });

  it('refuses a truncated token: a signature cut short, or a missing part', async () => {
    await refused(good.slice(0, -4));
    await refused(parts().slice(0, 2).join('.'));
    await refused(parts()[0]);
    await refused(good.slice(0, good.length / 2));
  });

  it('refuses a token with a wrong signature, or claims changed under the old signature', async () => {
    const [h, p, s] = parts();
    const flipped = s.slice(0, 5) + (s[5] === 'A' ? 'B' : 'A') + s.slice(6);
    await refused(`${h}.${p}.${flipped}`);
    // Same signature, another subject: the signature no longer matches.
    await refused(`${h}.${b64({ ...claims(), sub: 'root' })}.${s}`);
  });

  it('refuses alg none, with and without a signature', async () => {
    const none = b64({ alg: 'none', typ: 'JWT' });
    const p = parts()[1];
    await refused(`${none}.${p}.`);
    await refused(`${none}.${p}.${parts()[2]}`);
  });

  it('refuses another algorithm with the right key: HS512, and HS384 made by hand', async () => {
    const hs512 = await new SignJWT(claims()).setProtectedHeader({ alg: 'HS512' }).sign(key);
    await refused(hs512);
    const h = b64({ alg: 'HS384', typ: 'JWT' });
    const p = parts()[1];
    const sig = createHmac('sha384', key).update(`${h}.${p}`).digest('base64url');
    await refused(`${h}.${p}.${sig}`);
  });

  it('refuses an expired token, saying it expired', async () => {
    const expired = await new SignJWT({ ...claims(), exp: Math.floor(Date.now() / 1000) - 60 }).setProtectedHeader({ alg: 'HS256' }).sign(key);
    expect(await refused(expired)).to.include('expired');
  });

  it('refuses a token that expires after it was accepted (a verified token is remembered, its expiry is not)', async function () {
    this.timeout(10_000);
    const token = await call(c.admin, c.admin.createToken, { subject: 'hana', ttlSeconds: 1, description: 'short-lived' }, auth(t.token));
    expect((await whoami(token.value)).subject).to.equal('hana');
    await new Promise((r) => setTimeout(r, 2100));
    expect(await refused(token.value)).to.include('expired');
  });

  it('refuses a revoked token from the very next call, saying it was revoked', async () => {
    const token = await call(c.admin, c.admin.createToken, { subject: 'hana', ttlSeconds: 0, description: 'to revoke' }, auth(t.token));
    expect((await whoami(token.value)).subject).to.equal('hana');
    await call(c.admin, c.admin.revokeToken, { id: tokenId(token.value) }, auth(t.token));
    expect(await refused(token.value)).to.include('revoked');
  });

  it('refuses a token signed by another runed (its bootstrap admin token), and the other way round', async () => {
    expect(await refused(other.token)).to.include('not valid for this runed');
    const theirs = clients(other.runed.grpcAddr);
    try {
      const err = await grpcError(call(theirs.auth, theirs.auth.whoAmI, {}, auth(good)));
      expect(err.code).to.equal(grpc.status.UNAUTHENTICATED);
    } finally {
      theirs.close();
    }
  });

  it('refuses garbage of every shape without echoing it back', async () => {
    for (const junk of ['x', '...', 'a.b.c', `${'A'.repeat(4000)}.${'B'.repeat(10)}.C`, good.replace(/\./g, '')]) {
      const details = await refused(junk);
      if (junk.length > 5) expect(details).to.not.include(junk);
    }
  });
});
