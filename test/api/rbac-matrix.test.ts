/**
 * The RBAC matrix: every built-in policy (and no policy at all) × every RPC in the generated
 * definitions, against a real runed. Each call is made with a minimal request by a subject
 * holding only that policy; the test asserts PERMISSION_DENIED exactly when the policy should
 * deny. The expectation is written out here from the README's table, not computed by the
 * server's evaluator, so a wrong evaluator fails it.
 *
 * Streams count by their first message or error (a watch that opens and waits is allowed); the
 * bidirectional Watch and Exec are checked on their first message (a watch `create`, an exec
 * `start`).
 */
import * as grpc from '@grpc/grpc-js';
import { expect } from 'chai';
import { methods, type MethodInfo } from '../../shared/api/methods.js';
import { genericClients, invoke, subjectToken } from '../support/access.js';
import { auth, clients, startTestRuned, type TestRuned } from '../support/test-runed.js';

/** What each built-in policy may do outside the admin-only API (README, "Access control"). */
const ALLOWED_VERBS: Record<string, readonly string[] | 'all'> = {
  admin: 'all',
  readwrite: ['get', 'list', 'watch', 'logs', 'create', 'update', 'delete'],
  readonly: ['get', 'list', 'watch', 'logs'],
  none: [],
};

/** Calls any authenticated subject may make: who am I, and the server version. */
const SELF_SERVICE = new Set(['whoami/get', 'system/get']);

function expectedAllowed(policy: string, method: MethodInfo): boolean {
  const { resource, verb, adminOnly } = method.access!;
  if (adminOnly) return policy === 'admin';
  if (SELF_SERVICE.has(`${resource}/${verb}`)) return true;
  const verbs = ALLOWED_VERBS[policy]!;
  return verbs === 'all' || verbs.includes(verb);
}

/**
 * Minimal requests that keep the calls harmless: names that do not exist, the default
 * namespace. RPCs not listed get an empty request (the namespace defaults to "default").
 */
const REQUESTS: Record<string, unknown> = {
  '/rune.v1.NamespaceService/CreateNamespace': { namespace: { metadata: { name: 'matrix' } } },
  '/rune.v1.NamespaceService/GetNamespace': { name: 'default' },
  '/rune.v1.NamespaceService/DeleteNamespace': { name: 'nobody-here' },
  '/rune.v1.ServiceService/CastService': { service: { metadata: { name: 'matrix', namespace: 'default' }, spec: { command: 'true', runtime: 'process', scale: 0 } } },
  '/rune.v1.ServiceService/GetService': { namespace: 'default', name: 'matrix' },
  '/rune.v1.ServiceService/DeleteService': { namespace: 'default', name: 'nobody-here' },
  '/rune.v1.ServiceService/ScaleService': { namespace: 'default', name: 'nobody-here', scale: 1 },
  '/rune.v1.ServiceService/RestartService': { namespace: 'default', name: 'nobody-here' },
  '/rune.v1.ServiceService/WatchServices': { namespace: 'default' },
  '/rune.v1.InstanceService/GetInstance': { namespace: 'default', name: 'nobody-here' },
  '/rune.v1.InstanceService/WatchInstances': { namespace: 'default' },
  '/rune.v1.LogService/StreamLogs': { namespace: 'default', target: 'nobody-here' },
  '/rune.v1.ExecService/Exec': { start: { namespace: 'default', instance: 'nobody-here', command: ['true'] } },
  '/rune.v1.WatchService/Watch': { create: { watchId: 1, kind: 'services', namespace: 'default' } },
  '/rune.v1.AdminService/CreateSubject': { name: '' },
  '/rune.v1.AdminService/DeleteSubject': { name: 'nobody-here' },
  '/rune.v1.AdminService/CreatePolicy': { policy: { metadata: { name: 'matrix' }, rules: [] } },
  '/rune.v1.AdminService/GetPolicy': { name: 'readonly' },
  '/rune.v1.AdminService/DeletePolicy': { name: 'nobody-here' },
  '/rune.v1.AdminService/AttachPolicy': { subject: 'nobody-here', policy: 'readonly' },
  '/rune.v1.AdminService/DetachPolicy': { subject: 'nobody-here', policy: 'readonly' },
  '/rune.v1.AdminService/CreateToken': { subject: 'nobody-here' },
  '/rune.v1.AdminService/RevokeToken': { id: 'nobody-here' },
  '/rune.v1.AdminService/StreamAudit': { follow: false },
};

describe('RBAC matrix: every built-in policy × every RPC (real runed)', function () {
  this.timeout(120_000);
  let t: TestRuned;
  let c: ReturnType<typeof clients>;
  let generic: ReturnType<typeof genericClients>;
  const tokens = new Map<string, string>();

  before(async () => {
    t = await startTestRuned({ orchestrator: { enabled: false } });
    c = clients(t.runed.grpcAddr);
    generic = genericClients(t.runed.grpcAddr);
    for (const policy of Object.keys(ALLOWED_VERBS)) {
      tokens.set(policy, await subjectToken(c, t.token, `matrix-${policy}`, policy === 'none' ? [] : [policy]));
    }
  });
  after(async () => {
    generic?.close();
    c?.close();
    await t?.stop();
  });

  it('covers every RPC of the generated definitions, each with an access rule', () => {
    expect(methods.size).to.be.greaterThan(20);
    for (const m of methods.values()) expect(m.access?.resource, m.path).to.be.a('string').and.not.equal('');
  });

  for (const policy of Object.keys(ALLOWED_VERBS)) {
    it(`policy ${policy}: allowed or PERMISSION_DENIED exactly as the table says`, async () => {
      const md = () => auth(tokens.get(policy)!);
      const wrong: string[] = [];
      for (const method of methods.values()) {
        const outcome = await invoke(generic, method, REQUESTS[method.path] ?? {}, md());
        // The token itself must work for every call: no authentication or rate-limit noise.
        expect(outcome.code, `${method.path}: ${outcome.details}`).to.not.be.oneOf([grpc.status.UNAUTHENTICATED, grpc.status.RESOURCE_EXHAUSTED]);
        const denied = outcome.code === grpc.status.PERMISSION_DENIED;
        const allowed = expectedAllowed(policy, method);
        if (denied === allowed) wrong.push(`${method.path} (${method.access!.verb} ${method.access!.resource}): expected ${allowed ? 'allowed' : 'denied'}, got ${grpc.status[outcome.code]}: ${outcome.details}`);
        if (denied && !method.access!.adminOnly) {
          // The message names the subject, the verb and the resource.
          expect(outcome.details).to.include(`matrix-${policy}`).and.include(method.access!.verb);
        }
      }
      expect(wrong, wrong.join('\n')).to.deep.equal([]);
    });
  }
});
