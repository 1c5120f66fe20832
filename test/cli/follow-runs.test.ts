import { expect } from 'chai';
import { RuneError } from '../../shared/errors.js';
import type { Run, RunEvent } from '../../shared/gen/rune/v1/run.js';
import type { WatchRunsRequest, WatchRunsResponse } from '../../shared/gen/rune/v1/run_service.js';
import { followRuns, type FollowRunsOptions } from '../../client/api/follow-runs.js';
import { runEventLine } from '../../client/cli/output/run-printers.js';
import { waitForRun } from '../../client/cli/wait-for-run.js';
import { aMessage, anEvent, aRun } from './run-fixtures.js';

type Step = WatchRunsResponse | RuneError | 'end';
type Request = Pick<WatchRunsRequest, 'fromRevision' | 'includeHistory'>;

/**
 * A fake client: each watchRuns call plays the next script (then hangs until aborted); records
 * what each call asked for. `listRuns` answers relists.
 */
function scriptedClient(scripts: Step[][], listed: { runs: Run[]; revision: number } = { runs: [], revision: 0 }) {
  const requests: Request[] = [];
  const client: FollowRunsOptions['client'] = {
    async listRuns() {
      return { runs: listed.runs, listMeta: { revision: listed.revision, continueToken: '' } };
    },
    watchRuns(request, options) {
      requests.push({ fromRevision: request.fromRevision ?? 0, includeHistory: request.includeHistory ?? 0 });
      const script = scripts.shift();
      return (async function* () {
        for (const step of script ?? []) {
          if (step === 'end') return;
          if (step instanceof RuneError) throw step;
          yield step;
        }
        if (options?.signal?.aborted) return;
        await new Promise<void>((resolve) => options?.signal?.addEventListener('abort', () => resolve(), { once: true }));
      })();
    },
  };
  return { client, requests };
}

const ev = (revision: number, id = '01a', type = 'run:updated') => anEvent(revision, type, aRun({ id }));
const gone = () => new RuneError('UNAVAILABLE', 'connection refused');

/** Follows until `stopAfter` events were delivered; collects revisions, relists and retries. */
async function follow(scripts: Step[][], options: Partial<FollowRunsOptions> & { stopAfter: number; listed?: { runs: Run[]; revision: number } }) {
  const fake = scriptedClient(scripts, options.listed);
  const seen: number[] = [];
  const relists: number[] = [];
  const retries: number[] = [];
  const stop = new AbortController();
  await followRuns({
    client: fake.client,
    namespace: 'default',
    signal: stop.signal,
    sleep: async () => undefined,
    onEvent: (event) => {
      seen.push(event.revision);
      if (seen.length >= options.stopAfter) stop.abort();
    },
    onRelist: (_runs, revision) => relists.push(revision),
    onRetry: (_error, _attempt, _delay, from) => retries.push(from),
    ...options,
  });
  return { seen, relists, retries, requests: fake.requests };
}

describe('followRuns: resumable run events', () => {
  it('asks for the history first, then resumes after the last revision seen with no history', async () => {
    const r = await follow([[aMessage([ev(3), ev(4)], { historyEnd: true }), aMessage([ev(7)]), gone()], [aMessage([ev(8)])]], { history: 5, stopAfter: 4 });
    expect(r.requests).to.deep.equal([
      { fromRevision: 0, includeHistory: 5 },
      { fromRevision: 7, includeHistory: 0 },
    ]);
    expect(r.seen).to.deep.equal([3, 4, 7, 8]);
    expect(r.retries).to.deep.equal([7]);
  });

  it('resumes from a progress mark past the last event (an idle stream moved on)', async () => {
    const r = await follow([[aMessage([ev(5)]), aMessage([], { revision: 40 }), gone()], [aMessage([ev(41)])]], { stopAfter: 2 });
    expect(r.requests.map((q) => q.fromRevision)).to.deep.equal([0, 40]);
    expect(r.seen).to.deep.equal([5, 41]);
  });

  it('starts after fromRevision when given, and never prints an event replayed after a reconnect', async () => {
    const r = await follow([[aMessage([ev(11), ev(12)]), 'end'], [aMessage([ev(11), ev(12), ev(13)])]], { fromRevision: 10, history: 50, stopAfter: 3 });
    expect(r.requests).to.deep.equal([
      { fromRevision: 10, includeHistory: 0 },
      { fromRevision: 12, includeHistory: 0 },
    ]);
    expect(r.seen).to.deep.equal([11, 12, 13]);
  });

  it('a stream that fails before any message is reopened as the first one was (nothing was delivered)', async () => {
    const r = await follow([[gone()], [gone()], [aMessage([ev(2)], { historyEnd: true })]], { history: 3, stopAfter: 1 });
    expect(r.requests).to.deep.equal([
      { fromRevision: 0, includeHistory: 3 },
      { fromRevision: 0, includeHistory: 3 },
      { fromRevision: 0, includeHistory: 3 },
    ]);
    expect(r.seen).to.deep.equal([2]);
  });

  it('relists when the revision is no longer retained, then follows from the list revision', async () => {
    const r = await follow([[aMessage([ev(5)]), gone()], [new RuneError('OUT_OF_RANGE', 'revision 5 is too old')], [aMessage([ev(101)])]], {
      stopAfter: 2,
      listed: { runs: [aRun({ id: '01z' })], revision: 100 },
    });
    expect(r.relists).to.deep.equal([100]);
    expect(r.requests.map((q) => q.fromRevision)).to.deep.equal([0, 5, 100]);
    expect(r.seen).to.deep.equal([5, 101]);
  });

  it('gives up on a permanent error at once', async () => {
    const fake = scriptedClient([[new RuneError('UNIMPLEMENTED', 'unknown method WatchRuns')]]);
    let err: unknown;
    await followRuns({ client: fake.client, namespace: 'default', sleep: async () => undefined, onEvent: () => undefined }).catch((e: unknown) => (err = e));
    expect(err).to.be.instanceOf(RuneError).with.property('code', 'UNIMPLEMENTED');
    expect(fake.requests).to.have.length(1);
  });

  it('gives up after the retry budget of consecutive failures', async () => {
    const fake = scriptedClient(Array.from({ length: 10 }, () => [gone()]));
    let err: unknown;
    await followRuns({ client: fake.client, namespace: 'default', retry: { retries: 2 }, sleep: async () => undefined, onEvent: () => undefined }).catch((e: unknown) => (err = e));
    expect(err).to.be.instanceOf(RuneError).with.property('code', 'UNAVAILABLE');
    expect((err as Error).message).to.include('gave up after 2 reconnect attempts');
    expect(fake.requests).to.have.length(3);
  });

  it('across many breaks (runed restarts) the NDJSON output has every revision exactly once, in order', async () => {
    // An honest server with an event log 1..60: each stream sends what follows the requested
    // revision in batches of up to 4, repeating the last revision it was asked from half the
    // time (an overlap), and breaks after a number of messages that varies by stream.
    const log = Array.from({ length: 60 }, (_, i) => ev(i + 1, `01${String(i % 7)}`, i % 3 === 0 ? 'run:progress' : 'run:updated'));
    const requests: Request[] = [];
    let streams = 0;
    const client: FollowRunsOptions['client'] = {
      listRuns: async () => ({ runs: [], listMeta: { revision: 0, continueToken: '' } }),
      watchRuns(request, options) {
        const from = request.fromRevision ?? 0;
        requests.push({ fromRevision: from, includeHistory: request.includeHistory ?? 0 });
        const n = streams++;
        const start = from === 0 ? Math.max(0, 20 - (request.includeHistory ?? 0)) : from - (n % 2 === 1 && from > 0 ? 1 : 0);
        const pending = log.slice(start);
        const messages: WatchRunsResponse[] = [];
        for (let i = 0; i < pending.length; i += 4) messages.push(aMessage(pending.slice(i, i + 4)));
        const breakAfter = 1 + (n % 3);
        return (async function* () {
          for (const [i, message] of messages.entries()) {
            if (i === breakAfter) throw new RuneError(n % 2 === 0 ? 'UNAVAILABLE' : 'INTERNAL', 'runed restarted');
            yield message;
          }
          if (options?.signal?.aborted) return;
          await new Promise<void>((resolve) => options?.signal?.addEventListener('abort', () => resolve(), { once: true }));
        })();
      },
    };
    const lines: string[] = [];
    const stop = new AbortController();
    await followRuns({
      client,
      namespace: 'default',
      history: 20,
      signal: stop.signal,
      sleep: async () => undefined,
      onEvent: (event: RunEvent) => {
        lines.push(runEventLine(event));
        if (event.revision === 60) stop.abort();
      },
    });
    const revisions = lines.map((line) => JSON.parse(line).revision as number);
    expect(revisions).to.deep.equal(Array.from({ length: 60 }, (_, i) => i + 1));
    expect(requests.length).to.be.greaterThan(5);
    expect(requests[0]).to.deep.equal({ fromRevision: 0, includeHistory: 20 });
    for (const [i, request] of requests.slice(1).entries()) {
      expect(request.includeHistory).to.equal(0);
      expect(request.fromRevision).to.be.greaterThan(requests[i]!.fromRevision); // each reconnect resumes further on
    }
  });
});

describe('waitForRun', () => {
  const started = aRun({ id: '01me', phase: 'pending', resourceVersion: 50 });

  it('watches its job from the run\'s revision and ends with the run\'s terminal state, ignoring other runs', async () => {
    const fake = scriptedClient([
      [aMessage([ev(51, '01me', 'run:updated'), anEvent(52, 'run:finished', aRun({ id: '01other', phase: 'failed' }))]), gone()],
      [aMessage([anEvent(53, 'run:progress', aRun({ id: '01me', phase: 'running', progress: { finished: 1, total: 2 } })), anEvent(54, 'run:finished', aRun({ id: '01me', phase: 'finished' }))])],
    ]);
    const updates: string[] = [];
    const outcome = await waitForRun({ client: fake.client, run: started, onUpdate: (run) => updates.push(run.status!.phase), sleep: async () => undefined });
    expect(outcome?.deleted).to.equal(false);
    expect(outcome?.run.status?.phase).to.equal('finished');
    expect(updates).to.deep.equal(['running', 'running', 'finished']);
    expect(fake.requests.map((q) => q.fromRevision)).to.deep.equal([50, 52]); // the first message's mark covers the other run's event too
  });

  it('reports a run deleted before it ended, and one missing from a relist', async () => {
    const deleted = await waitForRun({ client: scriptedClient([[aMessage([anEvent(51, 'run:deleted', aRun({ id: '01me', phase: 'running' }))])]]).client, run: started });
    expect(deleted?.deleted).to.equal(true);
    const relisted = await waitForRun({ client: scriptedClient([[new RuneError('OUT_OF_RANGE', 'too old')]], { runs: [], revision: 90 }).client, run: started });
    expect(relisted?.deleted).to.equal(true);
  });

  it('returns undefined when the caller stops waiting; at once for a run that already ended', async () => {
    const stop = new AbortController();
    const waiting = waitForRun({ client: scriptedClient([[aMessage([], { revision: 55 })]]).client, run: started, signal: stop.signal });
    setImmediate(() => stop.abort());
    expect(await waiting).to.equal(undefined);
    const fake = scriptedClient([]);
    const done = await waitForRun({ client: fake.client, run: aRun({ id: '01me', phase: 'cancelled' }) });
    expect(done?.run.status?.phase).to.equal('cancelled');
    expect(fake.requests).to.have.length(0);
  });
});
