/**
 * Server-streaming RPCs through the REST gateway: newline-delimited JSON, Server-Sent Events
 * read by a real EventSource client, the `?watch=true` alias, WebSocket for server streams and
 * for the bidirectional Watch, errors before and after the first message, client disconnects
 * and runed stopping under an open stream.
 */
import { expect } from 'chai';
import { EventSource } from 'eventsource';
import WebSocket from 'ws';
import { startTestRuned, type TestRuned } from '../support/test-runed.js';
import { Rest, eventually } from './rest-client.js';

/** Messages of a WebSocket, and how it closed. */
function wsSession(url: string, options: WebSocket.ClientOptions = {}, protocols?: string[]) {
  const ws = protocols ? new WebSocket(url, protocols, options) : new WebSocket(url, options);
  const messages: any[] = [];
  let waiters: (() => void)[] = [];
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  const opened = new Promise<void>((resolve, reject) => {
    ws.on('open', () => resolve());
    ws.on('error', reject);
    ws.on('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
  });
  ws.on('message', (data) => {
    messages.push(JSON.parse(data.toString()));
    for (const w of waiters) w();
    waiters = [];
  });
  return {
    ws,
    opened,
    closed,
    messages,
    async until(predicate: (m: any) => boolean, timeoutMs = 10_000): Promise<any> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = messages.find(predicate);
        if (found) return found;
        if (Date.now() > deadline) throw new Error(`no such message within ${timeoutMs} ms; got ${JSON.stringify(messages).slice(0, 500)}`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 100);
        });
      }
    },
  };
}

function counter(metrics: string, route: string): number {
  let total = 0;
  for (const line of metrics.split('\n')) {
    if (line.startsWith('rune_http_requests_total{') && line.includes(`route="${route}"`)) total += Number(line.split(' ').pop());
  }
  return total;
}

describe('REST gateway: streams (NDJSON, SSE, WebSocket; real runed)', function () {
  let t: TestRuned;
  let rest: Rest;

  before(async () => {
    t = await startTestRuned({ orchestrator: { enabled: false } });
    rest = new Rest(t.baseUrl, t.token);
  });
  after(async () => {
    await t.stop();
  });

  it('streams a watch as newline-delimited JSON that sees a cast', async () => {
    const stream = await rest.stream('/v1/namespaces/default/services:watch');
    try {
      expect(stream.status).to.equal(200);
      expect(stream.response.headers.get('content-type')).to.equal('application/x-ndjson');
      const created = await stream.until((m) => m.result?.created?.length > 0);
      expect(created.result.created[0].revision).to.be.a('string');
      const cast = await rest.put('/v1/namespaces/default/services/ndjson', { spec: { command: 'sleep' } });
      expect(cast.status).to.equal(200);
      const added = await stream.until((m) => m.result?.events?.some((e: any) => e.service?.metadata?.name === 'ndjson'));
      const event = added.result.events.find((e: any) => e.service?.metadata?.name === 'ndjson');
      expect(event.type).to.equal('EVENT_TYPE_ADDED'); // enums by name
      expect(event.revision).to.equal(cast.body.service.metadata.resourceVersion); // int64 as a string
      expect(event.kind).to.equal('services');
    } finally {
      stream.close();
    }
  });

  it('serves the same stream for ?watch=true on the list route (kubectl habit), with its query parameters', async () => {
    const list = await rest.get('/v1/namespaces/default/services');
    const from = list.body.listMeta.revision as string;
    await rest.put('/v1/namespaces/default/services/after-list', { spec: { command: 'sleep' } });
    const stream = await rest.stream(`/v1/namespaces/default/services?watch=true&fromRevision=${from}`);
    try {
      expect(stream.status).to.equal(200);
      const replayed = await stream.until((m) => m.result?.events?.some((e: any) => e.service?.metadata?.name === 'after-list'));
      expect(replayed.result.events[0].type).to.equal('EVENT_TYPE_ADDED');
    } finally {
      stream.close();
    }
    // watch=false is the plain list
    const plain = await rest.get('/v1/namespaces/default/services?watch=false');
    expect(plain.body.services).to.be.an('array');
  });

  it('streams Server-Sent Events to a real EventSource client when asked for text/event-stream', async () => {
    const token = t.token;
    const source = new EventSource(`${t.baseUrl}/v1/namespaces/default/services:watch`, {
      fetch: (input, init) => fetch(input, { ...init, headers: { ...init?.headers, authorization: `Bearer ${token}` } }),
    });
    const messages: any[] = [];
    source.onmessage = (event) => messages.push(JSON.parse(event.data));
    try {
      await eventually(async () => (messages.some((m) => m.created?.length > 0) ? true : undefined), 10_000, 'the created message');
      await rest.put('/v1/namespaces/default/services/sse', { spec: { command: 'sleep' } });
      const added = await eventually(async () => messages.find((m) => m.events?.some((e: any) => e.service?.metadata?.name === 'sse')), 10_000, 'the SSE event');
      expect(added.events[0].type).to.equal('EVENT_TYPE_ADDED');
    } finally {
      source.close();
    }
  });

  it('answers a stream that fails before its first message with a plain HTTP error', async () => {
    const unauth = await rest.stream('/v1/namespaces/default/services:watch', { token: '' });
    expect(unauth.status).to.equal(401);
    expect(unauth.response.headers.get('www-authenticate')).to.match(/^Bearer/);
    expect(JSON.parse((await unauth.line())!)).to.include({ status: 'UNAUTHENTICATED' });
    const sse = await rest.stream('/v1/namespaces/default/services:watch', { token: '', accept: 'text/event-stream' });
    expect(sse.status).to.equal(401);
    sse.close();
  });

  it('ends a stream that fails after its first message with a final {"error": …} line (a revoked token)', async () => {
    await rest.post('/v1/admin/subjects', { name: 'watcher', policies: ['readonly'] });
    const created = await rest.post('/v1/admin/tokens', { subject: 'watcher' });
    expect(created.status, created.text).to.equal(200);
    const watcher = new Rest(t.baseUrl, created.body.value);
    const stream = await watcher.stream('/v1/namespaces/default/services:watch');
    try {
      await stream.until((m) => m.result?.created);
      const revoked = await rest.post(`/v1/admin/tokens/${created.body.token.metadata.name}:revoke`, {});
      expect(revoked.status, revoked.text).to.equal(200);
      const last = await stream.until((m) => m.error !== undefined);
      expect(last.error).to.include({ code: 16, status: 'UNAUTHENTICATED' });
      expect(await stream.line()).to.equal(undefined); // and the stream ends
    } finally {
      stream.close();
    }
  });

  it('delivers every event, in order, to a client that reads slowly (backpressure, not loss)', async () => {
    await rest.post('/v1/namespaces', { metadata: { name: 'slow' } });
    const from = (await rest.get('/v1/namespaces/slow/services')).body.listMeta.revision as string;
    const names = Array.from({ length: 60 }, (_, i) => `s-${String(i).padStart(2, '0')}`);
    const env = { PAD: 'p'.repeat(4000) };
    for (const name of names) await rest.put(`/v1/namespaces/slow/services/${name}`, { spec: { command: 'sleep', env } });
    const stream = await rest.stream(`/v1/namespaces/slow/services:watch?fromRevision=${from}`);
    try {
      await new Promise((r) => setTimeout(r, 300)); // let runed's side fill every buffer first
      const seen: string[] = [];
      while (seen.length < names.length) {
        const m = await stream.until((x) => x.result?.events?.length > 0 || x.error);
        expect(m.error).to.equal(undefined);
        for (const e of m.result.events) seen.push(e.service.metadata.name);
      }
      expect(seen).to.deep.equal(names);
    } finally {
      stream.close();
    }
  });

  it('cancels the call when the client goes away (the stream is counted as ended)', async () => {
    const route = 'GET /v1/namespaces/{namespace}/instances:watch';
    const before = counter((await rest.get('/metrics')).text, route);
    const stream = await rest.stream('/v1/namespaces/default/instances:watch');
    await stream.until((m) => m.result?.created);
    stream.close();
    await eventually(async () => (counter((await rest.get('/metrics')).text, route) === before + 1 ? true : undefined), 5000, 'the stream to end on the server');
  });

  it('serves a server stream over a WebSocket ({"result": …} messages)', async () => {
    const s = wsSession(`ws://${t.runed.httpAddr}/v1/namespaces/default/services:watch`, { headers: { authorization: `Bearer ${t.token}` } });
    await s.opened;
    await s.until((m) => m.result?.created);
    await rest.put('/v1/namespaces/default/services/ws-watch', { spec: { command: 'sleep' } });
    const added = await s.until((m) => m.result?.events?.some((e: any) => e.service?.metadata?.name === 'ws-watch'));
    expect(added.result.events[0].type).to.equal('EVENT_TYPE_ADDED');
    s.ws.close();
    expect((await s.closed).code).to.equal(1005);
  });

  it('serves the bidirectional Watch over a WebSocket: create messages in, events out', async () => {
    const s = wsSession(`ws://${t.runed.httpAddr}/v1/watch`, { headers: { authorization: `Bearer ${t.token}` } });
    await s.opened;
    s.ws.send(JSON.stringify({ create: { watchId: '7', kind: 'services', namespace: 'default' } }));
    const created = await s.until((m) => m.result?.created?.length > 0);
    expect(created.result.created[0].watchId).to.equal('7');
    await rest.put('/v1/namespaces/default/services/bidi', { spec: { command: 'sleep' } });
    const event = await s.until((m) => m.result?.events?.some((e: any) => e.service?.metadata?.name === 'bidi'));
    expect(event.result.events[0].watchIds).to.deep.equal(['7']);
    // A message the gateway cannot parse ends the session with an error naming the field.
    s.ws.send(JSON.stringify({ create: { watchId: '8', kind: 'services', namespaces: 'x' } }));
    const error = await s.until((m) => m.error);
    expect(error.error.status).to.equal('INVALID_ARGUMENT');
    expect(error.error.message).to.match(/create\.namespaces/);
    expect((await s.closed).code).to.equal(4400);
  });

  it('ends a WebSocket whose call fails with an error message and close code 4000 + HTTP status', async () => {
    const s = wsSession(`ws://${t.runed.httpAddr}/v1/namespaces/default/services:watch`);
    await s.opened;
    const error = await s.until((m) => m.error);
    expect(error.error.status).to.equal('UNAUTHENTICATED');
    const closed = await s.closed;
    expect(closed.code).to.equal(4401);
    expect(closed.reason).to.equal('UNAUTHENTICATED');
  });

  it('accepts the token as a rune.bearer.<token> WebSocket subprotocol (for browsers)', async () => {
    const s = wsSession(`ws://${t.runed.httpAddr}/v1/namespaces/default/services:watch`, {}, ['rune.v1', `rune.bearer.${t.token}`]);
    await s.opened;
    expect(s.ws.protocol).to.equal('rune.v1');
    await s.until((m) => m.result?.created);
    s.ws.close();
  });

  it('refuses an upgrade for a unary route, an unknown path, or a browser origin not allowed', async () => {
    await expectRefused(`ws://${t.runed.httpAddr}/v1/namespaces/default/services/web`, {}, 400);
    await expectRefused(`ws://${t.runed.httpAddr}/v1/nowhere`, {}, 404);
    await expectRefused(`ws://${t.runed.httpAddr}/v1/watch`, { headers: { origin: 'https://evil.example' } }, 403);
  });
});

async function expectRefused(url: string, options: WebSocket.ClientOptions, status: number): Promise<void> {
  const ws = new WebSocket(url, options);
  const code = await new Promise<number>((resolve, reject) => {
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode!));
    ws.on('open', () => reject(new Error('the upgrade succeeded')));
    ws.on('error', () => undefined);
  });
  expect(code).to.equal(status);
}

describe('REST gateway: runed stopping under open streams', function () {
  it('ends open NDJSON streams with an UNAVAILABLE error line, and WebSockets with 1001', async () => {
    const t = await startTestRuned({ orchestrator: { enabled: false } });
    const rest = new Rest(t.baseUrl, t.token);
    const stream = await rest.stream('/v1/namespaces/default/services:watch');
    await stream.until((m) => m.result?.created);
    const s = wsSession(`ws://${t.runed.httpAddr}/v1/watch`, { headers: { authorization: `Bearer ${t.token}` } });
    await s.opened;
    const started = Date.now();
    await t.stop();
    expect(Date.now() - started).to.be.below(3000);
    const last = await stream.until((m) => m.error);
    expect(last.error).to.include({ code: 14, status: 'UNAVAILABLE' });
    expect((await s.closed).code).to.equal(1001);
  });
});
