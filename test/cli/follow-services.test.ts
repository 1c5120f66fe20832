import { expect } from 'chai';
import { RuneError } from '../../shared/errors.js';
import { Service } from '../../shared/gen/rune/v1/service.js';
import { EventType, type WatchEvent, type WatchResponse } from '../../shared/gen/rune/v1/watch_service.js';
import { followServices, type FollowServicesOptions } from '../../client/api/follow-services.js';

const svc = (name: string) => Service.fromPartial({ metadata: { name, namespace: 'default' } });
const ev = (revision: number, name = 'web', type = EventType.EVENT_TYPE_MODIFIED): WatchEvent => ({ type, revision, kind: 'services', service: svc(name), watchIds: [] });
const msg = (events: WatchEvent[], extra: Partial<WatchResponse> = {}): WatchResponse => ({ events, created: [], canceled: [], revision: events.at(-1)?.revision ?? 0, ...extra });

type Script = Array<WatchResponse | RuneError | 'end' | 'hang'>;

/** A fake client: each watchServices call plays the next script; records the fromRevision it was asked for. */
function fakeClient(scripts: Script[], listResult = { services: [svc('web')], revision: 50 }) {
  const calls: number[] = [];
  let lists = 0;
  const client: FollowServicesOptions['client'] = {
    async listServices() {
      lists++;
      return { services: listResult.services, listMeta: { revision: listResult.revision, continueToken: '' } };
    },
    watchServices(request, options) {
      calls.push(request.fromRevision ?? 0);
      const script = scripts.shift() ?? ['hang'];
      return (async function* () {
        for (const step of script) {
          if (step === 'end') return;
          if (step === 'hang') break;
          if (step instanceof RuneError) throw step;
          yield step;
        }
        if (options?.signal?.aborted) return;
        await new Promise<void>((resolve) => options?.signal?.addEventListener('abort', () => resolve(), { once: true }));
      })();
    },
  };
  return { client, calls, lists: () => lists };
}

function run(scripts: Script[], opts: Partial<FollowServicesOptions> & { stopAfter: number }) {
  const fake = fakeClient(scripts);
  const seen: number[] = [];
  const retries: Array<{ attempt: number; delayMs: number; from: number }> = [];
  const relists: number[] = [];
  const stop = new AbortController();
  const done = followServices({
    client: fake.client,
    namespace: 'default',
    fromRevision: 10,
    signal: stop.signal,
    sleep: async () => undefined,
    onEvent: (e) => {
      seen.push(e.revision);
      if (seen.length >= opts.stopAfter) stop.abort();
    },
    onRetry: (_e, attempt, delayMs, from) => retries.push({ attempt, delayMs, from }),
    onRelist: (_s, revision) => relists.push(revision),
    ...opts,
  });
  return { done, seen, retries, relists, calls: fake.calls, lists: fake.lists };
}

describe('followServices', () => {
  it('delivers events in order and stops quietly on abort', async () => {
    const r = run([[msg([ev(11), ev(12)]), msg([ev(13)])]], { stopAfter: 3 });
    await r.done;
    expect(r.seen).to.deep.equal([11, 12, 13]);
    expect(r.calls).to.deep.equal([10]);
  });

  it('resumes after UNAVAILABLE from the last revision seen, without duplicates', async () => {
    const r = run([[msg([ev(11), ev(12)]), new RuneError('UNAVAILABLE', 'gone')], [msg([ev(12), ev(13)])]], { stopAfter: 3 });
    await r.done;
    expect(r.calls).to.deep.equal([10, 12]);
    expect(r.seen).to.deep.equal([11, 12, 13]);
    expect(r.retries).to.deep.equal([{ attempt: 1, delayMs: 500, from: 12 }]);
  });

  it('resumes when the server ends the stream', async () => {
    const r = run([[msg([ev(11)]), 'end'], [msg([ev(12)])]], { stopAfter: 2 });
    await r.done;
    expect(r.calls).to.deep.equal([10, 11]);
  });

  it('advances on progress marks without events', async () => {
    const r = run([[msg([], { revision: 20 }), new RuneError('UNAVAILABLE', 'x')], [msg([ev(21)])]], { stopAfter: 1 });
    await r.done;
    expect(r.calls).to.deep.equal([10, 20]);
  });

  it('backs off exponentially with a cap and gives up after the retry budget', async () => {
    const down = () => [new RuneError('UNAVAILABLE', 'connect ECONNREFUSED')] as Script;
    const r = run([down(), down(), down(), down()], { stopAfter: 1, retry: { retries: 3, initialDelayMs: 100, maxDelayMs: 250 } });
    const err = await r.done.then(() => undefined, (e: unknown) => e);
    expect(err).to.be.instanceOf(RuneError).with.property('code', 'UNAVAILABLE');
    expect((err as Error).message).to.include('gave up after 3 reconnect attempts');
    expect(r.retries.map((x) => x.delayMs)).to.deep.equal([100, 200, 250]);
  });

  it('relists when the revision is too old (OUT_OF_RANGE), then watches from the list revision', async () => {
    const r = run([[new RuneError('OUT_OF_RANGE', 'too old')], [msg([ev(51)])]], { stopAfter: 1 });
    await r.done;
    expect(r.relists).to.deep.equal([50]);
    expect(r.calls).to.deep.equal([10, 50]);
    expect(r.seen).to.deep.equal([51]);
  });

  it('treats a canceled notice like the matching error', async () => {
    const r = run([[msg([], { canceled: [{ watchId: 1, code: 'RESOURCE_EXHAUSTED', message: 'fell behind', compactRevision: 0 }] })], [msg([ev(11)])]], { stopAfter: 1 });
    await r.done;
    expect(r.calls).to.deep.equal([10, 10]);
  });

  it('fails at once on a permanent error', async () => {
    const r = run([[new RuneError('PERMISSION_DENIED', 'no watch on services')]], { stopAfter: 1 });
    const err = await r.done.then(() => undefined, (e: unknown) => e);
    expect(err).to.be.instanceOf(RuneError).with.property('code', 'PERMISSION_DENIED');
    expect(r.retries).to.deep.equal([]);
  });
});
