import { expect } from 'chai';
import { formatFieldPath, labelKeyProblem, labelValueProblem, parseFieldPath, validateDnsLabel, validateLabels } from '../../shared/spec/names.js';
import { parseQuantity } from '../../shared/spec/quantity.js';
import { didYouMean } from '../../shared/spec/suggest.js';

describe('validateDnsLabel', () => {
  const good = ['a', 'web', 'web-1', '1web', 'a'.repeat(63)];
  for (const value of good) {
    it(`accepts ${JSON.stringify(value)}`, () => expect(validateDnsLabel('name', value)).to.equal(undefined));
  }
  const bad: Array<[string, string]> = [
    ['', 'is required'],
    ['Web', 'must be lower case: use "web"'],
    ['web_app', 'must contain only lower-case letters, digits and "-" (found "_"), e.g. "web-app"'],
    ['web.app', 'must contain only lower-case letters, digits and "-" (found "."), e.g. "web-app"'],
    ['-web', 'must start and end with a lower-case letter or digit'],
    ['web-', 'must start and end with a lower-case letter or digit'],
    ['a'.repeat(64), 'must be at most 63 characters (is 64)'],
  ];
  for (const [value, description] of bad) {
    it(`rejects ${JSON.stringify(value.length > 20 ? value.slice(0, 20) + '…' : value)}`, () => {
      expect(validateDnsLabel('metadata.name', value)).to.deep.equal({ field: 'metadata.name', description });
    });
  }
});

describe('labels', () => {
  it('accepts Kubernetes-style keys and values', () => {
    expect(validateLabels('labels', { app: 'web', 'app.kubernetes.io/name': 'Web_1.2', tier: '' })).to.deep.equal([]);
  });
  it('rejects bad keys and values with the key in the field', () => {
    expect(validateLabels('labels', { 'a/b/c': 'x', ok: '-x' }).map((v) => v.field)).to.deep.equal(['labels["a/b/c"]', 'labels.ok']);
    expect(labelKeyProblem('/app')).to.include('prefix "" must be a DNS subdomain');
    expect(labelKeyProblem('example.com/')).to.equal('label key must have a name after the "/"');
    expect(labelValueProblem('x'.repeat(64))).to.equal('label value must be at most 63 characters (is 64)');
  });
});

describe('field paths', () => {
  const cases: Array<[Array<string | number>, string]> = [
    [['name'], 'name'],
    [['ports', 1, 'port'], 'ports[1].port'],
    [['health', 'liveness', 'port'], 'health.liveness.port'],
    [['labels', 'app.kubernetes.io/name'], 'labels["app.kubernetes.io/name"]'],
    [['services', 0, 'env', 'A B'], 'services[0].env["A B"]'],
  ];
  for (const [path, field] of cases) {
    it(`${JSON.stringify(path)} ⇄ ${field}`, () => {
      expect(formatFieldPath(path)).to.equal(field);
      expect(parseFieldPath(field)).to.deep.equal(path);
    });
  }
});

describe('parseQuantity', () => {
  it('reads binary and decimal suffixes', () => {
    expect(parseQuantity('256Mi')).to.equal(256 * 1024 * 1024);
    expect(parseQuantity('1Gi')).to.equal(2 ** 30);
    expect(parseQuantity('500M')).to.equal(500e6);
    expect(parseQuantity('1024')).to.equal(1024);
    expect(parseQuantity('1.5Gi')).to.equal(undefined);
    expect(parseQuantity('256MB')).to.equal(undefined);
  });
});

describe('didYouMean', () => {
  const cases: Array<[string, string[], string | undefined]> = [
    ['always', ['Always', 'Never'], 'Always'],
    ['TERM', ['SIGTERM', 'SIGINT'], 'SIGTERM'],
    ['replicas', ['scale', 'name'], 'scale'],
    ['working_dir', ['workingDir', 'env'], 'workingDir'],
    ['comand', ['command', 'args'], 'command'],
    ['prot', ['port', 'protocol', 'name'], 'protocol'],
    ['zzz', ['scale', 'name'], undefined],
  ];
  for (const [input, candidates, expected] of cases) {
    it(`${input} → ${expected ?? 'nothing'}`, () => expect(didYouMean(input, candidates)).to.equal(expected));
  }
});
