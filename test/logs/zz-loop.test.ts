import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { expect } from 'chai';
import { Instance } from '../../shared/gen/rune/v1/instance.js';
import { LogServiceClient, LogServiceService, StreamLogsRequest, type LogLine, type StreamLogsResponse } from '../../shared/gen/rune/v1/log_service.js';
import { Service } from '../../shared/gen/rune/v1/service.js';
import { logHandlers } from '../../server/api/handlers/log-handler.js';
import { LogIndexer } from '../../server/logs/log-indexer.js';
import { openMemoryStore, type LevelStore } from '../../server/store/level-store.js';
import { serveForTest, type TestServer } from './grpc-server.js';
import { append, numbered, rotate } from './log-fixtures.js';

function anInstance(fields: { name: string; service: string; logPath: string; namespace?: string }): Instance {
  return Instance.fromPartial({
    metadata: { name: fields.name, namespace: fields.namespace ?? 'dev' },
    spec: { service: fields.service, node: 'local' },
    status: { phase: 'running', logPath: fields.logPath },
  });
}

function aService(name: string, namespace = 'dev'): Service {
  return Service.fromPartial({ metadata: { name, namespace }, spec: { runtime: 'process', command: '/bin/true', scale: 1 } });
}

interface Collected {
  messages: StreamLogsResponse[];
  lines: LogLine[];
}

describe('LogService.StreamLogs (real gRPC, real files)', function () {
  let dir: string;
  let store: LevelStore;
  let server: TestServer;
  let client: LogServiceClient;
  const calls: grpc.ClientReadableStream<StreamLogsResponse>[] = [];

  const path = (name: string) => join(dir, `${name}.log`);
  const texts = (lines: LogLine[]) => lines.map((l) => `${l.instance}: ${l.text}`);

  /** Streams to the end (no follow); rejects with the call's error. */
  function collect(request: Partial<StreamLogsRequest>): Promise<Collected> {
    return new Promise((resolve, reject) => {
      const call = client.streamLogs(StreamLogsRequest.fromPartial({ namespace: 'dev', ...request }), { deadline: Date.now() + 10_000 });
      const messages: StreamLogsResponse[] = [];
      call.on('data', (m: StreamLogsResponse) => messages.push(m));
      call.on('error', reject);
      call.on('end', () => resolve({ messages, lines: messages.flatMap((m) => m.lines) }));
    });
  }

  /** Follows; `until` is polled on the lines so far; then the call is canceled. */
  function follow(request: Partial<StreamLogsRequest>) {
    const call = client.streamLogs(StreamLogsRequest.fromPartial({ namespace: 'dev', follow: true, ...request }));
    calls.push(call);
    const lines: LogLine[] = [];
    let failure: Error | undefined;
    call.on('data', (m: StreamLogsResponse) => lines.push(...m.lines));
    call.on('error', (err: grpc.ServiceError) => {
      if (err.code !== grpc.status.CANCELLED) failure = err;
    });
    return {
      lines,
      async until(done: (lines: LogLine[]) => boolean, timeoutMs = 8000): Promise<LogLine[]> {
        const deadline = Date.now() + timeoutMs;
        while (!done(lines)) {
          if (failure) throw failure;
          if (Date.now() > deadline) throw new Error(`timed out with lines ${JSON.stringify(texts(lines))}`);
          await new Promise((r) => setTimeout(r, 20));
        }
        return lines;
      },
      cancel: () => call.cancel(),
    };
  }

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rune-logs-api-'));
    store = await openMemoryStore({ compactEveryMs: 0 });
    await store.create('services', aService('web'));
    await store.create('services', aService('idle'));
    await store.create('instances', anInstance({ name: 'web-a', service: 'web', logPath: path('web-a') }));
    await store.create('instances', anInstance({ name: 'web-b', service: 'web', logPath: path('web-b') }));
    await store.create('instances', anInstance({ name: 'api-a', service: 'api', logPath: path('api-a') }));
    server = await serveForTest(LogServiceService, logHandlers(store, { pollMs: 50, discoverMs: 100 }));
    client = new LogServiceClient(server.addr, grpc.credentials.createInsecure());
  });
  afterEach(async () => {
    for (const call of calls.splice(0)) call.cancel();
    client.close();
    await server.stop();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('streams one instance by its id, with the last N lines, each naming the instance and with a time', async () => {
    append(path('web-a'), numbered(0, 5));
    append(path('web-b'), numbered(0, 5));
    const { lines } = await collect({ target: 'web-a', tail: 2 });
    expect(texts(lines)).to.deep.equal(['web-a: line 3', 'web-a: line 4']);
    for (const line of lines) expect(line.time).to.be.instanceOf(Date);
  });

  it('streams every instance of a service interleaved by time', async () => {
    let clock = 1000;
    const indexer = new LogIndexer({ pollMs: 60_000, now: () => clock });
    try {
      indexer.track(path('web-a'));
      indexer.track(path('web-b'));
      for (const [i, name] of [[0, 'web-a'], [1, 'web-b'], [2, 'web-a'], [3, 'web-b']] as const) {
        append(path(name), `step ${i}\n`);
        clock = 1000 * (i + 1);
        await indexer.poll();
      }
    } finally {
      await indexer.close();
    }
    const { lines } = await collect({ target: 'web' });
    expect(texts(lines)).to.deep.equal(['web-a: step 0', 'web-b: step 1', 'web-a: step 2', 'web-b: step 3']);
    expect(lines.map((l) => l.time!.getTime())).to.deep.equal([1000, 2000, 3000, 4000]);

    const since = await collect({ target: 'web', since: new Date(2500) });
    expect(texts(since.lines)).to.deep.equal(['web-a: step 2', 'web-b: step 3']);
    const tail = await collect({ target: 'web', tail: 1 });
    expect(texts(tail.lines), 'tail counts per instance').to.deep.equal(['web-a: step 2', 'web-b: step 3']);
  });

  it('sends lines in batches, not one message per line', async () => {
    append(path('web-a'), numbered(0, 5000));
    const { messages, lines } = await collect({ target: 'web-a' });
    expect(lines).to.have.length(5000);
    expect(lines.at(-1)!.text).to.equal('line 4999');
    expect(messages.length).to.be.within(1, 20);
  });

  it('answers NOT_FOUND naming both kinds of target when the name is neither', async () => {
    const err = await collect({ target: 'nope' }).then(
      () => undefined,
      (e: grpc.ServiceError) => e,
    );
    expect(err?.code).to.equal(grpc.status.NOT_FOUND);
    expect(err?.details).to.include('no instance or service named "nope" in namespace "dev"');
  });

  it('ends at once for a service with no instances, and rejects a bad tail', async () => {
    expect((await collect({ target: 'idle' })).lines).to.deep.equal([]);
    const err = await collect({ target: 'web', tail: -2 }).then(
      () => undefined,
      (e: grpc.ServiceError) => e,
    );
    expect(err?.code).to.equal(grpc.status.INVALID_ARGUMENT);
  });

  for (let k = 0; k < 15; k++) it('follows: new lines, across a rotation, and instances of the service that appear later ' + k, async () => {
    append(path('web-a'), numbered(0, 3, 'a'));
    const followed = follow({ target: 'web', tail: -1 });
    await new Promise((r) => setTimeout(r, 200)); // the stream is open and has read to the end
    append(path('web-a'), numbered(3, 5, 'a'));
    await followed.until((l) => l.length >= 2);
    append(path('web-a'), numbered(5, 7, 'a'));
    await rotate(path('web-a'));
    append(path('web-a'), numbered(7, 9, 'a'));
    await followed.until((l) => l.length >= 6);
    // A new instance of the service shows up with a log.
    append(path('web-c'), numbered(0, 2, 'c'));
    await store.create('instances', anInstance({ name: 'web-c', service: 'web', logPath: path('web-c') }));
    await followed.until((l) => l.length >= 8);
    const lines = followed.lines;
    expect(texts(lines.filter((l) => l.instance === 'web-a')), JSON.stringify(texts(lines))).to.deep.equal(['web-a: a 3', 'web-a: a 4', 'web-a: a 5', 'web-a: a 6', 'web-a: a 7', 'web-a: a 8']);
    expect(texts(lines.filter((l) => l.instance === 'web-c'))).to.deep.equal(['web-c: c 0', 'web-c: c 1']);
    expect(lines.filter((l) => l.instance === 'api-a')).to.deep.equal([]);
    followed.cancel();
  });

  it('follows an instance whose log does not exist yet', async () => {
    await store.create('instances', anInstance({ name: 'web-new', service: 'web', logPath: path('web-new') }));
    const followed = follow({ target: 'web-new' });
    await new Promise((r) => setTimeout(r, 150));
    append(path('web-new'), 'hello\n');
    expect(texts(await followed.until((l) => l.length >= 1))).to.deep.equal(['web-new: hello']);
    followed.cancel();
  });
});
