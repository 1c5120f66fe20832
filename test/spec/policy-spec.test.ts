/**
 * The policy file: its schema, the messages naming each bad entry, and the same rules on the
 * API message (what runed applies to CreatePolicy).
 */
import { expect } from 'chai';
import { parse } from 'yaml';
import { Policy } from '../../shared/gen/rune/v1/policy.js';
import { knownResources, policyFromDocument, subjectNameProblem, validatePolicy, VERBS } from '../../shared/spec/policy-spec.js';

describe('policy spec', () => {
  it('turns a valid policy file into the API message', () => {
    const { policy, violations } = policyFromDocument(parse(`
policy:
  name: dev-deployer
  description: deploys to dev
  rules:
    - resources: [services, instances]
      verbs: [get, list, create, update]
      namespaces: [dev]
    - resources: ["*"]
      verbs: [watch]
      namespaces: ["*"]
`));
    expect(violations).to.deep.equal([]);
    expect(policy!.metadata!.name).to.equal('dev-deployer');
    expect(policy!.description).to.equal('deploys to dev');
    expect(policy!.rules.map((r) => r.verbs)).to.deep.equal([['get', 'list', 'create', 'update'], ['watch']]);
  });

  it('names each bad entry: unknown verb and resource with what is known, bad namespace, missing lists', () => {
    const { violations } = policyFromDocument(parse(`
policy:
  name: bad
  rules:
    - resources: [services]
      verbs: [get]
      namespaces: [dev]
    - resources: [service]
      verbs: [get, destroy]
      namespaces: [Dev]
    - resources: [services]
      verbs: []
`));
    const byField = Object.fromEntries(violations.map((v) => [v.field, v.description]));
    expect(byField['rules[1].verbs[1]']).to.equal(`unknown verb "destroy"; known: ${VERBS.join(', ')}, or * for all`);
    expect(byField['rules[1].resources[0]']).to.match(/^unknown resource "service" \(did you mean "services"\?\); known: .*services/);
    expect(byField['rules[1].namespaces[0]']).to.include('namespace "Dev"');
    expect(byField['rules[2].verbs']).to.equal('must have at least 1 item');
    expect(byField['rules[2].namespaces']).to.equal('is required');
  });

  it('rejects unknown fields and a file without policy:', () => {
    expect(policyFromDocument(parse('policy: {name: x, rules: [{resources: ["*"], verbs: ["*"], namespaces: ["*"], verb: [get]}]}')).violations[0]!.field).to.equal('rules[0].verb');
    expect(policyFromDocument(parse('service: {name: web}')).violations[0]!.field).to.equal('policy');
    expect(policyFromDocument(parse('policy: {name: x, rules: [{resources: ["*"], verbs: ["*"], namespaces: ["*"]}]}\nextra: 1')).violations[0]!.field).to.equal('extra');
  });

  it('applies the same rules to the API message', () => {
    const violations = validatePolicy(Policy.fromPartial({ metadata: { name: 'x' }, rules: [{ resources: ['services'], verbs: ['nuke'], namespaces: ['*'] }] }));
    expect(violations).to.deep.equal([{ field: 'rules[0].verbs[0]', description: `unknown verb "nuke"; known: ${VERBS.join(', ')}, or * for all` }]);
    expect(validatePolicy(Policy.fromPartial({ metadata: { name: '' }, rules: [] })).map((v) => v.field)).to.have.members(['name', 'rules']);
  });

  it('knows every resource the API declares', () => {
    expect(knownResources()).to.include.members(['services', 'instances', 'namespaces', 'subjects', 'policies', 'tokens', 'audit', 'whoami', 'system']);
    expect(knownResources()).to.not.include('*');
  });

  it('checks subject names', () => {
    for (const ok of ['alice', 'ci-bot', 'alice@example.com', 'a.b_c']) expect(subjectNameProblem(ok), ok).to.equal(undefined);
    for (const bad of ['', 'Alice', '-x', 'x-', 'a b', 'a'.repeat(254)]) expect(subjectNameProblem(bad), bad).to.be.a('string');
  });
});
