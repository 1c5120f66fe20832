/**
 * The route table is complete and generic: every RPC of shared/api/methods.ts (walked, so RPCs
 * added later are covered without touching this file) is reachable at each of its
 * google.api.http bindings, requires credentials unless public, and round-trips a request to its
 * handler. Also the gateway's own endpoints: /healthz, /readyz, /version, /openapi.json
 * (validated as OpenAPI 3.1, listing every route) and /metrics (Prometheus text that moves).
 */
import { expect } from 'chai';
import { Validator } from '@seriousme/openapi-schema-validator';
import { methods, type MethodInfo } from '../../shared/api/methods.js';
import type { HttpRule } from '../../shared/gen/google/api/http.js';
import { runeVersion } from '../../shared/version.js';
import { startTestRuned, type TestRuned } from '../support/test-runed.js';
import { Rest } from './rest-client.js';

interface Binding {
  rpc: MethodInfo;
  verb: string;
  template: string;
  body: string;
}

/** Every binding of every RPC, straight from the decoded http rules. */
function bindings(): Binding[] {
  const out: Binding[] = [];
  for (const rpc of methods.values()) {
    if (!rpc.http) continue;
    for (const rule of [rpc.http, ...rpc.http.additionalBindings]) {
      const [verb, template] = verbAndPath(rule);
      out.push({ rpc, verb, template, body: rule.body });
    }
  }
  return out;
}

function verbAndPath(rule: HttpRule): [string, string] {
  for (const verb of ['get', 'put', 'post', 'delete', 'patch'] as const) if (rule[verb]) return [verb.toUpperCase(), rule[verb]!];
  return [rule.custom!.kind.toUpperCase(), rule.custom!.path];
}

/** A concrete path: each variable filled with a name that exists nowhere. */
function concrete(template: string): string {
  return template.replace(/\{[^}]+\}/g, 'gw-probe');
}

/** The request for a binding; for streams, the status once headers arrive. */
async function send(baseUrl: string, b: Binding, token: string | undefined): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const streamsRequests = b.rpc.requestStream;
  let body: string | undefined;
  if (streamsRequests) {
    headers['content-type'] = 'application/x-ndjson';
    body = '';
  } else if (b.body) {
    headers['content-type'] = 'application/json';
    body = '{}';
  }
  const abort = new AbortController();
  const res = await fetch(baseUrl + concrete(b.template), { method: b.verb, headers, body, signal: abort.signal });
  if (res.status === 200 && b.rpc.responseStream) {
    abort.abort(); // a stream that started: the route works
    return { status: 200, body: undefined };
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text.split('\n')[0]!);
  } catch {
    json = text;
  }
  return { status: res.status, body: json };
}

describe('REST gateway: every RPC is routed (walks shared/api/methods.ts)', function () {
  let t: TestRuned;
  const all = bindings();

  before(async () => {
    t = await startTestRuned({ orchestrator: { enabled: false } });
  });
  after(async () => {
    await t.stop();
  });

  it('has an http rule for every RPC', () => {
    const missing = [...methods.values()].filter((m) => !m.http).map((m) => m.path);
    expect(missing, 'RPCs without a google.api.http rule').to.deep.equal([]);
    expect(all.length).to.be.at.least(methods.size);
  });

  it('serves every binding: credentials required unless public, and a round trip to the handler', async () => {
    const problems: string[] = [];
    for (const b of all) {
      const label = `${b.verb} ${b.template} (${b.rpc.name})`;
      const anonymous = await send(t.baseUrl, b, undefined);
      if (b.rpc.access?.public) {
        if (anonymous.status === 401) problems.push(`${label}: public, but answered 401`);
      } else if (anonymous.status !== 401) {
        problems.push(`${label}: without a token answered ${anonymous.status}, not 401`);
      }
      const admin = await send(t.baseUrl, b, t.token);
      const routingError = admin.status === 405 || (admin.status === 404 && /^no route/.test(admin.body?.message ?? admin.body?.error?.message ?? ''));
      if (routingError) problems.push(`${label}: not routed (${admin.status} ${JSON.stringify(admin.body)})`);
      if (admin.status === 401) problems.push(`${label}: the admin token was refused`);
      if (admin.status >= 500 && admin.status !== 501) problems.push(`${label}: ${admin.status} ${JSON.stringify(admin.body)}`);
    }
    expect(problems).to.deep.equal([]);
  });

  it('serves /openapi.json: valid OpenAPI 3.1, every binding under its path and method', async () => {
    const res = await fetch(`${t.baseUrl}/openapi.json`);
    expect(res.status).to.equal(200);
    const doc = (await res.json()) as { openapi: string; info: { version: string }; paths: Record<string, Record<string, { operationId: string }>> };
    const result = await new Validator().validate(doc as unknown as Parameters<Validator['validate']>[0]);
    expect(result.errors ?? [], 'OpenAPI validation errors').to.deep.equal([]);
    expect(result.valid).to.equal(true);
    expect(doc.openapi).to.equal('3.1.0');
    expect(doc.info.version).to.equal(runeVersion());
    const missing: string[] = [];
    for (const b of all) {
      // {a.b.c} and {x=pattern} are written {c} and {x} in the document
      const path = b.template.replace(/\{([^}=]+)(=[^}]*)?\}/g, (_, field: string) => `{${field.split('.').pop()}}`);
      if (!doc.paths[path]?.[b.verb.toLowerCase()]) missing.push(`${b.verb} ${path} (${b.rpc.name}); run "npm run build" if the protos changed`);
    }
    expect(missing).to.deep.equal([]);
    for (const builtin of ['/healthz', '/readyz', '/version', '/metrics', '/openapi.json']) expect(doc.paths).to.have.property(builtin);
  });

  it('serves /healthz, /readyz and /version without credentials', async () => {
    const health = await fetch(`${t.baseUrl}/healthz`);
    expect(health.status).to.equal(200);
    expect(await health.json()).to.deep.equal({ status: 'ok' });
    const ready = await fetch(`${t.baseUrl}/readyz`);
    expect(ready.status).to.equal(200);
    expect(await ready.json()).to.deep.equal({ status: 'ready', checks: { store: { ok: true }, controllers: { ok: true, message: 'disabled' } } });
    const version = await fetch(`${t.baseUrl}/version`);
    expect(await version.json()).to.deep.equal({ version: runeVersion() });
    const post = await fetch(`${t.baseUrl}/healthz`, { method: 'POST' });
    expect(post.status).to.equal(405);
    expect(post.headers.get('allow')).to.equal('GET, HEAD');
  });

  it('serves /metrics as Prometheus text whose request counters move, with process metrics', async () => {
    const rest = new Rest(t.baseUrl, t.token);
    const scrape = async () => {
      const res = await fetch(`${t.baseUrl}/metrics`);
      expect(res.headers.get('content-type')).to.match(/^text\/plain; version=0\.0\.4/);
      return res.text();
    };
    const sample = (text: string, name: string, labels: Record<string, string>) => {
      for (const line of text.split('\n')) {
        if (!line.startsWith(`${name}{`)) continue;
        if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.split(' ').pop());
      }
      return 0;
    };
    const before = await scrape();
    for (const line of before.split('\n')) {
      if (line === '' || line.startsWith('#')) continue;
      // name{label="value",…} value [timestamp]; Go's ParseFloat (Prometheus) takes NaN and Inf in any case
      expect(line, 'a Prometheus sample line').to.match(/^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*",?)*\})? (-?[0-9.e+-]+|nan|[+-]?inf)( -?\d+)?$/i);
    }
    expect(before).to.match(/^process_resident_memory_bytes \d+/m);
    expect(before).to.match(/^process_cpu_user_seconds_total /m);
    const labels = { method: 'GET', route: 'GET /v1/namespaces/{namespace}/services/{name}', code: '404' };
    const count = sample(before, 'rune_http_requests_total', labels);
    await rest.get('/v1/namespaces/default/services/ghost');
    await rest.get('/v1/namespaces/default/services/ghost');
    const after = await scrape();
    expect(sample(after, 'rune_http_requests_total', labels)).to.equal(count + 2);
    expect(sample(after, 'rune_http_request_duration_seconds_count', labels)).to.equal(count + 2);
    expect(sample(after, 'rune_http_requests_total', { route: 'unmatched' })).to.be.a('number');
  });
});
