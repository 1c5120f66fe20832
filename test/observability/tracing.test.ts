/**
 * Tracing with OTEL_EXPORTER_OTLP_ENDPOINT: a tiny OTLP/HTTP receiver on 127.0.0.1 records what
 * runed exports (JSON). A gRPC call gives a span named after its method whose trace id is the
 * request id of the call's log line; a REST request gives a span named after its route with the
 * gRPC span as its child (one trace); a cast gives a store commit span under the request span,
 * and the instance's start a runner span under its reconcile span.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { expect } from 'chai';
import { Service } from '../../shared/gen/rune/v1/service.js';
import { createLogger } from '../../server/logger.js';
import { aNamespace } from '../support/builders.js';
import { eventually } from '../support/procs.js';
import { repoRoot } from '../support/runed-process.js';
import { auth, call, clients, startTestRuned, type TestRuned } from '../support/test-runed.js';

interface Span {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes?: { key: string; value: Record<string, unknown> }[];
}

describe('observability: tracing over OTLP/HTTP', function () {
  this.timeout(60_000);
  let receiver: Server;
  const spans: Span[] = [];
  const contentTypes = new Set<string>();
  const logLines: Record<string, unknown>[] = [];
  let t: TestRuned;
  let c: ReturnType<typeof clients>;

  before(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        if (req.method === 'POST' && req.url === '/v1/traces') {
          contentTypes.add(String(req.headers['content-type']));
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { resourceSpans: { scopeSpans: { spans: Span[] }[] }[] };
          for (const r of body.resourceSpans) for (const s of r.scopeSpans) spans.push(...s.spans);
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const logs = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString('utf8').split('\n')) if (line) logLines.push(JSON.parse(line) as Record<string, unknown>);
        done();
      },
    });
    t = await startTestRuned({
      log: createLogger('debug', logs),
      tracing: { endpoint: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`, exportDelayMs: 50 },
      orchestrator: { pollMs: 50 },
    });
    c = clients(t.runed.grpcAddr);
  });
  after(async () => {
    c?.close();
    await t?.stop();
    await new Promise((resolve) => receiver?.close(resolve));
  });

  it('exports a span per gRPC call, whose trace id is the request id in the log line', async () => {
    const method = '/rune.v1.ServiceService/GetService';
    await call(c.services, c.services.getService, { namespace: 'default', name: 'ghost' }, auth(t.token)).catch(() => undefined);
    const span = await eventually(`a span named ${method}`, () => spans.find((s) => s.name === method));
    expect(contentTypes.has('application/json'), [...contentTypes].join()).to.equal(true);
    expect(span.traceId).to.match(/^[0-9a-f]{32}$/);
    expect(span.parentSpanId || undefined).to.equal(undefined);
    const line = logLines.find((l) => l.rpc === method);
    expect(line, 'the observe log line').to.not.equal(undefined);
    expect(line!.requestId).to.equal(span.traceId);
    expect(line!.code).to.equal('NOT_FOUND');
  });

  it('exports a span per REST request, named after its route, that the gRPC call joins', async () => {
    const res = await fetch(`${t.baseUrl}/v1/namespaces/default/services/nobody`, { headers: { authorization: `Bearer ${t.token}` } });
    expect(res.status).to.equal(404);
    const http = await eventually('the HTTP span', () => spans.find((s) => s.name === 'GET /v1/namespaces/{namespace}/services/{name}'));
    const grpc = await eventually('the gRPC span under it', () => spans.find((s) => s.name === '/rune.v1.ServiceService/GetService' && s.parentSpanId === http.spanId));
    expect(grpc.traceId).to.equal(http.traceId);
    const line = logLines.find((l) => l.rpc === '/rune.v1.ServiceService/GetService' && l.requestId === http.traceId);
    expect(line, 'the log line of the REST call carries its trace id').to.not.equal(undefined);
  });

  it('gives store commits of a call, and process starts of a reconcile, child spans', async () => {
    const md = auth(t.token);
    await call(c.namespaces, c.namespaces.createNamespace, { namespace: aNamespace({ name: 'traced' }) }, md);
    const service = Service.fromPartial({ metadata: { name: 'sleeper', namespace: 'traced' }, spec: { runtime: 'process', scale: 1, command: 'sleep', args: ['300'], restartPolicy: 'Always' } });
    await call(c.services, c.services.castService, { service, dryRun: false }, md);
    const cast = await eventually('the CastService span', () => spans.find((s) => s.name === '/rune.v1.ServiceService/CastService'));
    const commit = await eventually('a store.commit span under it', () => spans.find((s) => s.name === 'store.commit' && s.parentSpanId === cast.spanId));
    expect(commit.traceId).to.equal(cast.traceId);
    const start = await eventually('a runner.start span', () => spans.find((s) => s.name === 'runner.start'));
    // The parent ends (and is exported) after its child.
    const reconcile = await eventually('the runner.start span\'s parent', () => spans.find((s) => s.spanId === start.parentSpanId));
    expect(reconcile.name).to.equal('reconcile instances');
    expect(start.attributes?.find((a) => a.key === 'rune.instance')?.value.stringValue).to.match(/^sleeper-/);
    await call(c.namespaces, c.namespaces.deleteNamespace, { name: 'traced', cascade: true }, md);
    await eventually('a runner.stop span', () => spans.find((s) => s.name === 'runner.stop'), 20_000);
  });
});

describe('observability: tracing off', function () {
  this.timeout(60_000);

  /**
   * Starts and stops a runed in a fresh node; how many OpenTelemetry SDK modules it loaded
   * (`@opentelemetry/api` does not count: prom-client loads it for exemplars either way).
   */
  const otelModulesLoaded = async (endpoint: string | undefined): Promise<number> => {
    const dir = await mkdtemp(join(tmpdir(), 'rune-otel-off-'));
    try {
      const script = join(dir, 'probe.mts');
      await writeFile(
        script,
        `import { createRequire } from 'node:module';
const { startRuned } = await import(${JSON.stringify(pathToFileURL(join(repoRoot, 'server', 'runed.ts')).href)});
const { createLogger } = await import(${JSON.stringify(pathToFileURL(join(repoRoot, 'server', 'logger.ts')).href)});
const endpoint = process.argv[2];
const runed = await startRuned({ dataDir: ${JSON.stringify(join(dir, 'data'))}, grpcAddr: '127.0.0.1:0', httpAddr: '127.0.0.1:0', log: createLogger('silent'), env: { HOME: ${JSON.stringify(dir)}, RUNE_CONFIG: ${JSON.stringify(join(dir, 'config.yaml'))} }, orchestrator: { enabled: false }, ...(endpoint ? { tracing: { endpoint } } : {}) });
const loaded = Object.keys(createRequire(import.meta.url).cache).filter((k) => k.includes('/@opentelemetry/') && !k.includes('/@opentelemetry/api/'));
await runed.stop();
console.log(loaded.length);
`,
      );
      const env = { ...process.env };
      delete env.OTEL_EXPORTER_OTLP_ENDPOINT;
      const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', script, ...(endpoint ? [endpoint] : [])], { cwd: repoRoot, env });
      return Number(stdout.trim().split('\n').pop());
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };

  it('never loads the OpenTelemetry SDK without OTEL_EXPORTER_OTLP_ENDPOINT (and does with it)', async () => {
    expect(await otelModulesLoaded(undefined)).to.equal(0);
    expect(await otelModulesLoaded('http://127.0.0.1:9')).to.be.greaterThan(0);
  });
});
