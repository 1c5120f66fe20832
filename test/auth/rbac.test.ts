/**
 * RBAC evaluation as pure functions, table-driven: wildcards in each list, cluster-scoped and
 * all-namespace requests, several policies.
 */
import { expect } from 'chai';
import { Policy, type PolicyRule } from '../../shared/gen/rune/v1/policy.js';
import { isSelfService, policiesAllow, ruleAllows, type AccessRequest } from '../../server/auth/rbac.js';
import { builtinPolicies, builtinPolicy } from '../../server/auth/builtin-policies.js';

const rule = (resources: string[], verbs: string[], namespaces: string[]): PolicyRule => ({ resources, verbs, namespaces });
const req = (verb: string, resource: string, namespace: string): AccessRequest => ({ verb, resource, namespace });

describe('RBAC evaluation (pure)', () => {
  const cases: [string, PolicyRule, AccessRequest, boolean][] = [
    ['exact match', rule(['services'], ['get'], ['dev']), req('get', 'services', 'dev'), true],
    ['other namespace', rule(['services'], ['get'], ['dev']), req('get', 'services', 'prod'), false],
    ['other verb', rule(['services'], ['get'], ['dev']), req('delete', 'services', 'dev'), false],
    ['other resource', rule(['services'], ['get'], ['dev']), req('get', 'secrets', 'dev'), false],
    ['* resources', rule(['*'], ['get'], ['dev']), req('get', 'secrets', 'dev'), true],
    ['* verbs', rule(['services'], ['*'], ['dev']), req('exec', 'services', 'dev'), true],
    ['* namespaces', rule(['services'], ['get'], ['*']), req('get', 'services', 'anything'), true],
    ['all namespaces needs *', rule(['services'], ['list'], ['dev', 'prod']), req('list', 'services', '*'), false],
    ['all namespaces with *', rule(['services'], ['list'], ['*']), req('list', 'services', '*'), true],
    ['cluster-scoped needs *', rule(['namespaces'], ['get'], ['dev']), req('get', 'namespaces', ''), false],
    ['cluster-scoped with *', rule(['namespaces'], ['get'], ['*']), req('get', 'namespaces', ''), true],
    ['a watch of every kind needs resources *', rule(['services', 'instances'], ['watch'], ['*']), req('watch', '*', 'dev'), false],
    ['a watch of every kind with *', rule(['*'], ['watch'], ['*']), req('watch', '*', 'dev'), true],
    ['a rule for a namespace named * only via the wildcard', rule(['services'], ['get'], ['dev']), req('get', 'services', '*'), false],
  ];
  for (const [name, r, request, allowed] of cases) {
    it(`${name}: ${allowed ? 'allowed' : 'denied'}`, () => expect(ruleAllows(r, request)).to.equal(allowed));
  }

  it('allows when any rule of any policy allows; denies with no policies', () => {
    const a = Policy.fromPartial({ rules: [rule(['services'], ['get'], ['dev'])] });
    const b = Policy.fromPartial({ rules: [rule(['instances'], ['exec'], ['prod']), rule(['services'], ['delete'], ['prod'])] });
    expect(policiesAllow([a, b], req('delete', 'services', 'prod'))).to.equal(true);
    expect(policiesAllow([a, b], req('delete', 'services', 'dev'))).to.equal(false);
    expect(policiesAllow([], req('get', 'services', 'dev'))).to.equal(false);
  });

  it('the built-ins: admin everything, readwrite no exec/reveal/admin, readonly reads and logs only', () => {
    const p = (name: string) => [builtinPolicy(name)!];
    expect(builtinPolicies().map((x) => x.metadata!.name)).to.deep.equal(['admin', 'readwrite', 'readonly']);
    expect(builtinPolicies().every((x) => x.builtin)).to.equal(true);
    for (const verb of ['get', 'exec', 'reveal', 'admin', 'delete']) expect(policiesAllow(p('admin'), req(verb, 'secrets', '*')), verb).to.equal(true);
    for (const verb of ['get', 'list', 'watch', 'logs', 'create', 'update', 'delete']) expect(policiesAllow(p('readwrite'), req(verb, 'services', 'dev')), verb).to.equal(true);
    for (const verb of ['exec', 'reveal', 'admin']) expect(policiesAllow(p('readwrite'), req(verb, 'services', 'dev')), verb).to.equal(false);
    for (const verb of ['get', 'list', 'watch', 'logs']) expect(policiesAllow(p('readonly'), req(verb, 'services', '*')), verb).to.equal(true);
    for (const verb of ['create', 'update', 'delete', 'exec', 'reveal', 'admin']) expect(policiesAllow(p('readonly'), req(verb, 'services', 'dev')), verb).to.equal(false);
  });

  it('self-service: whoami and the version, nothing else', () => {
    expect(isSelfService(req('get', 'whoami', ''))).to.equal(true);
    expect(isSelfService(req('get', 'system', ''))).to.equal(true);
    expect(isSelfService(req('list', 'system', ''))).to.equal(false);
    expect(isSelfService(req('get', 'services', ''))).to.equal(false);
  });
});
