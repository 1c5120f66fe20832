/**
 * Access control across a restart of runed on the same data dir: subjects, policies, tokens and
 * the audit log are kept, built-in policies are seeded again without duplicates, and a runed
 * whose root subject was deleted (by another admin) does not bootstrap a new admin token.
 */
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { expect } from 'chai';
import type { AuditEntry } from '../../shared/gen/rune/v1/audit.js';
import { createLogger } from '../../server/logger.js';
import { startRuned, type Runed } from '../../server/runed.js';
import { grpcError, subjectToken } from '../support/access.js';
import { auth, call, clients, startTestRuned } from '../support/test-runed.js';

describe('access control across a restart (real runed, same data dir)', function () {
  this.timeout(30_000);
  const cleanup: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const f of cleanup.reverse()) await f();
  });

  it('keeps subjects, tokens and audit entries; deleting root does not re-bootstrap', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'runed-restart-'));
    cleanup.push(() => rm(dataDir, { recursive: true, force: true }));
    const first = await startTestRuned({ dataDir, orchestrator: { enabled: false } });
    cleanup.push(() => rm(first.home, { recursive: true, force: true }));
    let c = clients(first.runed.grpcAddr);
    const opsToken = await subjectToken(c, first.token, 'ops', ['admin']);
    // Another admin deletes root; the bootstrap token goes with it.
    await call(c.admin, c.admin.deleteSubject, { name: 'root' }, auth(opsToken));
    expect((await grpcError(call(c.auth, c.auth.whoAmI, {}, auth(first.token)))).code).to.equal(grpc.status.UNAUTHENTICATED);
    c.close();
    await first.runed.stop();
    await rm(join(dataDir, 'admin.token'));

    const home = await mkdtemp(join(tmpdir(), 'runed-home-'));
    cleanup.push(() => rm(home, { recursive: true, force: true }));
    const second: Runed = await startRuned({ dataDir, grpcAddr: '127.0.0.1:0', log: createLogger('silent'), env: { HOME: home, RUNE_CONFIG: join(home, 'config.yaml') }, orchestrator: { enabled: false } });
    cleanup.push(() => second.stop());
    expect(second.bootstrapTokenFile).to.equal(undefined);
    expect(await access(join(dataDir, 'admin.token')).then(() => true, () => false), 'no new admin token').to.equal(false);
    c = clients(second.grpcAddr);
    cleanup.push(async () => c.close());
    expect((await call(c.auth, c.auth.whoAmI, {}, auth(opsToken))).admin).to.equal(true);
    const { policies } = await call(c.admin, c.admin.listPolicies, {}, auth(opsToken));
    expect(policies.map((p) => p.metadata!.name).sort()).to.deep.equal(['admin', 'readonly', 'readwrite']);
    const entries = await new Promise<AuditEntry[]>((resolve, reject) => {
      const out: AuditEntry[] = [];
      const stream = c.admin.streamAudit({ since: undefined, follow: false }, auth(opsToken));
      stream.on('data', (m: { entries: AuditEntry[] }) => out.push(...m.entries));
      stream.on('error', reject);
      stream.on('end', () => resolve(out));
    });
    expect(entries.map((e) => `${e.subject} ${e.verb} ${e.resource} ${e.name}`)).to.include('ops delete subjects root');
  });
});
