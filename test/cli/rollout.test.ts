import { expect } from 'chai';
import { RuneError } from '../../shared/errors.js';
import { Instance } from '../../shared/gen/rune/v1/instance.js';
import { Service } from '../../shared/gen/rune/v1/service.js';
import { EventType, type WatchResponse } from '../../shared/gen/rune/v1/watch_service.js';
import { shouldWait } from '../../client/cli/commands/cast.js';
import { UsageError } from '../../client/cli/global-options.js';
import { culpritDetails, rolloutProblem } from '../../client/cli/output/rollout-report.js';
import { RolloutView, rolloutLine } from '../../client/cli/output/rollout-view.js';
import { rolloutState, type RolloutTarget } from '../../client/cli/rollout-state.js';
import { waitForRollout, type WaitForRolloutOptions } from '../../client/cli/wait-for-rollout.js';

interface InstanceSpecPatch {
  service?: string;
  namespace?: string;
  generation?: number;
  hash?: string;
  phase?: string;
  reason?: string;
  message?: string;
  ready?: boolean;
  deleting?: boolean;
}

/** An instance of service `web` (generation 2, template "h2", running and ready) unless patched. */
function anInstance(name: string, p: InstanceSpecPatch = {}): Instance {
  return Instance.fromPartial({
    metadata: { name, namespace: p.namespace ?? 'default', deletionTimestamp: p.deleting ? new Date(0) : undefined },
    spec: { service: p.service ?? 'web', serviceGeneration: p.generation ?? 2, templateHash: p.hash ?? `h${p.generation ?? 2}` },
    status: { phase: p.phase ?? 'running', reason: p.reason ?? '', message: p.message ?? '', ready: p.ready ?? true },
  });
}

/** Service `web` whose status observed `observed` with `updated` instances on the current template. */
function aService(observed: number, updated: number, name = 'web'): Service {
  return Service.fromPartial({ metadata: { name, namespace: 'default', generation: observed }, status: { observedGeneration: observed, updatedInstances: updated } });
}

const web = (scale: number, generation = 2): RolloutTarget => ({ namespace: 'default', name: 'web', generation, scale });

describe('rolloutState (is the cast converged?)', () => {
  interface Case {
    name: string;
    targets: RolloutTarget[];
    instances: Instance[];
    services?: Service[];
    converged: boolean;
    counts?: Array<[ready: number, starting: number, old: number]>;
    failure?: string;
  }
  const cases: Case[] = [
    { name: 'all new instances ready', targets: [web(2)], instances: [anInstance('a'), anInstance('b')], converged: true, counts: [[2, 0, 0]] },
    { name: 'one still starting', targets: [web(3)], instances: [anInstance('a'), anInstance('b'), anInstance('c', { phase: 'starting', ready: false })], converged: false, counts: [[2, 1, 0]] },
    { name: 'too few instances yet', targets: [web(3)], instances: [anInstance('a'), anInstance('b')], converged: false, counts: [[2, 0, 0]] },
    {
      name: 'rolling update: an old instance remains',
      targets: [web(2, 3)],
      instances: [anInstance('a', { generation: 3 }), anInstance('b', { generation: 3 }), anInstance('old', { generation: 2 })],
      converged: false,
      counts: [[2, 0, 1]],
    },
    { name: 'old instances only (nothing rolled yet)', targets: [web(2, 3)], instances: [anInstance('a'), anInstance('b')], converged: false, counts: [[0, 0, 2]] },
    { name: 'a newer generation than cast counts', targets: [web(1, 2)], instances: [anInstance('a', { generation: 5 })], converged: true },
    { name: 'an instance being deleted is still old', targets: [web(1)], instances: [anInstance('a'), anInstance('b', { deleting: true })], converged: false, counts: [[1, 0, 1]] },
    {
      name: 'ready but stopping does not count as ready',
      targets: [web(1)],
      instances: [anInstance('a', { phase: 'stopping', ready: true })],
      converged: false,
      counts: [[0, 1, 0]],
    },
    {
      name: 'scale-up: older instances sharing the new template count',
      targets: [web(3, 3)],
      instances: [anInstance('a', { generation: 2, hash: 'T' }), anInstance('b', { generation: 2, hash: 'T' }), anInstance('c', { generation: 3, hash: 'T' })],
      converged: true,
    },
    {
      name: 'scale-down: runed status vouches once it observed the generation',
      targets: [web(1, 3)],
      instances: [anInstance('a', { generation: 2 })],
      services: [aService(3, 1)],
      converged: true,
    },
    {
      name: 'scale-down: a status from before the cast does not vouch',
      targets: [web(1, 3)],
      instances: [anInstance('a', { generation: 2 })],
      services: [aService(2, 1)],
      converged: false,
      counts: [[0, 0, 1]],
    },
    {
      name: 'scale-down: extra instances remain',
      targets: [web(1, 3)],
      instances: [anInstance('a', { generation: 2 }), anInstance('b', { generation: 2, deleting: true })],
      services: [aService(3, 1)],
      converged: false,
      counts: [[1, 0, 1]],
    },
    { name: 'scale 0 with no instances', targets: [web(0)], instances: [], converged: true, counts: [[0, 0, 0]] },
    { name: 'scale 0 with an instance left', targets: [web(0)], instances: [anInstance('a')], converged: false },
    {
      name: 'instances of other services and namespaces are ignored',
      targets: [web(1)],
      instances: [anInstance('a'), anInstance('x', { service: 'db', phase: 'failed' }), anInstance('y', { namespace: 'other', phase: 'failed' })],
      converged: true,
    },
    {
      name: 'every target must be done',
      targets: [web(1), { namespace: 'default', name: 'db', generation: 1, scale: 1 }],
      instances: [anInstance('a'), anInstance('d', { service: 'db', generation: 1, ready: false, phase: 'starting' })],
      converged: false,
      counts: [[1, 0, 0], [0, 1, 0]],
    },
    { name: 'a failed new instance fails the rollout', targets: [web(2)], instances: [anInstance('a'), anInstance('b', { phase: 'failed', reason: 'StartFailed', ready: false })], converged: false, failure: 'b' },
    { name: 'a crash-looping new instance fails the rollout', targets: [web(1)], instances: [anInstance('a', { phase: 'exited', reason: 'CrashLoopBackOff', ready: false })], converged: false, failure: 'a' },
    { name: 'a crash-looping old instance does not', targets: [web(1, 3)], instances: [anInstance('a', { generation: 2, phase: 'exited', reason: 'CrashLoopBackOff', ready: false })], converged: false },
    { name: 'an exited new instance waiting to restart is not (yet) a failure', targets: [web(1)], instances: [anInstance('a', { phase: 'exited', ready: false })], converged: false, counts: [[0, 1, 0]] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const state = rolloutState(c.targets, c.instances, c.services);
      expect(state.converged, 'converged').to.equal(c.converged);
      if (c.counts) expect(state.services.map((s) => [s.ready, s.starting, s.old])).to.deep.equal(c.counts);
      expect(state.failure?.instance.metadata?.name, 'failure').to.equal(c.failure);
    });
  }
});

describe('rollout progress view', () => {
  const state = (ready: number, starting: number, old = 0, db = 1) =>
    rolloutState(
      [web(3), { namespace: 'default', name: 'database', generation: 1, scale: 1 }],
      [
        ...Array.from({ length: ready }, (_, i) => anInstance(`r${i}`)),
        ...Array.from({ length: starting }, (_, i) => anInstance(`s${i}`, { phase: 'starting', ready: false })),
        ...Array.from({ length: old }, (_, i) => anInstance(`o${i}`, { generation: 1, hash: 'old' })),
        ...Array.from({ length: db }, (_, i) => anInstance(`d${i}`, { service: 'database', generation: 1 })),
      ],
    );

  it('one line per service: name, ready/scale, what else is there', () => {
    const s = state(2, 1, 1).services[0]!;
    expect(rolloutLine(s, 'web')).to.equal('web  2/3 ready  (1 starting, 1 old)');
    expect(rolloutLine(state(3, 0).services[0]!, 'web')).to.equal('web  3/3 ready');
  });

  it('lines mode (not a terminal): prints a service again only when its counts change', () => {
    const view = new RolloutView('lines');
    expect(view.render(state(1, 2))).to.equal('web       1/3 ready  (2 starting)\ndatabase  1/1 ready\n');
    expect(view.render(state(1, 2))).to.equal('');
    expect(view.render(state(2, 1))).to.equal('web       2/3 ready  (1 starting)\n');
  });

  it('redraw mode (terminal): redraws the block in place', () => {
    const view = new RolloutView('redraw');
    expect(view.render(state(1, 2))).to.equal('\r\x1b[2Kweb       1/3 ready  (2 starting)\n\r\x1b[2Kdatabase  1/1 ready\n');
    expect(view.render(state(3, 0))).to.equal('\x1b[2A\r\x1b[2Kweb       3/3 ready\n\r\x1b[2Kdatabase  1/1 ready\n');
  });

  it('names are namespace-qualified when the cast spans namespaces', () => {
    const s = rolloutState([web(1), { namespace: 'prod', name: 'web', generation: 2, scale: 1 }], [anInstance('a')]);
    expect(new RolloutView('lines').render(s)).to.equal('default/web  1/1 ready\nprod/web     0/1 ready\n');
  });
});

describe('rollout failure report', () => {
  it('a failed instance: the message names it; details carry reason, message and logs', () => {
    const broken = anInstance('web-x', { phase: 'exited', reason: 'CrashLoopBackOff', message: 'exit code 1', ready: false });
    const state = rolloutState([web(1)], [broken]);
    const problem = rolloutProblem(state, state.failure, 120_000);
    expect(problem.message).to.equal('service/web did not roll out: instance web-x is exited (CrashLoopBackOff): exit code 1');
    expect(problem.culprits.map((c) => c.instance.metadata?.name)).to.deep.equal(['web-x']);
    expect(culpritDetails(broken, ['boot', 'Error: no such file'])).to.equal(
      ['  instance:  web-x', '  status:    exited (CrashLoopBackOff)', '  reason:    CrashLoopBackOff', '  message:   exit code 1', '  last 2 log lines:', '    boot', '    Error: no such file', ''].join('\n'),
    );
    expect(culpritDetails(broken, new Error('UNIMPLEMENTED'))).to.match(/\(logs unavailable: UNIMPLEMENTED\)\n$/);
  });

  it('a timeout: what was pending, and (a few of) the instances that were not ready', () => {
    const instances = [anInstance('a'), ...['b', 'c', 'd', 'e'].map((n) => anInstance(n, { phase: 'starting', ready: false, reason: 'WaitingForDependencies' }))];
    const state = rolloutState([web(5)], instances);
    const problem = rolloutProblem(state, undefined, 120_000);
    expect(problem.message).to.equal('timed out after 2m waiting for service/web 1/5 ready (4 starting)');
    expect(problem.culprits.map((c) => c.instance.metadata?.name)).to.deep.equal(['b', 'c', 'd']);
  });
});

describe('cast --wait / --detach', () => {
  const cases: Array<[Partial<{ wait: boolean; detach: boolean; dryRun: boolean }>, boolean, boolean]> = [
    [{}, true, true],
    [{}, false, false],
    [{ wait: true }, false, true],
    [{ detach: true }, true, false],
    [{ wait: false }, true, false],
    [{ dryRun: true }, true, false],
  ];
  for (const [flags, tty, wait] of cases) {
    it(`${JSON.stringify(flags)} on ${tty ? 'a terminal' : 'a pipe'} → ${wait ? 'wait' : 'no wait'}`, () => expect(shouldWait({ dryRun: false, ...flags }, tty)).to.equal(wait));
  }
  it('--wait with --detach or --dry-run is a usage error', () => {
    expect(() => shouldWait({ wait: true, detach: true, dryRun: false }, true)).to.throw(UsageError);
    expect(() => shouldWait({ wait: true, dryRun: true }, true)).to.throw(UsageError);
  });
});

describe('waitForRollout', () => {
  const event = (revision: number, instance: Instance, type = EventType.EVENT_TYPE_MODIFIED): WatchResponse => ({
    events: [{ type, revision, kind: 'instances', instance, watchIds: [] }],
    created: [],
    canceled: [],
    revision,
  });

  /** A client listing `initial` and then playing `events` on the instance watch (services: none). */
  function fakeClient(initial: Instance[], events: Array<WatchResponse | RuneError>, delayMs = 1): WaitForRolloutOptions['client'] {
    const hang = (signal?: AbortSignal) => new Promise<void>((resolve) => (signal?.aborted ? resolve() : signal?.addEventListener('abort', () => resolve(), { once: true })));
    return {
      listInstances: async () => ({ instances: initial, listMeta: { revision: 10, continueToken: '' } }),
      listServices: async () => ({ services: [], listMeta: { revision: 10, continueToken: '' } }),
      watchInstances: (_r, options) =>
        (async function* () {
          for (const step of events) {
            await new Promise((r) => setTimeout(r, delayMs));
            if (step instanceof RuneError) throw step;
            yield step;
          }
          await hang(options?.signal);
        })(),
      watchServices: (_r, options) =>
        (async function* (): AsyncGenerator<WatchResponse> {
          await hang(options?.signal);
        })(),
    };
  }

  it('converges as instances become ready, reporting progress on each change', async () => {
    const progress: string[] = [];
    const result = await waitForRollout({
      client: fakeClient([anInstance('a', { phase: 'starting', ready: false })], [event(11, anInstance('a')), event(12, anInstance('b', { phase: 'starting', ready: false }), EventType.EVENT_TYPE_ADDED), event(13, anInstance('b'))]),
      targets: [web(2)],
      timeoutMs: 5000,
      settleMs: 0,
      onProgress: (s) => progress.push(rolloutLine(s.services[0]!, 'web')),
    });
    expect(result.outcome).to.equal('converged');
    expect(progress).to.deep.equal(['web  0/2 ready  (1 starting)', 'web  1/2 ready', 'web  1/2 ready  (1 starting)', 'web  2/2 ready']);
  });

  it('old instances deleted during the rollout leave the count', async () => {
    const result = await waitForRollout({
      client: fakeClient([anInstance('new', { generation: 3 }), anInstance('old', { generation: 2 })], [event(11, anInstance('old', { generation: 2 }), EventType.EVENT_TYPE_DELETED)]),
      targets: [web(1, 3)],
      timeoutMs: 5000,
      settleMs: 0,
      onProgress: () => undefined,
    });
    expect(result.outcome).to.equal('converged');
  });

  it('a convergence that falls apart within the settle time is no success (ready at start, then crashing)', async () => {
    const progress: string[] = [];
    const result = await waitForRollout({
      client: fakeClient(
        [],
        [
          event(11, anInstance('a'), EventType.EVENT_TYPE_ADDED),
          event(12, anInstance('a', { phase: 'exited', ready: false })),
          event(13, anInstance('a', { phase: 'failed', reason: 'CrashLoopBackOff', ready: false })),
        ],
        20,
      ),
      targets: [web(1)],
      timeoutMs: 5000,
      settleMs: 500,
      onProgress: (s) => progress.push(rolloutLine(s.services[0]!, 'web')),
    });
    expect(result.outcome).to.equal('failed');
    expect(progress).to.deep.equal(['web  0/1 ready', 'web  1/1 ready', 'web  0/1 ready  (1 starting)']);
  });

  it('succeeds once the convergence held for the settle time', async () => {
    const started = Date.now();
    const result = await waitForRollout({ client: fakeClient([anInstance('a')], []), targets: [web(1)], timeoutMs: 5000, settleMs: 100, onProgress: () => undefined });
    expect(result.outcome).to.equal('converged');
    expect(Date.now() - started).to.be.at.least(90);
  });

  it('fails on a crash-looping new instance', async () => {
    const result = await waitForRollout({
      client: fakeClient([], [event(11, anInstance('a', { phase: 'exited', reason: 'CrashLoopBackOff', ready: false }), EventType.EVENT_TYPE_ADDED)]),
      targets: [web(1)],
      timeoutMs: 5000,
      onProgress: () => undefined,
    });
    expect(result.outcome).to.equal('failed');
    expect(result.outcome === 'failed' && result.failure.instance.metadata?.name).to.equal('a');
  });

  it('times out with the last state', async () => {
    const result = await waitForRollout({ client: fakeClient([anInstance('a', { phase: 'starting', ready: false })], []), targets: [web(1)], timeoutMs: 50, onProgress: () => undefined });
    expect(result.outcome).to.equal('timeout');
    expect(result.state.services[0]!.starting).to.equal(1);
  });

  it('stops when interrupted', async () => {
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 20);
    const result = await waitForRollout({ client: fakeClient([], []), targets: [web(1)], timeoutMs: 5000, signal: stop.signal, onProgress: () => undefined });
    expect(result.outcome).to.equal('interrupted');
  });

  it('rejects on a permanent watch error', async () => {
    const err = await waitForRollout({ client: fakeClient([], [new RuneError('PERMISSION_DENIED', 'no watch on instances')]), targets: [web(1)], timeoutMs: 5000, onProgress: () => undefined }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(RuneError).with.property('code', 'PERMISSION_DENIED');
  });
});
