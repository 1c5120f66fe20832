import { expect } from 'chai';
import { RuneError } from '../../shared/errors.js';
import type { LogLine, StreamLogsRequest, StreamLogsResponse } from '../../shared/gen/rune/v1/log_service.js';
import type { DeepPartial } from '../../shared/gen/rune/v1/log_service.js';
import { followLogs, type FollowLogsOptions } from '../../client/api/follow-logs.js';
import { parseTail } from '../../client/cli/commands/logs.js';
import { UsageError } from '../../client/cli/global-options.js';
import { LogLineFormatter } from '../../client/cli/output/log-line-formatter.js';
import { parseDuration, parseSince } from '../../client/cli/parse-time.js';

const now = new Date('2025-01-01T12:00:00Z');
const at = (second: number) => new Date(now.getTime() + second * 1000);
const line = (instance: string, text: string, second = 0): LogLine => ({ instance, text, time: at(second) });

describe('--since and durations', () => {
  const durations: Array<[string, number]> = [['90s', 90_000], ['5m', 300_000], ['1h30m', 5_400_000], ['1.5h', 5_400_000], ['2d', 172_800_000], ['500ms', 500], ['1m30s', 90_000]];
  for (const [text, ms] of durations) it(`duration ${text} → ${ms} ms`, () => expect(parseDuration(text, { flag: '--x' })).to.equal(ms));

  it('a bare number counts as seconds only where allowed', () => {
    expect(parseDuration('120', { flag: '--timeout-wait', bareSeconds: true })).to.equal(120_000);
    expect(() => parseDuration('120', { flag: '--since' })).to.throw(UsageError, '--since: "120" is not a duration');
  });

  const sinces: Array<[string, string]> = [
    ['5m', '2025-01-01T11:55:00.000Z'],
    ['1h30m', '2025-01-01T10:30:00.000Z'],
    ['2025-01-01T10:00:00Z', '2025-01-01T10:00:00.000Z'],
    ['2025-01-01T10:00:00.250Z', '2025-01-01T10:00:00.250Z'],
    ['2025-01-01T12:00:00+02:00', '2025-01-01T10:00:00.000Z'],
    ['2025-01-01t10:00:00z', '2025-01-01T10:00:00.000Z'],
  ];
  for (const [text, iso] of sinces) it(`--since ${text} → ${iso}`, () => expect(parseSince(text, now).toISOString()).to.equal(iso));

  for (const bad of ['5', '5x', 'yesterday', '2025-01-01', '2025-01-01T10:00:00', '2025-13-01T00:00:00Z', '-5m', '']) {
    it(`--since "${bad}" is a usage error`, () => expect(() => parseSince(bad, now)).to.throw(UsageError, '--since: '));
  }
});

describe('--tail', () => {
  const cases: Array<[string | undefined, number]> = [[undefined, 0], ['all', 0], ['-1', 0], ['0', -1], ['10', 10]];
  for (const [text, tail] of cases) it(`--tail ${text} → StreamLogs tail ${tail}`, () => expect(parseTail(text)).to.equal(tail));
  for (const bad of ['x', '-2', '1.5']) it(`--tail ${bad} is a usage error`, () => expect(() => parseTail(bad)).to.throw(UsageError, '--tail: '));
});

describe('log line prefixes and timestamps', () => {
  const print = (formatter: LogLineFormatter, lines: LogLine[]) => lines.map((l) => formatter.format(l)).join('');

  it('always: [instance] before every line (a service with several instances)', () => {
    expect(print(new LogLineFormatter({ prefix: 'always', timestamps: false }), [line('web-a', 'one'), line('web-b', 'two')])).to.equal('[web-a] one\n[web-b] two\n');
  });

  it('never: the bare text (one instance, or --no-prefix)', () => {
    expect(print(new LogLineFormatter({ prefix: 'never', timestamps: false }), [line('web-a', 'one'), line('web-b', 'two')])).to.equal('one\ntwo\n');
  });

  it('auto: no prefix while one instance logs, prefixes from the second instance on', () => {
    const formatter = new LogLineFormatter({ prefix: 'auto', timestamps: false });
    expect(print(formatter, [line('web-a', 'one'), line('web-a', 'two'), line('web-b', 'three'), line('web-a', 'four')])).to.equal('one\ntwo\n[web-b] three\n[web-a] four\n');
  });

  it('--timestamps: the RFC 3339 time after the prefix', () => {
    expect(print(new LogLineFormatter({ prefix: 'always', timestamps: true }), [line('web-a', 'up', 1)])).to.equal('[web-a] 2025-01-01T12:00:01.000Z up\n');
    expect(print(new LogLineFormatter({ prefix: 'never', timestamps: true }), [line('web-a', 'up', 1)])).to.equal('2025-01-01T12:00:01.000Z up\n');
  });

  it('colour: one colour per instance, on the prefix only', () => {
    const out = print(new LogLineFormatter({ prefix: 'always', timestamps: false, color: true }), [line('a', 'x'), line('b', 'y'), line('a', 'z')]);
    expect(out).to.equal('\x1b[36m[a]\x1b[0m x\n\x1b[33m[b]\x1b[0m y\n\x1b[36m[a]\x1b[0m z\n');
  });

  it('-o json: one {instance, text, time} per line', () => {
    const out = print(new LogLineFormatter({ prefix: 'always', timestamps: false, json: true }), [line('web-a', 'hi', 2)]);
    expect(JSON.parse(out)).to.deep.equal({ instance: 'web-a', text: 'hi', time: '2025-01-01T12:00:02.000Z' });
  });
});

describe('followLogs', () => {
  type Step = LogLine[] | RuneError;
  function fake(scripts: Step[][]) {
    const requests: Array<DeepPartial<StreamLogsRequest>> = [];
    const client: FollowLogsOptions['client'] = {
      streamLogs(request) {
        requests.push(request);
        const script = scripts.shift() ?? [];
        return (async function* (): AsyncGenerator<StreamLogsResponse> {
          for (const step of script) {
            if (step instanceof RuneError) throw step;
            yield { lines: step };
          }
        })();
      },
    };
    return { client, requests };
  }
  const run = async (scripts: Step[][], follow = true) => {
    const { client, requests } = fake(scripts);
    const printed: string[] = [];
    const retries: Array<string | undefined> = [];
    const done = followLogs({
      client,
      request: { namespace: 'default', target: 'web', follow, tail: 10 },
      sleep: async () => undefined,
      onLines: (lines) => void printed.push(...lines.map((l) => `${l.instance}:${l.text}`)),
      onRetry: (_e, _attempt, _delay, since) => retries.push(since?.toISOString()),
    });
    return { done, printed, requests, retries };
  };

  it('without follow: prints and ends with the stream', async () => {
    const r = await run([[[line('a', '1'), line('a', '2')]]], false);
    await r.done;
    expect(r.printed).to.deep.equal(['a:1', 'a:2']);
    expect(r.requests).to.deep.equal([{ namespace: 'default', target: 'web', follow: false, tail: 10 }]);
  });

  it('reconnects after UNAVAILABLE with since = the last line time, all lines since, no repeats', async () => {
    const r = await run([
      [[line('a', 'one', 1), line('b', 'two', 2), line('a', 'three', 2)], new RuneError('UNAVAILABLE', 'runed went away')],
      [[line('a', 'one', 1), line('b', 'two', 2), line('a', 'three', 2), line('a', 'four', 2), line('b', 'five', 3)]],
    ]);
    await r.done;
    expect(r.printed).to.deep.equal(['a:one', 'b:two', 'a:three', 'a:four', 'b:five']);
    expect(r.requests[1]).to.deep.include({ follow: true, tail: 0, since: at(2) });
    expect(r.retries).to.deep.equal([at(2).toISOString()]);
  });

  it('keeps a line repeated at the same time on the first stream', async () => {
    const r = await run([[[line('a', 'tick', 1), line('a', 'tick', 1)]]]);
    await r.done;
    expect(r.printed).to.deep.equal(['a:tick', 'a:tick']);
  });

  it('with nothing printed yet, reconnects with the original request', async () => {
    const r = await run([[new RuneError('UNAVAILABLE', 'x')], [[line('a', '1')]]]);
    await r.done;
    expect(r.requests[1]).to.deep.equal(r.requests[0]);
    expect(r.printed).to.deep.equal(['a:1']);
  });

  it('does not reconnect without follow, or on other codes', async () => {
    const once = await run([[new RuneError('UNAVAILABLE', 'x')]], false);
    expect(await once.done.then(() => 'ok', (e: RuneError) => e.code)).to.equal('UNAVAILABLE');
    const notFound = await run([[new RuneError('NOT_FOUND', 'no service or instance "web"')]]);
    expect(await notFound.done.then(() => 'ok', (e: RuneError) => e.code)).to.equal('NOT_FOUND');
    expect(notFound.requests).to.have.length(1);
  });

  it('gives up after the retry budget', async () => {
    const down = (): Step[] => [new RuneError('UNAVAILABLE', 'down')];
    const { client } = fake([down(), down(), down()]);
    const err = await followLogs({ client, request: { namespace: 'd', target: 'w', follow: true, tail: 0 }, onLines: () => undefined, sleep: async () => undefined, retry: { retries: 2 } }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).to.include('gave up after 2 reconnect attempts');
  });

  it('ends quietly when aborted (Ctrl-C)', async () => {
    const stop = new AbortController();
    const client: FollowLogsOptions['client'] = {
      streamLogs: (_request, options) =>
        (async function* (): AsyncGenerator<StreamLogsResponse> {
          yield { lines: [line('a', '1')] };
          await new Promise<void>((resolve) => options?.signal?.addEventListener('abort', () => resolve(), { once: true }));
        })(),
    };
    const printed: string[] = [];
    const done = followLogs({ client, request: { namespace: 'd', target: 'w', follow: true, tail: 0 }, signal: stop.signal, onLines: (l) => void printed.push(...l.map((x) => x.text)) });
    await new Promise((r) => setTimeout(r, 10));
    stop.abort();
    await done;
    expect(printed).to.deep.equal(['1']);
  });
});
