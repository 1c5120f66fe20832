import { expect } from 'chai';
import { parseCastFile } from '../../shared/spec/cast-file.js';
import { expandEnv } from '../../shared/spec/env-expansion.js';
import { validateService } from '../../shared/spec/service-spec.js';
import { parseValueRefs, specObjectRefs, substituteValueRefs } from '../../shared/spec/value-refs.js';
import { templateHash } from '../../server/orchestrator/service-plan.js';
import { aService } from '../support/builders.js';

const lint = (text: string, env: Record<string, string> = {}) => parseCastFile(text, 'f.yml', { defaultNamespace: 'dev', env });

describe('${ENV} expansion (secret documents)', () => {
  for (const [text, expected] of [
    ['${A}', { value: 'alpha' }],
    ['x-${A}-${EMPTY}-y', { value: 'x-alpha--y' }],
    ['cost: $5 and $$HOME', { value: 'cost: $5 and $HOME' }],
    ['$${A}', { value: '${A}' }],
    ['${MISSING}', { problem: 'environment variable MISSING is not set (used as ${MISSING}); export it, or write $${MISSING} for the literal text' }],
    ['${1BAD}', { problem: '"${1BAD}" is not a variable name (letters, digits and "_", not starting with a digit); write $$ for a literal "$"' }],
    ['${OPEN', { problem: '"${" is not closed with "}"; write $$ for a literal "$"' }],
  ] as const) {
    it(`${JSON.stringify(text)} → ${JSON.stringify(expected)}`, () => {
      expect(expandEnv(text, { A: 'alpha', EMPTY: '' })).to.deep.equal(expected);
    });
  }
});

describe('secret: and configmap: documents', () => {
  it('builds a Secret with ${ENV} expanded and a ConfigMap as written', () => {
    const { documents, errors } = lint(['secret:', '  name: db', '  labels: {app: api}', '  data:', '    password: ${PW}', '---', 'configmaps:', '  - name: app', '    data: {level: "3"}', ''].join('\n'), { PW: 'hunter2' });
    expect(errors).to.deep.equal([]);
    const [secret, configMap] = documents;
    expect(secret!.kind).to.equal('secret');
    if (secret!.kind !== 'secret' || configMap!.kind !== 'configmap') throw new Error('kinds');
    expect(secret!.secret.metadata).to.include({ name: 'db', namespace: 'dev' });
    expect(secret!.secret.type).to.equal('opaque');
    expect(Buffer.from(secret!.secret.data.password!).toString()).to.equal('hunter2');
    expect(configMap!.configMap.data).to.deep.equal({ level: '3' });
  });

  it('reports problems at their line, naming keys and variables but never quoting a value', () => {
    const text = ['secret:', '  name: db', '  data:', '    password: ${NOPE}', '    pin: 1234', '    "bad/key": x', '---', 'configmap:', '  name: c', '  data: {}', ''].join('\n');
    const { documents, errors } = lint(text);
    expect(documents).to.deep.equal([]);
    const messages = errors.map((e) => `${e.line}: ${e.field}: ${e.message}`);
    expect(messages).to.deep.equal([
      '4: data.password: environment variable NOPE is not set (used as ${NOPE}); export it, or write $${NOPE} for the literal text',
      '5: data.pin: must be a string: quote the value',
      '6: data["bad/key"]: must contain only letters, digits, "-", "_" and "." (found "/")',
      '10: data: a configmap needs at least one key',
    ]);
    expect(JSON.stringify(errors)).not.to.include('1234');
  });

  it('requires data, and knows no other fields', () => {
    const { errors } = lint('secret:\n  name: db\n  value: x\n');
    expect(errors.map((e) => `${e.field}: ${e.message}`)).to.deep.equal(['data: is required', 'value: unknown field "value"; known fields: name, namespace, labels, type, data']);
  });
});

describe('service references to secrets and configmaps', () => {
  it('parses references anywhere in a value, and substitutes them', () => {
    const value = 'pg://{{secret:db/user}}:{{ secret:db/password }}@h/{{configmap:app/db.name}}';
    const { refs, problem } = parseValueRefs(value);
    expect(problem).to.equal(undefined);
    expect(refs).to.deep.equal([
      { kind: 'secret', name: 'db', key: 'user' },
      { kind: 'secret', name: 'db', key: 'password' },
      { kind: 'configmap', name: 'app', key: 'db.name' },
    ]);
    expect(substituteValueRefs(value, (r) => `<${r.name}.${r.key}>`)).to.equal('pg://<db.user>:<db.password>@h/<app.db.name>');
    expect(parseValueRefs('no references {{ here }}')).to.deep.equal({ refs: [] });
  });

  for (const [value, problem] of [
    ['{{secret:db}}', '"{{secret:db}}" needs a name and a key: {{secret:NAME/KEY}}, e.g. {{secret:db/password}}'],
    ['{{secret:DB/password}}', '"{{secret:DB/password}}": the secret name must be lower case: use "db"'],
    ['{{configmap:app/a b}}', '"{{configmap:app/a b}}": the key must contain only letters, digits, "-", "_" and "." (found " ")'],
    ['x{{secret:db/password', 'has a "{{secret:" or "{{configmap:" reference that is not closed with "}}"'],
  ] as const) {
    it(`rejects ${value}`, () => {
      expect(parseValueRefs(value).problem).to.equal(problem);
    });
  }

  it('lints env references, envFrom and mounts like the server does', () => {
    const service = aService({ env: { A: '{{secret:db}}' } });
    Object.assign(service.spec!, {
      envFrom: [{ secret: 'db', configmap: 'app', prefix: '' }, { secret: '', configmap: '', prefix: '1X' }],
      secretMounts: [{ secret: 'db', keys: ['a', 'a'], env: '' }, { secret: 'db', keys: [], env: 'bad-name' }],
      configmapMounts: [{ configmap: 'app', keys: ['../x'], env: '' }],
    });
    expect(validateService(service).map((v) => `${v.field}: ${v.description}`)).to.deep.equal([
      'secretMounts[1].env: "bad-name" is not a valid environment variable name: use letters, digits and "_", not starting with a digit',
      'configmapMounts[0].keys[0]: must contain only letters, digits, "-", "_" and "." (found "/")',
      'env.A: "{{secret:db}}" needs a name and a key: {{secret:NAME/KEY}}, e.g. {{secret:db/password}}',
      'envFrom[0]: name exactly one of secret and configmap',
      'envFrom[1]: name exactly one of secret and configmap',
      'envFrom[1].prefix: must start a valid variable name: letters, digits and "_", not starting with a digit',
      'secretMounts[0].keys: lists a key twice',
      'secretMounts[1].secret: "db" is already mounted by secretMounts[0]; list its keys in one item',
    ]);
  });

  it('lists the objects a spec uses, each once', () => {
    const service = aService({ env: { A: '{{secret:db/a}}', B: '{{secret:db/b}}{{configmap:app/x}}' } });
    Object.assign(service.spec!, { envFrom: [{ secret: '', configmap: 'other', prefix: '' }], secretMounts: [{ secret: 'tls', keys: [], env: '' }] });
    expect(specObjectRefs(service.spec)).to.deep.equal({ secrets: ['db', 'tls'], configmaps: ['app', 'other'] });
  });

  it('puts referenced versions into the template hash, and leaves the hash of a service without any as it was', () => {
    const plain = aService({});
    const before = templateHash(plain);
    expect(templateHash(plain, {}), 'no references: the old hash').to.equal(before);
    const withRef = aService({ env: { A: '{{secret:db/a}}' } });
    expect(templateHash(withRef, { 'secret/db': 'u1:1' })).not.to.equal(templateHash(withRef, { 'secret/db': 'u1:2' }));
    expect(templateHash(withRef, { 'secret/db': 'u1:1' })).to.equal(templateHash(withRef, { 'secret/db': 'u1:1' }));
  });
});
