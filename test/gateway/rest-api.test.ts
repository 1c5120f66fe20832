/**
 * The REST gateway against a real runed (127.0.0.1:0, real LevelDB, real HTTP through the real
 * gRPC chain): CRUD with either credential header, the JSON mapping, strict input, the error
 * mapping table, pagination, limits, routing errors and CORS.
 */
import { expect } from 'chai';
import { aNamespace } from '../support/builders.js';
import { auth, call, clients, startTestRuned, type TestRuned } from '../support/test-runed.js';
import { Rest } from './rest-client.js';

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

describe('REST gateway: resources, JSON mapping and errors (real runed)', function () {
  let t: TestRuned;
  let rest: Rest;

  before(async () => {
    t = await startTestRuned({ orchestrator: { enabled: false } }); // API effects on the store alone
    rest = new Rest(t.baseUrl, t.token);
    expect((await rest.post('/v1/namespaces', { metadata: { name: 'dev' } })).status).to.equal(200);
  });
  after(async () => {
    await t.stop();
  });

  /** Runs `action`, which must fail, and checks the store did not change. */
  async function changesNothing<T>(action: () => Promise<T>): Promise<T> {
    const before = t.runed.store.revision;
    const result = await action();
    expect(t.runed.store.revision, 'store revision after a rejected request').to.equal(before);
    return result;
  }

  it('creates, reads, scales, lists and deletes a service with a bearer token', async () => {
    const cast = await rest.put('/v1/namespaces/dev/services/web', { spec: { command: 'sleep', args: ['60'], scale: 2 }, metadata: { labels: { app: 'web' } } });
    expect(cast.status, cast.text).to.equal(200);
    expect(cast.body.result).to.equal('created');
    expect(cast.body.service.metadata).to.include({ name: 'web', namespace: 'dev', generation: '1' });

    const got = await rest.get('/v1/namespaces/dev/services/web');
    expect(got.status).to.equal(200);
    expect(got.body.service.spec).to.include({ command: 'sleep', scale: 2 });
    expect(got.body.service.metadata.labels).to.deep.equal({ app: 'web' });

    const again = await rest.put('/v1/namespaces/dev/services/web', { spec: { command: 'sleep', args: ['60'], scale: 2 }, metadata: { labels: { app: 'web' } } });
    expect(again.body.result).to.equal('unchanged');

    const scaled = await rest.post('/v1/namespaces/dev/services/web:scale', { scale: 3 });
    expect(scaled.status, scaled.text).to.equal(200);
    expect(scaled.body.service.spec.scale).to.equal(3);

    const list = await rest.get('/v1/namespaces/dev/services');
    expect(list.body.services.map((s: any) => s.metadata.name)).to.deep.equal(['web']);

    const deleted = await rest.delete('/v1/namespaces/dev/services/web');
    expect(deleted.status, deleted.text).to.equal(200);
    // With the orchestrator off the finalizer stays: the service is marked for deletion.
    expect(deleted.body.service.metadata.deletionTimestamp).to.match(RFC3339);
  });

  it('accepts the token as X-API-Key', async () => {
    const ns = await rest.post('/v1/namespaces', { metadata: { name: 'by-key' } }, { apiKey: true });
    expect(ns.status, ns.text).to.equal(200);
    const got = await rest.get('/v1/namespaces/by-key', { apiKey: true });
    expect(got.status).to.equal(200);
    expect(got.body.namespace.metadata.name).to.equal('by-key');
    const whoami = await rest.get('/v1/whoami', { apiKey: true });
    expect(whoami.body).to.include({ subject: 'root', admin: true });
    const listed = await rest.get('/v1/namespaces', { apiKey: true });
    expect(listed.body.namespaces.map((n: any) => n.metadata.name)).to.include.members(['default', 'dev', 'by-key']);
    const deleted = await rest.delete('/v1/namespaces/by-key?cascade=true', { apiKey: true });
    expect(deleted.status, deleted.text).to.equal(200);
    expect(deleted.body.namespace.metadata.name).to.equal('by-key');
  });

  it('answers 401 with WWW-Authenticate: Bearer without a token or with a bad one', async () => {
    for (const token of ['', 'not-a-token']) {
      const res = await changesNothing(() => rest.post('/v1/namespaces', { metadata: { name: 'nope' } }, { token }));
      expect(res.status).to.equal(401);
      expect(res.headers.get('www-authenticate')).to.match(/^Bearer/);
      expect(res.body).to.include({ code: 16, status: 'UNAUTHENTICATED' });
      expect(res.body.message).to.be.a('string').and.not.empty;
      expect(res.body.details).to.be.an('array');
    }
  });

  it('renders int64 as strings, timestamps in RFC 3339, camelCase names, and fields at their defaults', async () => {
    await rest.put('/v1/namespaces/dev/services/json', { spec: { command: 'sleep' } });
    const { body } = await rest.get('/v1/namespaces/dev/services/json');
    const meta = body.service.metadata;
    expect(meta.resourceVersion).to.be.a('string').and.match(/^\d+$/);
    expect(meta.generation).to.equal('1');
    expect(meta.createdAt).to.match(RFC3339);
    expect(body.service.restartEpoch).to.equal('0');
    expect(body.service.spec).to.include({ scale: 0, workingDir: '' }); // defaults are emitted
    expect(body.service.spec.args).to.deep.equal([]);
    expect(body.service.spec).to.not.have.property('working_dir');
    const list = await rest.get('/v1/namespaces/dev/services');
    expect(list.body.listMeta.revision).to.be.a('string');
  });

  it('accepts snake_case field names, and int64 given as strings or numbers', async () => {
    const res = await rest.put('/v1/namespaces/dev/services/snake?dry_run=true', { spec: { command: 'sleep', stop_timeout_seconds: 5, working_dir: '/tmp' } });
    expect(res.status, res.text).to.equal(200);
    expect(res.body.service.spec).to.include({ stopTimeoutSeconds: 5, workingDir: '/tmp' });
    const current = (await rest.get('/v1/namespaces/dev/services/json')).body.service.metadata.resourceVersion as string;
    for (const resourceVersion of [current, Number(current)]) {
      const update = await rest.put('/v1/namespaces/dev/services/json', { metadata: { resourceVersion }, spec: { command: 'sleep' } });
      expect(update.status, update.text).to.equal(200);
    }
  });

  it('rejects an unknown JSON field with 400 naming it (with a hint), and changes nothing', async () => {
    const res = await changesNothing(() => rest.put('/v1/namespaces/dev/services/typo', { spec: { command: 'sleep', replicas: 2 } }));
    expect(res.status).to.equal(400);
    expect(res.body).to.include({ code: 3, status: 'INVALID_ARGUMENT' });
    expect(res.body.message).to.match(/spec\.replicas/).and.match(/did you mean "scale"/);
    const violation = res.body.details.find((d: any) => d['@type'] === 'type.googleapis.com/google.rpc.BadRequest');
    expect(violation.fieldViolations[0].field).to.equal('spec.replicas');

    const top = await changesNothing(() => rest.post('/v1/namespaces/dev/services/json:scale', { scale: 2, force: true }));
    expect(top.status).to.equal(400);
    expect(top.body.message).to.match(/^force: unknown field/);

    const deep = await changesNothing(() => rest.put('/v1/namespaces/dev/services/typo', { spec: { command: 'sleep', ports: [{ port: 80 }, { port: 81, proto: 'tcp' }] } }));
    expect(deep.body.details[0].fieldViolations[0].field).to.equal('spec.ports[1].proto');
  });

  it('names the field of a value of the wrong type', async () => {
    const res = await changesNothing(() => rest.put('/v1/namespaces/dev/services/typed', { spec: { command: 'sleep', scale: 'many' } }));
    expect(res.status).to.equal(400);
    expect(res.body.details[0].fieldViolations[0].field).to.equal('spec.scale');
    expect(res.body.message).to.match(/^spec\.scale: .*int32/);
    const when = await changesNothing(() => rest.put('/v1/namespaces/dev/services/typed', { spec: { command: 'sleep' }, metadata: { createdAt: 'yesterday' } }));
    expect(when.status).to.equal(400);
    expect(when.body.details[0].fieldViolations[0].field).to.equal('metadata.createdAt');
  });

  it('maps NOT_FOUND to 404, ALREADY_EXISTS and ABORTED (stale resourceVersion) to 409', async () => {
    const missing = await rest.get('/v1/namespaces/dev/services/ghost');
    expect(missing.status).to.equal(404);
    expect(missing.body).to.include({ code: 5, status: 'NOT_FOUND' });

    const dup = await changesNothing(() => rest.post('/v1/namespaces', { metadata: { name: 'dev' } }));
    expect(dup.status).to.equal(409);
    expect(dup.body.status).to.equal('ALREADY_EXISTS');

    await rest.put('/v1/namespaces/dev/services/cas', { spec: { command: 'sleep' } });
    const stale = await changesNothing(() => rest.put('/v1/namespaces/dev/services/cas', { metadata: { resourceVersion: '1' }, spec: { command: 'sleep', scale: 4 } }));
    expect(stale.status).to.equal(409);
    expect(stale.body.status).to.equal('ABORTED');
  });

  it('maps PERMISSION_DENIED to 403 (a read-only subject writing)', async () => {
    const subject = await rest.post('/v1/admin/subjects', { name: 'reader', policies: ['readonly'] });
    expect(subject.status, subject.text).to.equal(200);
    const token = await rest.post('/v1/admin/tokens', { subject: 'reader', description: 'REST test' });
    expect(token.status, token.text).to.equal(200);
    const reader = new Rest(t.baseUrl, token.body.value);
    expect((await reader.get('/v1/namespaces/dev/services')).status).to.equal(200);
    const denied = await changesNothing(() => reader.put('/v1/namespaces/dev/services/nope', { spec: { command: 'sleep' } }));
    expect(denied.status).to.equal(403);
    expect(denied.body.status).to.equal('PERMISSION_DENIED');
    const admin = await reader.get('/v1/admin/subjects');
    expect(admin.status).to.equal(403);
  });

  it("records the REST client's address (x-forwarded-for from the gateway), never a forged one over gRPC", async () => {
    const viaRest = await rest.post('/v1/namespaces', { metadata: { name: 'peer-rest' } }, { headers: { 'x-forwarded-for': '203.0.113.9' } });
    expect(viaRest.status, viaRest.text).to.equal(200);
    const c = clients(t.runed.grpcAddr);
    try {
      const md = auth(t.token);
      md.set('x-forwarded-for', '203.0.113.9');
      await call(c.namespaces, c.namespaces.createNamespace, { namespace: aNamespace({ name: 'peer-grpc' }) }, md);
    } finally {
      c.close();
    }
    const audit = await rest.stream('/v1/admin/audit');
    const peers = new Map<string, string>();
    try {
      while (peers.size < 2) {
        const message = await audit.until((m) => m.result?.entries);
        for (const e of message.result.entries) if (e.name.startsWith('peer-')) peers.set(e.name, e.peer);
      }
    } finally {
      audit.close();
    }
    expect(Object.fromEntries(peers)).to.deep.equal({ 'peer-rest': '127.0.0.1', 'peer-grpc': '127.0.0.1' });
  });

  it('lists with ?options.limit=2 and follows options.continueToken to the end', async () => {
    await rest.post('/v1/namespaces', { metadata: { name: 'pages' } });
    for (const name of ['a', 'b', 'c', 'd', 'e']) await rest.put(`/v1/namespaces/pages/services/${name}`, { spec: { command: 'sleep' } });
    const seen: string[] = [];
    let token = '';
    let pages = 0;
    do {
      const res = await rest.get(`/v1/namespaces/pages/services?options.limit=2${token ? `&options.continueToken=${encodeURIComponent(token)}` : ''}`);
      expect(res.status, res.text).to.equal(200);
      expect(res.body.services.length).to.be.at.most(2);
      seen.push(...res.body.services.map((s: any) => s.metadata.name));
      token = res.body.listMeta.continueToken;
      pages++;
    } while (token);
    expect(seen).to.deep.equal(['a', 'b', 'c', 'd', 'e']);
    expect(pages).to.equal(3);
    // snake_case query names too
    const snake = await rest.get('/v1/namespaces/pages/services?options.limit=1&options.label_selector=');
    expect(snake.body.services).to.have.length(1);
  });

  it('carries large responses intact (a list spanning many HTTP/2 frames)', async () => {
    await rest.post('/v1/namespaces', { metadata: { name: 'bulk' } });
    const env = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`VAR_${i}`, 'v'.repeat(100)]));
    for (let i = 0; i < 120; i++) {
      const res = await rest.put(`/v1/namespaces/bulk/services/svc-${String(i).padStart(3, '0')}`, { spec: { command: 'sleep', env } });
      expect(res.status).to.equal(200);
    }
    const list = await rest.get('/v1/namespaces/bulk/services');
    expect(list.status).to.equal(200);
    expect(list.text.length).to.be.above(256 * 1024);
    expect(list.body.services).to.have.length(120);
    expect(list.body.services[119].metadata.name).to.equal('svc-119');
    expect(list.body.services[119].spec.env).to.deep.equal(env);
  });

  it('rejects bad query parameters: unknown (with a hint), wrong type, a message, a path field', async () => {
    const unknown = await rest.get('/v1/namespaces/dev/services?options.limt=2');
    expect(unknown.status).to.equal(400);
    expect(unknown.body.message).to.match(/options\.limt: unknown query parameter; did you mean "options\.limit"/);
    const typed = await rest.get('/v1/namespaces/dev/services?options.limit=lots');
    expect(typed.status).to.equal(400);
    expect(typed.body.details[0].fieldViolations[0].field).to.equal('options.limit');
    const message = await rest.get('/v1/namespaces/dev/services?options=2');
    expect(message.status).to.equal(400);
    const pathField = await rest.get('/v1/namespaces/dev/services?namespace=other');
    expect(pathField.status).to.equal(400);
    expect(pathField.body.message).to.match(/URL path/);
    const bodyRoute = await changesNothing(() => rest.post('/v1/namespaces/dev/services/json:scale?scale=3', { scale: 2 }));
    expect(bodyRoute.status).to.equal(400);
    const noWatch = await rest.get('/v1/namespaces/dev/services/json?watch=true');
    expect(noWatch.status).to.equal(400);
    expect(noWatch.body.message).to.match(/has no watch/);
  });

  it('refuses a body whose path fields differ from the URL path', async () => {
    const res = await changesNothing(() => rest.put('/v1/namespaces/dev/services/web2', { metadata: { name: 'other' }, spec: { command: 'sleep' } }));
    expect(res.status).to.equal(400);
    expect(res.body.details[0].fieldViolations[0].field).to.equal('metadata.name');
    const same = await rest.put('/v1/namespaces/dev/services/web2', { metadata: { name: 'web2', namespace: 'dev' }, spec: { command: 'sleep' } });
    expect(same.status, same.text).to.equal(200);
  });

  it('answers bad bodies with clear 4xx: malformed JSON, a non-JSON type, a body where none is taken, a non-object', async () => {
    const malformed = await changesNothing(() => rest.call('PUT', '/v1/namespaces/dev/services/x', { raw: '{"spec": {', headers: { 'content-type': 'application/json' } }));
    expect(malformed.status).to.equal(400);
    expect(malformed.body.message).to.match(/not valid JSON/);
    const form = await changesNothing(() => rest.call('POST', '/v1/namespaces', { raw: 'metadata.name=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } }));
    expect(form.status).to.equal(415);
    expect(form.body.message).to.match(/Content-Type: application\/json/);
    const noBody = await changesNothing(() => rest.call('DELETE', '/v1/namespaces/dev/services/json', { raw: '{"x":1}', headers: { 'content-type': 'application/json' } }));
    expect(noBody.status).to.equal(400);
    expect(noBody.body.message).to.match(/takes no body/);
    const array = await changesNothing(() => rest.post('/v1/namespaces/dev/services/json:scale', [1, 2]));
    expect(array.status).to.equal(400);
  });

  it('answers 413 for a body over the limit (4 MiB by default), and keeps serving', async () => {
    const big = JSON.stringify({ spec: { command: 'sleep', args: ['x'.repeat(5 * 1024 * 1024)] } });
    const res = await changesNothing(() => rest.call('PUT', '/v1/namespaces/dev/services/big', { raw: big, headers: { 'content-type': 'application/json' } }));
    expect(res.status).to.equal(413);
    expect(res.body.message).to.match(/larger than the limit of 4194304 bytes/);
    expect((await rest.get('/healthz')).status).to.equal(200);
  });

  it('answers an unknown route with 404 and a hint, a wrong method with 405 and Allow, OPTIONS with Allow', async () => {
    const unknown = await rest.get('/v1/nothing/here');
    expect(unknown.status).to.equal(404);
    expect(unknown.body.message).to.match(/no route for GET \/v1\/nothing\/here; GET \/openapi.json lists every route/);
    const slash = await rest.get('/v1/namespaces/');
    expect(slash.status).to.equal(404);
    expect(slash.body.message).to.match(/did you mean \/v1\/namespaces\?/);
    const wrong = await rest.call('PATCH', '/v1/namespaces/dev');
    expect(wrong.status).to.equal(405);
    expect(wrong.headers.get('allow')).to.equal('DELETE, GET');
    const options = await rest.call('OPTIONS', '/v1/namespaces/dev/services/web');
    expect(options.status).to.equal(204);
    expect(options.headers.get('allow')).to.equal('DELETE, GET, PUT, OPTIONS');
    const badPercent = await rest.get('/v1/namespaces/%zz');
    expect(badPercent.status).to.equal(400);
    const badName = await rest.get('/v1/namespaces/Not_A_Name');
    expect(badName.status).to.be.within(400, 404);
    expect(badName.body.message).to.be.a('string');
  });

  it('leaves CORS off by default', async () => {
    const res = await rest.get('/v1/namespaces', { headers: { origin: 'https://ui.example' } });
    expect(res.status).to.equal(200);
    expect(res.headers.get('access-control-allow-origin')).to.equal(null);
    const preflight = await rest.call('OPTIONS', '/v1/namespaces', { headers: { origin: 'https://ui.example', 'access-control-request-method': 'POST' } });
    expect(preflight.status).to.equal(403);
  });
});

describe('REST gateway: CORS allow-list and rate limit (real runed)', function () {
  let t: TestRuned;
  let rest: Rest;

  before(async () => {
    t = await startTestRuned({ orchestrator: { enabled: false }, http: { corsOrigins: ['https://ui.example'] }, rateLimit: { perMinute: 60, burst: 20 } });
    rest = new Rest(t.baseUrl, t.token);
  });
  after(async () => {
    await t.stop();
  });

  it('answers a preflight from an allowed origin and marks its responses; refuses other origins', async () => {
    const preflight = await rest.call('OPTIONS', '/v1/namespaces', { headers: { origin: 'https://ui.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization, content-type' } });
    expect(preflight.status).to.equal(204);
    expect(preflight.headers.get('access-control-allow-origin')).to.equal('https://ui.example');
    expect(preflight.headers.get('access-control-allow-methods')).to.equal('GET, POST, OPTIONS');
    expect(preflight.headers.get('access-control-allow-headers')).to.match(/Authorization/).and.match(/X-API-Key/);
    const res = await rest.get('/v1/namespaces', { headers: { origin: 'https://ui.example' } });
    expect(res.headers.get('access-control-allow-origin')).to.equal('https://ui.example');
    expect(res.headers.get('vary')).to.equal('Origin');
    const unauthorized = await rest.get('/v1/namespaces', { token: '', headers: { origin: 'https://ui.example' } });
    expect(unauthorized.headers.get('access-control-allow-origin')).to.equal('https://ui.example');
    expect(unauthorized.headers.get('access-control-expose-headers')).to.match(/WWW-Authenticate/);
    const other = await rest.call('OPTIONS', '/v1/namespaces', { headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    expect(other.status).to.equal(403);
    const otherGet = await rest.get('/v1/namespaces', { headers: { origin: 'https://evil.example' } });
    expect(otherGet.headers.get('access-control-allow-origin')).to.equal(null);
  });

  it('maps RESOURCE_EXHAUSTED to 429 with Retry-After from the RetryInfo detail', async () => {
    let res;
    for (let i = 0; i < 40; i++) {
      res = await rest.get('/v1/whoami');
      if (res.status === 429) break;
    }
    expect(res!.status).to.equal(429);
    expect(res!.body.status).to.equal('RESOURCE_EXHAUSTED');
    expect(Number(res!.headers.get('retry-after'))).to.be.at.least(1);
    expect(res!.body.details.some((d: any) => d['@type'] === 'type.googleapis.com/google.rpc.RetryInfo')).to.equal(true);
  });
});
