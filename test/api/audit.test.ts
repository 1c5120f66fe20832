/**
 * The audit log: every mutating call (allowed or refused), every exec and logs call, with
 * subject, method, resource, verb, namespace, name, outcome and time; reads are not audited;
 * no entry (and no byte of the audit database) holds a token value. StreamAudit answers
 * `since` and `follow`. The AuditLog itself is checked on a fake clock (retention, order).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { expect } from 'chai';
import type { AuditEntry } from '../../shared/gen/rune/v1/audit.js';
import { ObjectMeta } from '../../shared/gen/rune/v1/meta.js';
import { Service } from '../../shared/gen/rune/v1/service.js';
import { AuditLog } from '../../server/audit/audit-log.js';
import { grpcError, subjectToken } from '../support/access.js';
import { auth, call, clients, startTestRuned, type TestRuned } from '../support/test-runed.js';

describe('audit log (real runed)', function () {
  this.timeout(30_000);
  let t: TestRuned;
  let c: ReturnType<typeof clients>;
  let readerToken: string;
  let started: Date;

  /** Every entry since `since` (no follow). */
  function entries(since?: Date): Promise<AuditEntry[]> {
    return new Promise((resolve, reject) => {
      const out: AuditEntry[] = [];
      const stream = c.admin.streamAudit({ since, follow: false }, auth(t.token));
      stream.on('data', (m: { entries: AuditEntry[] }) => out.push(...m.entries));
      stream.on('error', reject);
      stream.on('end', () => resolve(out));
    });
  }

  before(async () => {
    t = await startTestRuned({ orchestrator: { enabled: false } });
    c = clients(t.runed.grpcAddr);
    started = new Date();
    readerToken = await subjectToken(c, t.token, 'reader', ['readonly']);
    await call(c.namespaces, c.namespaces.createNamespace, { namespace: { metadata: ObjectMeta.fromPartial({ name: 'shop' }) } }, auth(t.token));
    await call(c.services, c.services.castService, { service: Service.fromPartial({ metadata: { name: 'cart', namespace: 'shop' }, spec: { command: 'true', runtime: 'process', scale: 0 } }), dryRun: false }, auth(t.token));
    await call(c.services, c.services.listServices, { namespace: 'shop', options: undefined }, auth(t.token));
    await grpcError(call(c.services, c.services.deleteService, { namespace: 'shop', name: 'nothing', resourceVersion: 0 }, auth(t.token)));
    await grpcError(call(c.services, c.services.deleteService, { namespace: 'shop', name: 'cart', resourceVersion: 0 }, auth(readerToken)));
  });
  after(async () => {
    c?.close();
    await t?.stop();
  });

  it('records each mutating call, allowed or refused, with who, what, where and the outcome', async () => {
    const all = await entries();
    const rows = all.map((e) => `${e.subject} ${e.verb} ${e.resource} ${e.namespace}/${e.name} ${e.outcome}`);
    expect(rows).to.include.members([
      'root create subjects /reader OK',
      'root create tokens /reader OK',
      'root create namespaces /shop OK',
      'root create services shop/cart OK',
      'root delete services shop/nothing NOT_FOUND',
      'reader delete services shop/cart PERMISSION_DENIED',
    ]);
    const cast = all.find((e) => e.method === '/rune.v1.ServiceService/CastService')!;
    expect(cast.time!.getTime()).to.be.within(started.getTime() - 1000, Date.now());
    expect(cast.tokenId).to.match(/^[0-9a-f]{20}$/);
    expect(cast.peer).to.equal('127.0.0.1');
    // Reads are not audited.
    expect(all.map((e) => e.verb)).to.not.include.members(['list', 'get', 'watch']);
    // Oldest first.
    const times = all.map((e) => e.time!.getTime());
    expect(times).to.deep.equal([...times].sort((a, b) => a - b));
  });

  it('never records a token value: not in the entries, not in the audit database files', async () => {
    const minted = await call(c.admin, c.admin.createToken, { subject: 'reader', ttlSeconds: 60, description: 'secret-ish' }, auth(t.token));
    const all = JSON.stringify(await entries());
    const signature = (token: string) => token.split('.')[2]!;
    for (const token of [t.token, readerToken, minted.value]) {
      expect(all).to.not.include(token);
      expect(all).to.not.include(signature(token));
    }
    const dir = join(t.runed.dataDir, 'audit');
    for (const file of await readdir(dir)) {
      const bytes = (await readFile(join(dir, file))).toString('latin1');
      for (const token of [t.token, readerToken, minted.value]) expect(bytes, file).to.not.include(signature(token));
    }
  });

  it('filters by since, and follows new entries as they are appended', async () => {
    expect(await entries(new Date(Date.now() + 60_000))).to.deep.equal([]);
    const stream = c.admin.streamAudit({ since: new Date(), follow: true }, auth(t.token));
    const got: AuditEntry[] = [];
    stream.on('data', (m: { entries: AuditEntry[] }) => got.push(...m.entries));
    stream.on('error', () => undefined);
    await new Promise((r) => setTimeout(r, 100));
    await call(c.services, c.services.scaleService, { namespace: 'shop', name: 'cart', scale: 2 }, auth(t.token));
    const deadline = Date.now() + 3000;
    while (!got.some((e) => e.method.endsWith('/ScaleService')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    stream.cancel();
    expect(got.map((e) => `${e.verb} ${e.resource} ${e.namespace}/${e.name} ${e.outcome}`)).to.include('update services shop/cart OK');
  });

  it('is admin-only', async () => {
    const err = await new Promise<grpc.ServiceError>((resolve) => {
      const stream = c.admin.streamAudit({ since: undefined, follow: false }, auth(readerToken));
      stream.on('data', () => undefined);
      stream.on('error', resolve);
    });
    expect(err.code).to.equal(grpc.status.PERMISSION_DENIED);
  });
});

describe('AuditLog (in memory, fake clock)', () => {
  const entry = (name: string): Omit<AuditEntry, 'time'> => ({ subject: 's', tokenId: 't', method: '/m', resource: 'services', verb: 'create', namespace: 'default', name, outcome: 'OK', peer: '', durationMs: 0 });

  async function read(log: AuditLog, since?: Date): Promise<AuditEntry[]> {
    const out: AuditEntry[] = [];
    await log.query({ since, follow: false, signal: new AbortController().signal, write: async (batch) => void out.push(...batch) });
    return out;
  }

  it('keeps append order even when the clock goes back, and drops entries beyond the retention', async () => {
    let now = 1_000_000;
    const log = await AuditLog.openInMemory({ retainMs: 10_000, compactEveryMs: 0, now: () => now });
    await log.append(entry('a'));
    now -= 5000; // the clock steps back: the entry still sorts after
    await log.append(entry('b'));
    now += 20_000;
    await log.append(entry('c'));
    expect((await read(log)).map((e) => e.name)).to.deep.equal(['a', 'b', 'c']);
    expect((await read(log, new Date(now))).map((e) => e.name)).to.deep.equal(['c']);
    await log.compact();
    expect((await read(log)).map((e) => e.name)).to.deep.equal(['c']);
    await log.close();
  });

  it('follows: stored entries, then new ones, none twice, until aborted', async () => {
    const log = await AuditLog.openInMemory({ compactEveryMs: 0 });
    for (let i = 0; i < 300; i++) await log.append(entry(`old-${i}`));
    const abort = new AbortController();
    const got: string[] = [];
    const done = log.query({ follow: true, signal: abort.signal, write: async (batch) => void got.push(...batch.map((e) => e.name)) });
    const writes = Array.from({ length: 50 }, (_, i) => log.append(entry(`new-${i}`)));
    await Promise.all(writes);
    const deadline = Date.now() + 2000;
    while (got.length < 350 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    abort.abort();
    await done;
    expect(got).to.have.length(350);
    expect(new Set(got).size).to.equal(350);
    expect(got.slice(300)).to.deep.equal(Array.from({ length: 50 }, (_, i) => `new-${i}`));
    await log.close();
  });
});
