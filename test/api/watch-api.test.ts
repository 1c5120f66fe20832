import * as grpc from '@grpc/grpc-js';
import { expect } from 'chai';
import type { Service } from '../../shared/gen/rune/v1/service.js';
import { EventType, type WatchResponse } from '../../shared/gen/rune/v1/watch_service.js';
import { aNamespace, aService } from '../support/builders.js';
import { auth, call, clients, startTestRuned, type TestRuned } from '../support/test-runed.js';

/** Collects a stream's messages; `until` resolves once `predicate` holds over them (bounded). */
function collect(stream: grpc.ClientReadableStream<WatchResponse> | grpc.ClientDuplexStream<unknown, WatchResponse>) {
  const messages: WatchResponse[] = [];
  let error: grpc.ServiceError | undefined;
  stream.on('data', (m: WatchResponse) => messages.push(m));
  stream.on('error', (e: grpc.ServiceError) => (error = e));
  return {
    messages,
    get error() {
      return error;
    },
    events: () => messages.flatMap((m) => m.events),
    async until(predicate: () => boolean, ms = 5000): Promise<void> {
      const deadline = Date.now() + ms;
      while (!predicate()) {
        if (Date.now() > deadline) throw new Error(`timed out; got ${JSON.stringify(messages.map((m) => m.events.map((e) => e.revision)))} error=${error?.message}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
  };
}

describe('watch API (real gRPC)', function () {
  let t: TestRuned;
  let c: ReturnType<typeof clients>;
  let md: grpc.Metadata;

  before(async () => {
    t = await startTestRuned({ store: { retainEvents: 20, retainMs: 0, compactEveryMs: 0 }, orchestrator: { enabled: false } });
    c = clients(t.runed.grpcAddr);
    md = auth(t.token);
    await call(c.namespaces, c.namespaces.createNamespace, { namespace: aNamespace({ name: 'dev' }) }, md);
  });
  after(async () => {
    c.close();
    await t.stop();
  });

  const cast = (service: Service) => call(c.services, c.services.castService, { service, dryRun: false }, md);

  it('WatchServices streams a cast made after the watch started', async () => {
    const stream = c.services.watchServices({ namespace: 'dev', fromRevision: 0 }, md);
    const got = collect(stream);
    await got.until(() => got.messages.length > 0); // the "created" acknowledgement
    const started = Date.now();
    await cast(aService({ name: 'live', namespace: 'dev', command: 'sleep' }));
    await got.until(() => got.events().some((e) => e.service?.metadata?.name === 'live'));
    expect(Date.now() - started).to.be.below(1000);
    const event = got.events().find((e) => e.service?.metadata?.name === 'live')!;
    expect(event.type).to.equal(EventType.EVENT_TYPE_ADDED);
    expect(event.kind).to.equal('services');
    expect(event.revision).to.equal(event.service!.metadata!.resourceVersion);
    stream.cancel();
  });

  it('resumes from a revision: replays exactly what came after it, in order', async () => {
    const from = t.runed.store.revision;
    for (let i = 0; i < 5; i++) await cast(aService({ name: `r${i}`, namespace: 'dev', command: 'sleep' }));
    const stream = c.services.watchServices({ namespace: 'dev', fromRevision: from }, md);
    const got = collect(stream);
    await got.until(() => got.events().length >= 5);
    expect(got.events().map((e) => e.revision)).to.deep.equal([from + 1, from + 2, from + 3, from + 4, from + 5]);
    stream.cancel();
  });

  it('carries many watches on one stream, sending each event once with the ids it matches', async () => {
    const stream = c.watch.watch(md);
    const got = collect(stream);
    for (let id = 1; id <= 50; id++) stream.write({ create: { watchId: id, kind: 'services', namespace: id % 2 ? 'dev' : '*', fromRevision: 0 } });
    stream.write({ create: { watchId: 99, kind: 'namespaces', namespace: '', fromRevision: 0 } });
    await got.until(() => got.messages.flatMap((m) => m.created).length === 51);
    await cast(aService({ name: 'fan', namespace: 'dev', command: 'sleep' }));
    await got.until(() => got.events().length > 0);
    await new Promise((r) => setTimeout(r, 50));
    const events = got.events();
    expect(events).to.have.length(1); // one event, not fifty
    expect([...events[0]!.watchIds].sort((a, b) => a - b)).to.deep.equal(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(events[0]!.service!.metadata!.name).to.equal('fan');
    stream.end();
  });

  it('cancels a watch that starts before the retained log with OUT_OF_RANGE, keeping the others', async () => {
    for (let i = 0; i < 30; i++) await cast(aService({ name: `c${i}`, namespace: 'dev', command: 'sleep' }));
    await t.runed.store.compact();
    expect(t.runed.store.compactedRevision).to.be.greaterThan(1);
    const stream = c.watch.watch(md);
    const got = collect(stream);
    stream.write({ create: { watchId: 1, kind: 'services', namespace: 'dev', fromRevision: 1 } });
    stream.write({ create: { watchId: 2, kind: 'services', namespace: 'dev', fromRevision: 0 } });
    await got.until(() => got.messages.some((m) => m.canceled.length > 0) && got.messages.some((m) => m.created.length > 0));
    const canceled = got.messages.flatMap((m) => m.canceled);
    expect(canceled).to.have.length(1);
    expect(canceled[0]!.watchId).to.equal(1);
    expect(canceled[0]!.code).to.equal('OUT_OF_RANGE');
    expect(canceled[0]!.message).to.include('list again');
    expect(canceled[0]!.compactRevision).to.equal(t.runed.store.compactedRevision);
    await cast(aService({ name: 'after', namespace: 'dev', command: 'sleep' }));
    await got.until(() => got.events().some((e) => e.watchIds.includes(2)));
    stream.end();
  });

  it('ends a too-old WatchServices stream with OUT_OF_RANGE', async () => {
    const stream = c.services.watchServices({ namespace: 'dev', fromRevision: 1 }, md);
    const got = collect(stream);
    await got.until(() => got.error !== undefined);
    expect(got.error!.code).to.equal(grpc.status.OUT_OF_RANGE);
  });

  it('requires a token to watch', async () => {
    const stream = c.services.watchServices({ namespace: 'dev', fromRevision: 0 }, auth());
    const got = collect(stream);
    await got.until(() => got.error !== undefined);
    expect(got.error!.code).to.equal(grpc.status.UNAUTHENTICATED);
  });
});
