/**
 * `rune cast --wait`: follows the instances (and the services' status) of the cast services
 * until rolloutState says they converged or failed, or the time runs out. The decision is
 * rollout-state.ts's; this module only keeps the watched objects current and reports.
 *
 * Watches resume across runed restarts (followInstances / followServices); a permanent watch
 * error rejects.
 */
import type { RuneError } from '../../shared/errors.js';
import type { Instance } from '../../shared/gen/rune/v1/instance.js';
import type { Service } from '../../shared/gen/rune/v1/service.js';
import { EventType, type WatchEvent } from '../../shared/gen/rune/v1/watch_service.js';
import { followInstances, listAllInstances } from '../api/follow-instances.js';
import { followServices, listAllServices } from '../api/follow-services.js';
import type { RuneClient } from '../api/rune-client.js';
import { rolloutState, type RolloutFailure, type RolloutState, type RolloutTarget } from './rollout-state.js';

export interface WaitForRolloutOptions {
  client: Pick<RuneClient, 'listInstances' | 'watchInstances' | 'listServices' | 'watchServices'>;
  targets: readonly RolloutTarget[];
  timeoutMs: number;
  /**
   * How long the targets must stay converged before the wait succeeds. An instance without a
   * readiness probe is ready the moment its process runs, and one that crashes at startup does
   * so moments later: holding on briefly turns that into a failure instead of a false success.
   * Default 2000 ms.
   */
  settleMs?: number;
  /** Called with the first state and after every change. */
  onProgress(state: RolloutState): void;
  /** Told before a watch reconnects. */
  onRetry?(error: RuneError, attempt: number, delayMs: number): void;
  /** Stops waiting (Ctrl-C): resolves with outcome `interrupted`. */
  signal?: AbortSignal;
}

export type WaitOutcome =
  | { outcome: 'converged'; state: RolloutState }
  | { outcome: 'failed'; state: RolloutState; failure: RolloutFailure }
  | { outcome: 'timeout'; state: RolloutState }
  | { outcome: 'interrupted'; state: RolloutState };

/** Waits for the targets to converge; rejects only on a permanent watch error (a RuneError). */
export async function waitForRollout(options: WaitForRolloutOptions): Promise<WaitOutcome> {
  const { client, targets } = options;
  const namespaces = [...new Set(targets.map((t) => t.namespace))];
  const wanted = (namespace: string | undefined, name: string | undefined) => targets.some((t) => t.namespace === namespace && t.name === name);
  const instances = new Map<string, Instance>();
  const services = new Map<string, Service>();
  const key = (meta: { namespace?: string; name?: string } | undefined) => `${meta?.namespace ?? ''}/${meta?.name ?? ''}`;

  const stop = new AbortController();
  const onAbort = () => stop.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  let settle!: (outcome: WaitOutcome) => void;
  const settled = new Promise<WaitOutcome>((resolve) => (settle = resolve));
  let state = rolloutState(targets, [], []);
  let last = '';
  let settling: NodeJS.Timeout | undefined;

  const evaluate = () => {
    state = rolloutState(targets, [...instances.values()], [...services.values()]);
    const fingerprint = JSON.stringify(state.services.map((s) => [s.ready, s.starting, s.old, s.done]));
    if (fingerprint !== last) {
      last = fingerprint;
      options.onProgress(state);
    }
    if (state.failure) {
      settle({ outcome: 'failed', state, failure: state.failure });
    } else if (!state.converged) {
      clearTimeout(settling); // it fell apart again: start over once it converges
      settling = undefined;
    } else if (settling === undefined) {
      const converged = state;
      settling = setTimeout(() => settle({ outcome: 'converged', state: converged }), options.settleMs ?? 2000);
    }
  };
  const replace = <T extends { metadata?: { namespace?: string; name?: string } }>(map: Map<string, T>, namespace: string, items: readonly T[], keep: (item: T) => boolean) => {
    for (const [k, item] of map) if (item.metadata?.namespace === namespace) map.delete(k);
    for (const item of items) if (keep(item)) map.set(key(item.metadata), item);
  };
  const apply = <T extends { metadata?: { namespace?: string; name?: string } }>(map: Map<string, T>, event: WatchEvent, item: T | undefined, keep: (item: T) => boolean) => {
    if (!item || !keep(item)) return;
    if (event.type === EventType.EVENT_TYPE_DELETED) map.delete(key(item.metadata));
    else map.set(key(item.metadata), item);
    evaluate();
  };
  const keepInstance = (i: Instance) => wanted(i.metadata?.namespace, i.spec?.service);
  const keepService = (s: Service) => wanted(s.metadata?.namespace, s.metadata?.name);
  const onRetry = (error: RuneError, attempt: number, delayMs: number) => options.onRetry?.(error, attempt, delayMs);

  const timer = setTimeout(() => settle({ outcome: 'timeout', state }), options.timeoutMs);
  stop.signal.addEventListener('abort', () => settle({ outcome: 'interrupted', state }), { once: true });
  try {
    const follows = namespaces.map(async (namespace) => {
      const [listedInstances, listedServices] = await Promise.all([listAllInstances(client, namespace), listAllServices(client, namespace)]);
      replace(instances, namespace, listedInstances.instances, keepInstance);
      replace(services, namespace, listedServices.services, keepService);
      return { namespace, instanceRevision: listedInstances.revision, serviceRevision: listedServices.revision };
    });
    const listed = await Promise.race([Promise.all(follows), settled]);
    if (!Array.isArray(listed)) return listed; // timed out or interrupted while listing
    evaluate();
    const watches = listed.flatMap(({ namespace, instanceRevision, serviceRevision }) => [
      followInstances({
        client,
        namespace,
        fromRevision: instanceRevision,
        signal: stop.signal,
        onEvent: (event) => apply(instances, event, event.instance, keepInstance),
        onRelist: (items) => {
          replace(instances, namespace, items, keepInstance);
          evaluate();
        },
        onRetry,
      }),
      followServices({
        client,
        namespace,
        fromRevision: serviceRevision,
        signal: stop.signal,
        onEvent: (event) => apply(services, event, event.service, keepService),
        onRelist: (items) => {
          replace(services, namespace, items, keepService);
          evaluate();
        },
        onRetry,
      }),
    ]);
    // A watch only ends early by failing: that rejects the race.
    return await Promise.race([settled, ...watches.map((w) => w.then(() => settled))]);
  } finally {
    clearTimeout(timer);
    clearTimeout(settling);
    options.signal?.removeEventListener('abort', onAbort);
    stop.abort(); // ends the watches
  }
}

/** The last `count` log lines of one instance (no follow), or the error that prevented reading them. */
export async function lastLogLines(client: Pick<RuneClient, 'streamLogs'>, namespace: string, instance: string, count: number, timeoutMs = 5000): Promise<string[] | Error> {
  const lines: string[] = [];
  try {
    for await (const message of client.streamLogs({ namespace, target: instance, tail: count, follow: false }, { signal: AbortSignal.timeout(timeoutMs) })) {
      lines.push(...message.lines.map((l) => l.text));
    }
    return lines.slice(-count);
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}
