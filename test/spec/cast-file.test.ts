import { expect } from 'chai';
import { formatLintError, MAX_DOCUMENT_BYTES, parseCastFile } from '../../shared/spec/cast-file.js';
import type { Service } from '../../shared/gen/rune/v1/service.js';

/** The service of a cast document (these files hold services only). */
const service = (d: { kind: string }): Service => (d as unknown as { service: Service }).service;

const options = { defaultNamespace: 'dev' };
const lint = (text: string, opts: Parameters<typeof parseCastFile>[2] = options) => parseCastFile(text, 'web.yml', opts);
const messages = (text: string, opts?: Parameters<typeof parseCastFile>[2]) => lint(text, opts).errors.map(formatLintError);

describe('parseCastFile', () => {
  it('parses a multi-document file into services with defaults, numbering documents from 1', () => {
    const text = [
      '# two services',
      'service:',
      '  name: web',
      '  command: node',
      '---',
      '---',
      'services:',
      '  - name: db',
      '    namespace: data',
      '    command: postgres',
      '  - name: cache',
      '    command: redis-server',
      '',
    ].join('\n');
    const { documents, errors } = lint(text);
    expect(errors).to.deep.equal([]);
    expect(documents.map((d) => [d.kind, d.index, d.line, service(d).metadata!.namespace, service(d).metadata!.name])).to.deep.equal([
      ['service', 1, 2, 'dev', 'web'],
      ['service', 3, 8, 'data', 'db'],
      ['service', 3, 11, 'dev', 'cache'],
    ]);
    expect(service(documents[0]!).spec).to.include({ runtime: 'process', scale: 1 });
  });

  it('points every error at its field in a multi-document file', () => {
    const text = [
      'service:', //                              1
      '  name: web', //                           2
      '  command: node', //                       3
      '  ports:', //                              4
      '    - port: 8080', //                      5
      '    - {name: admin, port: 70000}', //      6
      '---', //                                   7
      'service:', //                              8
      '  name: api', //                           9
      '  command: node', //                       10
      '  health:', //                             11
      '    liveness:', //                         12
      '      type: http', //                      13
      '      port: 0', //                         14
      '  env:', //                                15
      '    PORT: 8080', //                        16
      '---', //                                   17
      'services:', //                             18
      '  - name: db', //                          19
      '    command: pg', //                       20
      '  - name: Cache', //                       21
      '',
    ].join('\n');
    expect(messages(text)).to.deep.equal([
      'web.yml:6:21: document 1: ports[1].port: must be between 1 and 65535',
      'web.yml:14:7: document 2: health.liveness.port: must be between 1 and 65535',
      'web.yml:16:5: document 2: env.PORT: must be a string; quote the value: "8080"',
      'web.yml:21:5: document 3: services[1].name: must be lower case: use "cache"',
      'web.yml:21:5: document 3: services[1].command: is required for runtime "process": the executable to run, e.g. command: node',
    ]);
  });

  it('points a missing field at its nearest existing parent', () => {
    const text = 'service:\n  name: web\n  command: x\n  health:\n    readiness:\n      type: tcp\n';
    expect(messages(text)).to.deep.equal(['web.yml:5:5: document 1: health.readiness.port: is required for tcp probes']);
  });

  it('points an unknown field at its key', () => {
    expect(messages('service:\n  name: web\n  command: x\n  replicas: 3\n')).to.deep.equal([
      'web.yml:4:3: document 1: replicas: unknown field "replicas"; did you mean "scale"?',
    ]);
  });

  it('reports malformed YAML with the parser line and keeps linting the other documents', () => {
    const text = 'service:\n  name: web\n  command: a: b\n---\nservice:\n  name: Api\n  command: x\n';
    const { errors } = lint(text);
    expect(errors[0]).to.include({ document: 1, field: '', line: 3 });
    expect(errors[0]!.message).to.match(/^invalid YAML: /);
    expect(errors.at(-1)).to.include({ document: 2, field: 'name', line: 6, column: 3 });
  });

  it('reports duplicate keys as invalid YAML', () => {
    const [error] = lint('service:\n  name: web\n  name: api\n  command: x\n').errors;
    expect(error).to.include({ line: 3, field: '' });
    expect(error!.message).to.include('unique');
  });

  it('ignores empty documents and empty files', () => {
    expect(lint('')).to.deep.equal({ documents: [], errors: [] });
    expect(lint('# nothing\n---\n---\n')).to.deep.equal({ documents: [], errors: [] });
  });

  const documentRules: Array<{ rule: string; text: string; error: string }> = [
    { rule: 'a document is a mapping', text: '- service: {}\n', error: 'web.yml:1:1: document 1: a document must be a mapping with exactly one top-level key: service, services, job, jobs, secret, secrets, configmap, configmaps' },
    { rule: 'a document is not a bare scalar', text: 'web\n', error: 'web.yml:1:1: document 1: a document must be a mapping with exactly one top-level key: service, services, job, jobs, secret, secrets, configmap, configmaps' },
    { rule: 'a document has one key', text: 'service:\n  name: web\n  command: x\nname: api\n', error: 'web.yml:4:1: document 1: a document has exactly one top-level key, found "service", "name": indent the fields under "service:" or start a new document with "---"' },
    { rule: 'the key is a known kind', text: 'deployment:\n  name: web\n', error: 'web.yml:1:1: document 1: unknown kind "deployment"; a document starts with one of: service, services, job, jobs, secret, secrets, configmap, configmaps' },
    { rule: 'a misspelt kind gets a hint', text: 'servce:\n  name: web\n', error: 'web.yml:1:1: document 1: unknown kind "servce"; a document starts with one of: service, services, job, jobs, secret, secrets, configmap, configmaps; did you mean "service"?' },
    { rule: 'service holds one object', text: 'service:\n  - name: web\n', error: 'web.yml:1:1: document 1: service: holds one service; use "services:" for a list' },
    { rule: 'services holds a list', text: 'services:\n  name: web\n', error: 'web.yml:1:1: document 1: services: must be a list of service objects ("- name: ..."); use "service:" for a single one' },
    { rule: 'service is not empty', text: 'service:\n', error: 'web.yml:1:1: document 1: service: is empty; give the service\'s fields under it, indented' },
  ];
  for (const row of documentRules) {
    it(`document rule: ${row.rule}`, () => {
      expect(messages(row.text)).to.deep.equal([row.error]);
    });
  }

  it('rejects a document larger than 1 MiB', () => {
    const big = 'service:\n  name: web\n  command: x\n  args:\n' + `    - "${'x'.repeat(1000)}"\n`.repeat(Math.ceil(MAX_DOCUMENT_BYTES / 1000));
    const text = 'service:\n  name: small\n  command: x\n---\n' + big;
    const { documents, errors } = lint(text);
    expect(documents.map((d) => service(d).metadata!.name)).to.deep.equal(['small']);
    expect(errors).to.have.length(1);
    expect(errors[0]).to.include({ document: 2, line: 4 });
    expect(errors[0]!.message).to.match(/^document is 1\.\d MiB; the limit is 1 MiB/);
  });

  it('rejects the same service twice, pointing at the second', () => {
    const text = 'service:\n  name: web\n  command: x\n---\nservice:\n  name: web\n  command: y\n';
    expect(messages(text)).to.deep.equal(['web.yml:6:3: document 2: name: service "web" in namespace "dev" is already defined in document 1 (line 1)']);
  });

  it('allows the same name in two namespaces', () => {
    const text = 'service:\n  name: web\n  command: x\n---\nservice:\n  name: web\n  namespace: other\n  command: y\n';
    expect(lint(text).errors).to.deep.equal([]);
  });

  it('with an explicit -n, rejects a document naming another namespace', () => {
    const text = 'service:\n  name: web\n  namespace: prod\n  command: x\n';
    expect(messages(text, { defaultNamespace: 'dev', requireNamespace: 'dev' })).to.deep.equal([
      'web.yml:3:3: document 1: namespace: the document says namespace "prod" but -n says "dev"; remove one of them',
    ]);
    expect(lint(text, { defaultNamespace: 'prod', requireNamespace: 'prod' }).errors).to.deep.equal([]);
  });

  it('reads JSON too', () => {
    const { documents, errors } = lint('{"service": {"name": "web", "command": "node", "scale": 3}}');
    expect(errors).to.deep.equal([]);
    expect(service(documents[0]!).spec!.scale).to.equal(3);
  });

  it('survives alias bombs', () => {
    const text = ['a: &a [x, x, x, x, x, x, x, x, x]', 'b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]', 'c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]', 'service: {name: web, command: x, args: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c]}'].join('\n');
    const { documents, errors } = lint(text);
    expect(documents).to.deep.equal([]);
    expect(errors).to.have.length.greaterThan(0);
  });
});

describe('formatLintError', () => {
  it('formats file:line:column: document N: field: message', () => {
    expect(formatLintError({ file: 'web.yml', document: 2, field: 'health.liveness.port', line: 12, column: 5, message: 'must be between 1 and 65535' })).to.equal(
      'web.yml:12:5: document 2: health.liveness.port: must be between 1 and 65535',
    );
  });

  it('leaves out an empty field', () => {
    expect(formatLintError({ file: '-', document: 1, field: '', line: 1, column: 1, message: 'invalid YAML: x' })).to.equal('-:1:1: document 1: invalid YAML: x');
  });
});

describe('parseCastFile: bodies that are not mappings', () => {
  it('names the kind key for a scalar service body', () => {
    expect(parseCastFile('service: web\n', 'web.yml', { defaultNamespace: 'default' }).errors.map(formatLintError)).to.deep.equal([
      'web.yml:1:1: document 1: service: must be a mapping (key: value), not the string "web"',
    ]);
  });
  it('names the list item for a scalar in services', () => {
    expect(parseCastFile('services:\n  - web\n', 'web.yml', { defaultNamespace: 'default' }).errors.map(formatLintError)).to.deep.equal([
      'web.yml:2:5: document 1: services[0]: must be a mapping (key: value), not the string "web"',
    ]);
  });
});
