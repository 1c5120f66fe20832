/**
 * Whether cast services have converged, computed purely from what the watches delivered: the
 * instances, and the services' status. No I/O; `rune cast --wait` calls it after every event
 * and rollout-state.test.ts drives it with tables.
 *
 * A service is done when exactly `scale` instances exist, all of them current and ready, none
 * being deleted. An instance is current when it runs the cast generation or later
 * (spec.serviceGeneration ≥ the generation the cast returned), or the same template as such an
 * instance (scaling up keeps the old instances, which share the new template), or — when the
 * service's status has observed the cast generation and counts every live instance as updated —
 * because runed says so (scaling down, or a cast that changed nothing, creates no instance that
 * could vouch for the template).
 *
 * A rollout fails when a current instance of a cast service is `failed` or crash-looping; old
 * instances failing are not the cast's doing, and are left to the rolling update to replace.
 */
import type { Instance } from '../../shared/gen/rune/v1/instance.js';
import type { Service } from '../../shared/gen/rune/v1/service.js';

export interface RolloutTarget {
  namespace: string;
  name: string;
  /** metadata.generation of the service the cast returned. */
  generation: number;
  /** spec.scale the cast set. */
  scale: number;
}

export interface ServiceRollout {
  target: RolloutTarget;
  /** Current instances that are ready. */
  ready: number;
  /** Current instances not ready yet. */
  starting: number;
  /** Those instances (for reporting what a timed-out rollout waited on). */
  notReady: Instance[];
  /** Instances still running an older template, or being deleted. */
  old: number;
  done: boolean;
}

export interface RolloutFailure {
  target: RolloutTarget;
  instance: Instance;
}

export interface RolloutState {
  /** One per target, in the targets' order. */
  services: ServiceRollout[];
  /** Every target is done. */
  converged: boolean;
  /** The first failed or crash-looping current instance, if any. */
  failure?: RolloutFailure;
}

/** Reasons that mean an instance will not come up without a change. */
export const FAILING_REASONS: readonly string[] = ['CrashLoopBackOff'] as const;

export function rolloutState(targets: readonly RolloutTarget[], instances: readonly Instance[], services: readonly Service[] = []): RolloutState {
  let failure: RolloutFailure | undefined;
  const rollouts = targets.map((target): ServiceRollout => {
    const mine = instances.filter((i) => i.metadata?.namespace === target.namespace && i.spec?.service === target.name);
    const service = services.find((s) => s.metadata?.namespace === target.namespace && s.metadata?.name === target.name);
    const deleting = (i: Instance) => i.metadata?.deletionTimestamp !== undefined;
    const live = mine.filter((i) => !deleting(i));
    const newGeneration = (i: Instance) => (i.spec?.serviceGeneration ?? 0) >= target.generation;
    const currentTemplates = new Set(live.filter(newGeneration).map((i) => i.spec?.templateHash ?? '').filter((hash) => hash !== ''));
    const status = service?.status;
    const runedSaysAllCurrent = status !== undefined && status.observedGeneration >= target.generation && status.updatedInstances === live.length;
    const current = (i: Instance) => !deleting(i) && (newGeneration(i) || currentTemplates.has(i.spec?.templateHash ?? '') || runedSaysAllCurrent);

    let ready = 0;
    let old = 0;
    const notReady: Instance[] = [];
    for (const instance of mine) {
      if (!current(instance)) {
        old++;
        continue;
      }
      if (isReady(instance)) ready++;
      else notReady.push(instance);
      if (!failure && isFailing(instance)) failure = { target, instance };
    }
    return { target, ready, starting: notReady.length, notReady, old, done: ready === target.scale && notReady.length === 0 && old === 0 };
  });
  return { services: rollouts, converged: rollouts.every((r) => r.done), ...(failure ? { failure } : {}) };
}

function isReady(instance: Instance): boolean {
  const phase = instance.status?.phase ?? '';
  return instance.status?.ready === true && !['stopping', 'exited', 'failed'].includes(phase);
}

function isFailing(instance: Instance): boolean {
  return instance.status?.phase === 'failed' || FAILING_REASONS.includes(instance.status?.reason ?? '');
}
