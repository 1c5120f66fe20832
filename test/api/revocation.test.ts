/**
 * Revocation ends open streams: a WatchServices stream, a followed log and an exec session
 * opened with a token all end with UNAUTHENTICATED as soon as the token is revoked (the exec's
 * command is killed), and the same when the token's subject is deleted or the token expires.
 * Real runed, real files and processes; the instance records are written straight to the store.
 */
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { expect } from 'chai';
import { ExecRequest, type ExecResponse } from '../../shared/gen/rune/v1/exec_service.js';
import { Instance } from '../../shared/gen/rune/v1/instance.js';
import { StreamLogsRequest } from '../../shared/gen/rune/v1/log_service.js';
import { Policy } from '../../shared/gen/rune/v1/policy.js';
import { Service } from '../../shared/gen/rune/v1/service.js';
import { WatchServicesRequest } from '../../shared/gen/rune/v1/service_service.js';
import { subjectToken, tokenId } from '../support/access.js';
import { auth, call, clients, startTestRuned, type TestRuned } from '../support/test-runed.js';

interface Open {
  /** Resolves with the status the stream ended with. */
  ended: Promise<grpc.ServiceError | 'end'>;
  /** Resolves once the stream delivered its first message. */
  first: Promise<unknown>;
}

function track(stream: grpc.ClientReadableStream<unknown>): Open {
  let firstResolve: (m: unknown) => void;
  const first = new Promise((resolve) => (firstResolve = resolve));
  const ended = new Promise<grpc.ServiceError | 'end'>((resolve) => {
    stream.on('data', (m) => firstResolve(m));
    stream.on('error', (err: grpc.ServiceError) => resolve(err));
    stream.on('end', () => resolve('end'));
  });
  return { ended, first };
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms))]);
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

describe('revocation ends open streams (real runed)', function () {
  this.timeout(30_000);
  let t: TestRuned;
  let c: ReturnType<typeof clients>;
  let work: string;
  const streams: { cancel(): void }[] = [];

  before(async () => {
    t = await startTestRuned({ orchestrator: { enabled: false } });
    c = clients(t.runed.grpcAddr);
    work = await mkdtemp(join(tmpdir(), 'rune-revoke-'));
    const logPath = join(work, 'web-1.log');
    await writeFile(logPath, 'hello\nworld\n');
    await mkdir(join(work, 'app'));
    await t.runed.store.create('services', Service.fromPartial({ metadata: { name: 'web', namespace: 'default' }, spec: { runtime: 'process', command: '/bin/sleep', args: ['60'], workingDir: join(work, 'app'), scale: 1 } }));
    await t.runed.store.create('instances', Instance.fromPartial({ metadata: { name: 'web-1', namespace: 'default' }, spec: { service: 'web', node: 'local' }, status: { phase: 'running', logPath } }));
    const ops = Policy.fromPartial({ metadata: { name: 'ops' }, rules: [{ resources: ['services', 'instances'], verbs: ['get', 'list', 'watch', 'logs', 'exec'], namespaces: ['default'] }] });
    await call(c.admin, c.admin.createPolicy, { policy: ops }, auth(t.token));
  });
  after(async () => {
    for (const s of streams) s.cancel();
    c?.close();
    await t?.stop();
    await rm(work, { recursive: true, force: true });
  });

  /** Opens a watch, a log follow and an exec (which reports its PID) with `token`. */
  async function openAll(token: string) {
    const watch = c.services.watchServices(WatchServicesRequest.fromPartial({ namespace: 'default' }), auth(token));
    const logs = c.logs.streamLogs(StreamLogsRequest.fromPartial({ namespace: 'default', target: 'web-1', follow: true }), auth(token));
    const exec = c.exec.exec(auth(token));
    streams.push(watch, logs, exec);
    exec.write(ExecRequest.fromPartial({ start: { namespace: 'default', instance: 'web-1', command: ['/bin/sh', '-c', 'echo $$; exec sleep 30'] } }));
    const opened = { watch: track(watch), logs: track(logs), exec: track(exec as unknown as grpc.ClientReadableStream<unknown>) };
    await within(Promise.all([opened.watch.first, opened.logs.first]), 5000, 'watch and logs open');
    const pid = Number(Buffer.from(((await within(opened.exec.first, 5000, 'exec started')) as ExecResponse).stdout!).toString().trim());
    expect(alive(pid), 'exec command runs').to.equal(true);
    return { ...opened, pid };
  }

  async function expectAllEnded(opened: Awaited<ReturnType<typeof openAll>>, says: string) {
    for (const [name, open] of Object.entries({ watch: opened.watch, logs: opened.logs, exec: opened.exec })) {
      const end = await within(open.ended, 3000, `${name} stream ended`);
      expect(end, `${name} stream`).to.not.equal('end');
      expect((end as grpc.ServiceError).code, `${name}: ${(end as grpc.ServiceError).details}`).to.equal(grpc.status.UNAUTHENTICATED);
      expect((end as grpc.ServiceError).details).to.include(says);
    }
    const deadline = Date.now() + 3000;
    while (alive(opened.pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(alive(opened.pid), 'the exec command was killed').to.equal(false);
  }

  it('ends watch, logs -f and exec with UNAUTHENTICATED when their token is revoked; other tokens are untouched', async () => {
    const token = await subjectToken(c, t.token, 'otto', ['ops']);
    const other = await call(c.admin, c.admin.createToken, { subject: 'otto', ttlSeconds: 0, description: 'spare' }, auth(t.token));
    const opened = await openAll(token);
    const bystander = track(c.services.watchServices(WatchServicesRequest.fromPartial({ namespace: 'default' }), auth(other.value)));
    await within(bystander.first, 5000, 'bystander open');
    await call(c.admin, c.admin.revokeToken, { id: tokenId(token) }, auth(t.token));
    await expectAllEnded(opened, 'revoked');
    const still = await Promise.race([bystander.ended, new Promise((r) => setTimeout(() => r('open'), 300))]);
    expect(still, 'a stream of another token stays open').to.equal('open');
  });

  it('ends every stream of a subject when the subject is deleted', async () => {
    const token = await subjectToken(c, t.token, 'olga', ['ops']);
    const opened = await openAll(token);
    await call(c.admin, c.admin.deleteSubject, { name: 'olga' }, auth(t.token));
    await expectAllEnded(opened, 'olga');
  });

  it('ends a stream when its token expires', async () => {
    const token = await subjectToken(c, t.token, 'ella', ['ops'], { ttlSeconds: 2 });
    const watch = track(c.services.watchServices(WatchServicesRequest.fromPartial({ namespace: 'default' }), auth(token)));
    await within(watch.first, 5000, 'watch open');
    const end = await within(watch.ended, 5000, 'watch ended at expiry');
    expect((end as grpc.ServiceError).code).to.equal(grpc.status.UNAUTHENTICATED);
    expect((end as grpc.ServiceError).details).to.include('expired');
  });
});
