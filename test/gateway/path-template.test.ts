/**
 * google.api.http path templates and the request mapping, table-driven with the real
 * descriptors (dist/rune.binpb): no server.
 */
import { expect } from 'chai';
import { RuneError } from '../../shared/errors.js';
import { methods, type MethodInfo } from '../../shared/api/methods.js';
import { matchTemplate, parseTemplate, splitPath, TemplateError, type PathTemplate } from '../../server/gateway/path-template.js';
import { ProtoJson } from '../../server/gateway/proto-json.js';
import { loadApiRegistry } from '../../server/gateway/proto-registry.js';
import { mapRequest } from '../../server/gateway/request-mapper.js';
import { RouteTable, type Route } from '../../server/gateway/route-table.js';

const match = (template: PathTemplate, path: string) => {
  const values = matchTemplate(template, splitPath(path));
  return values && Object.fromEntries(values);
};

describe('path templates', () => {
  const cases: { template: string; path: string; want: Record<string, string> | undefined }[] = [
    { template: '/v1/namespaces/{namespace}/services/{name}', path: '/v1/namespaces/dev/services/web', want: { namespace: 'dev', name: 'web' } },
    { template: '/v1/namespaces/{namespace}/services/{name}', path: '/v1/namespaces/dev/services', want: undefined },
    { template: '/v1/namespaces/{namespace}/services/{name}', path: '/v1/namespaces/dev/services/web/x', want: undefined },
    { template: '/v1/namespaces/{namespace}/services/{name}', path: '/v1/namespaces//services/web', want: undefined },
    { template: '/v1/namespaces/{service.metadata.namespace}/services/{service.metadata.name}', path: '/v1/namespaces/a/services/b', want: { 'service.metadata.namespace': 'a', 'service.metadata.name': 'b' } },
    { template: '/v1/namespaces/{namespace}/services:watch', path: '/v1/namespaces/dev/services:watch', want: { namespace: 'dev' } },
    { template: '/v1/namespaces/{namespace}/services:watch', path: '/v1/namespaces/dev/services', want: undefined },
    { template: '/v1/namespaces/{namespace}/services/{name}:scale', path: '/v1/namespaces/dev/services/web:scale', want: { namespace: 'dev', name: 'web' } },
    { template: '/v1/namespaces/{namespace}/services/{name}:scale', path: '/v1/namespaces/dev/services/web:restart', want: undefined },
    { template: '/v1/namespaces/{name}', path: '/v1/namespaces/a%20b', want: { name: 'a b' } },
    { template: '/v1/files/{path=**}', path: '/v1/files/a/b/c', want: { path: 'a/b/c' } },
    { template: '/v1/files/{path=**}', path: '/v1/files/a%2Fb/c', want: { path: 'a%2Fb/c' } },
    { template: '/v1/{name=projects/*}/items', path: '/v1/projects/p1/items', want: { name: 'projects/p1' } },
    { template: '/v1/{name=projects/*}/items', path: '/v1/other/p1/items', want: undefined },
    { template: '/v1/*/items', path: '/v1/x/items', want: {} },
  ];
  for (const c of cases) {
    it(`${c.template} ${c.want ? 'matches' : 'does not match'} ${c.path}`, () => {
      expect(match(parseTemplate(c.template), c.path)).to.deep.equal(c.want);
    });
  }

  it('rejects malformed templates', () => {
    for (const bad of ['v1/x', '/v1/{unclosed', '/v1/{a-b}', '/v1/**/x', '/v1/x:', '/v1//x']) {
      expect(() => parseTemplate(bad), bad).to.throw(TemplateError);
    }
  });
});

describe('request mapping (path, query and body → proto3 JSON)', () => {
  const registry = loadApiRegistry();
  const codec = new ProtoJson(registry);
  const table = RouteTable.fromMethods(methods.values(), registry);
  const routeOf = (rpc: string) => table.routes.find((r) => r.rpc.name === rpc)!;
  const map = (route: Route, path: Record<string, string>, query: string, body?: unknown) => mapRequest(codec, route, new Map(Object.entries(path)), new URLSearchParams(query), body as never).json;
  const fails = (fn: () => unknown): RuneError => {
    try {
      fn();
    } catch (err) {
      expect(err).to.be.instanceOf(RuneError);
      return err as RuneError;
    }
    throw new Error('no error');
  };

  it('nests path variables into the body field', () => {
    const json = map(routeOf('CastService'), { 'service.metadata.namespace': 'dev', 'service.metadata.name': 'web' }, 'dryRun=true', { spec: { command: 'x' } });
    expect(json).to.deep.equal({ service: { spec: { command: 'x' }, metadata: { namespace: 'dev', name: 'web' } }, dryRun: true });
  });

  it('takes camelCase and snake_case query names, dotted paths, bools, and numbers as strings', () => {
    expect(map(routeOf('ListServices'), { namespace: 'dev' }, 'options.limit=2&options.continue_token=abc')).to.deep.equal({ namespace: 'dev', options: { limit: '2', continueToken: 'abc' } });
    expect(map(routeOf('StreamLogs'), { namespace: 'dev', target: 'web' }, 'follow&tail=5&since=2024-01-01T00:00:00Z')).to.deep.equal({ namespace: 'dev', target: 'web', follow: true, tail: '5', since: '2024-01-01T00:00:00Z' });
  });

  it('sets a repeated field by repeating the key', () => {
    // A synthetic GET route over a message with a repeated scalar (ExecStart.command).
    const exec = routeOf('Exec');
    const start = exec.input.fields.find((f) => f.name === 'start')!;
    if (start.fieldKind !== 'message') throw new Error('ExecRequest.start is a message');
    const route: Route = { ...exec, body: '', streaming: 'unary', input: start.message };
    expect(map(route, {}, 'command=sh&command=-c&command=echo%20hi&tty=false')).to.deep.equal({ command: ['sh', '-c', 'echo hi'], tty: false });
    expect(fails(() => map(route, {}, 'tty=maybe')).message).to.match(/^tty: expected true or false/);
    expect(fails(() => map(route, {}, 'tty=true&tty=false')).message).to.match(/not a repeated field/);
  });

  it('refuses conflicts and misplaced fields', () => {
    expect(fails(() => map(routeOf('CastService'), { 'service.metadata.namespace': 'dev', 'service.metadata.name': 'web' }, '', { metadata: { name: 'api' } })).violations[0]!.field).to.equal('metadata.name');
    expect(fails(() => map(routeOf('CastService'), { 'service.metadata.namespace': 'dev', 'service.metadata.name': 'web' }, 'service.spec.scale=2', {})).message).to.match(/request body/);
    expect(fails(() => map(routeOf('ScaleService'), { namespace: 'dev', name: 'web' }, 'scale=2', {})).message).to.match(/JSON body/);
    expect(fails(() => map(routeOf('GetService'), { namespace: 'dev', name: 'web' }, '', {})).message).to.match(/takes no body/);
  });

  it('encodes strictly, naming unknown fields, oneof conflicts and type errors by path', () => {
    const route = routeOf('Exec');
    expect(fails(() => codec.encode(route.input, { start: { instance: 'x', tty: 'yes' } })).violations[0]!.field).to.equal('start.tty');
    expect(fails(() => codec.encode(route.input, { start: {}, stdinEof: true })).message).to.match(/only one of/);
    expect(fails(() => codec.encode(route.input, { start: { size: { rows: 1, colums: 2 } } })).message).to.match(/^start\.size\.colums: unknown field .*did you mean "cols"/);
    expect(codec.encode(route.input, { stdin: Buffer.from('hi').toString('base64') })).to.be.instanceOf(Uint8Array);
  });

  it('routes ?watch=true from list routes to their :watch twins, and only those', () => {
    const withTwin = table.routes.filter((r) => r.watchRoute).map((r) => `${r.rpc.name} → ${r.watchRoute!.rpc.name}`);
    expect(withTwin).to.include.members(['ListServices → WatchServices', 'ListInstances → WatchInstances']);
    for (const r of table.routes.filter((r) => r.watchRoute)) {
      expect(r.watchRoute!.template.source).to.equal(`${r.template.source}:watch`);
      expect(r.watchRoute!.streaming).to.equal('server');
    }
  });

  it('fails at start for a rule naming a field that does not exist', () => {
    const get = methods.get('/rune.v1.ServiceService/GetService')!;
    const broken: MethodInfo = { ...get, http: { ...get.http!, get: '/v1/namespaces/{nmespace}/services/{name}', additionalBindings: [] } };
    expect(() => RouteTable.fromMethods([broken], registry)).to.throw(/\{nmespace\} names no field of rune\.v1\.GetServiceRequest/);
  });
});
