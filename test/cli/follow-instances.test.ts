import { expect } from 'chai';
import { RuneError } from '../../shared/errors.js';
import { Instance } from '../../shared/gen/rune/v1/instance.js';
import type { ListInstancesRequest } from '../../shared/gen/rune/v1/instance_service.js';
import type { DeepPartial } from '../../shared/gen/rune/v1/instance_service.js';
import { EventType, type WatchResponse } from '../../shared/gen/rune/v1/watch_service.js';
import { followInstances, listAllInstances, type FollowInstancesOptions } from '../../client/api/follow-instances.js';
import { listAll } from '../../client/api/follow-watch.js';
import { backoffDelay } from '../../client/api/retry-policy.js';

const inst = (name: string) => Instance.fromPartial({ metadata: { name, namespace: 'default' }, spec: { service: 'web' } });
const msg = (revision: number, name = 'web-a'): WatchResponse => ({
  events: [{ type: EventType.EVENT_TYPE_MODIFIED, revision, kind: 'instances', instance: inst(name), watchIds: [] }],
  created: [],
  canceled: [],
  revision,
});

describe('followInstances (the shared follow logic bound to instances)', () => {
  it('resumes after UNAVAILABLE from the last revision, relists on OUT_OF_RANGE with the same filter', async () => {
    const watchCalls: number[] = [];
    const listCalls: Array<DeepPartial<ListInstancesRequest>> = [];
    const scripts: Array<Array<WatchResponse | RuneError>> = [[msg(11), new RuneError('UNAVAILABLE', 'gone')], [new RuneError('OUT_OF_RANGE', 'too old')], [msg(41, 'web-b')]];
    const stop = new AbortController();
    const seen: string[] = [];
    const relisted: number[] = [];
    const client: FollowInstancesOptions['client'] = {
      async listInstances(request) {
        listCalls.push(request);
        return { instances: [inst('web-a')], listMeta: { revision: 40, continueToken: '' } };
      },
      watchInstances(request) {
        watchCalls.push(request.fromRevision ?? 0);
        const script = scripts.shift() ?? [];
        return (async function* () {
          for (const step of script) {
            if (step instanceof RuneError) throw step;
            yield step;
          }
          if (!stop.signal.aborted) await new Promise<void>((resolve) => stop.signal.addEventListener('abort', () => resolve(), { once: true }));
        })();
      },
    };
    await followInstances({
      client,
      namespace: 'default',
      filter: { service: 'web' },
      fromRevision: 10,
      signal: stop.signal,
      sleep: async () => undefined,
      onEvent: (e) => {
        seen.push(`${e.revision}:${e.instance?.metadata?.name}`);
        if (seen.length === 2) stop.abort();
      },
      onRelist: (items, revision) => relisted.push(revision, items.length),
    });
    expect(seen).to.deep.equal(['11:web-a', '41:web-b']);
    expect(watchCalls).to.deep.equal([10, 11, 40]);
    expect(relisted).to.deep.equal([40, 1]);
    expect(listCalls[0]).to.deep.include({ namespace: 'default', service: 'web' });
  });

  it('lists every page and keeps the first page revision', async () => {
    const pages: Record<string, { instances: Instance[]; listMeta: { revision: number; continueToken: string } }> = {
      '': { instances: [inst('a')], listMeta: { revision: 7, continueToken: 'p2' } },
      p2: { instances: [inst('b')], listMeta: { revision: 9, continueToken: '' } },
    };
    const listed = await listAllInstances({ listInstances: async (r) => pages[r.options?.continueToken ?? '']! }, '*');
    expect(listed.instances.map((i) => i.metadata?.name)).to.deep.equal(['a', 'b']);
    expect(listed.revision).to.equal(7);
    expect(await listAll(async () => ({ items: [] }))).to.deep.equal({ items: [], revision: 0 });
  });

  it('backs off exponentially up to the cap', () => {
    const policy = { retries: 6, initialDelayMs: 500, maxDelayMs: 8000 };
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(policy, n))).to.deep.equal([500, 1000, 2000, 4000, 8000, 8000]);
  });
});
