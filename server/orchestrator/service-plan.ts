/**
 * The service controller's plan, computed purely from the service and its instances: how many
 * instances to create for the current template, which to delete, and the status to report.
 * No I/O here; service-plan.test.ts drives it with tables.
 *
 * Rolling replacement (when the template — spec without scale, plus the restart epoch —
 * changes): start up to `maxSurge` new instances beyond `scale`, and delete old ones only
 * while at least `scale - maxUnavailable` instances stay ready. With the defaults
 * (maxSurge 1, maxUnavailable 0) a service never drops below its ready count during an update,
 * so there is no moment with zero ready instances. Services with declared (host) ports use
 * HOST_PORT_ROLLOUT instead: replace one at a time in place.
 */
import { createHash } from 'node:crypto';
import type { Instance } from '../../shared/gen/rune/v1/instance.js';
import type { Service, ServiceStatus } from '../../shared/gen/rune/v1/service.js';
import { canonicalJson } from '../store/kinds.js';

export interface RolloutOptions {
  /** Instances allowed above `scale` during a rolling update (default 1). */
  maxSurge: number;
  /** Ready instances that may be missing during a rolling update (default 0). */
  maxUnavailable: number;
}

export const DEFAULT_ROLLOUT: RolloutOptions = { maxSurge: 1, maxUnavailable: 0 };

/**
 * For services that declare ports: their instances bind the same host ports, so a new one can
 * only start once an old one stopped. One at a time; with scale ≥ 2 some stay ready throughout.
 */
export const HOST_PORT_ROLLOUT: RolloutOptions = { maxSurge: 0, maxUnavailable: 1 };

export interface ServicePlan {
  /** New instances to create with the current template. */
  create: number;
  /** Ids of instances to delete (graceful stop, then the record goes). */
  delete: string[];
  status: ServiceStatus;
}

/**
 * The versions of the secrets and configmaps a service references, by "secret/NAME" or
 * "configmap/NAME": e.g. "<uid>:<version>", or "missing". Part of the template, so a changed
 * value rolls the service.
 */
export type ReferenceVersions = Record<string, string>;

/**
 * The template hash: what instances are made from. Scale is left out, so scaling rolls nothing;
 * the versions of referenced secrets and configmaps are in, so changing one rolls the services
 * that use it. Empty reference lists are left out too, so services that use none keep the hash
 * they had before those fields existed (an upgrade rolls nothing).
 */
export function templateHash(service: Service, references: ReferenceVersions = {}): string {
  const { scale: _scale, envFrom, secretMounts, configmapMounts, ...rest } = service.spec ?? ({} as NonNullable<Service['spec']>);
  const template: Record<string, unknown> = { ...rest };
  if (envFrom?.length) template.envFrom = envFrom;
  if (secretMounts?.length) template.secretMounts = secretMounts;
  if (configmapMounts?.length) template.configmapMounts = configmapMounts;
  const hashed = Object.keys(references).length > 0 ? { template, epoch: service.restartEpoch, references } : { template, epoch: service.restartEpoch };
  return createHash('sha256').update(canonicalJson(hashed)).digest('hex').slice(0, 16);
}

const isDeleting = (i: Instance) => i.metadata?.deletionTimestamp !== undefined;
const isReady = (i: Instance) => i.status?.ready === true && !isDeleting(i);
const isRunning = (i: Instance) => ['running', 'ready', 'starting'].includes(i.status?.phase ?? '') && !isDeleting(i);
const created = (i: Instance) => i.metadata?.createdAt?.getTime() ?? 0;

/** Deletion order: not ready before ready, then the newest first (keep what has proven itself). */
function deletionOrder(a: Instance, b: Instance): number {
  return Number(isReady(a)) - Number(isReady(b)) || created(b) - created(a);
}

export function computeServicePlan(service: Service, instances: readonly Instance[], rollout: RolloutOptions = DEFAULT_ROLLOUT, references: ReferenceVersions = {}): ServicePlan {
  const target = templateHash(service, references);
  const desired = service.metadata?.deletionTimestamp ? 0 : (service.spec?.scale ?? 0);
  const live = instances.filter((i) => !isDeleting(i));
  const current = live.filter((i) => i.spec?.templateHash === target);
  const old = live.filter((i) => i.spec?.templateHash !== target);
  const ready = live.filter(isReady).length;
  const toDelete: Instance[] = [];

  // Too many current instances (scale down): the least valuable go first.
  const currentSorted = [...current].sort(deletionOrder);
  const excessCurrent = Math.max(0, current.length - desired);
  toDelete.push(...currentSorted.slice(0, excessCurrent));
  const keptCurrent = current.length - excessCurrent;

  // New instances: fill up to `desired`, but while old ones remain, stay within the surge.
  const room = desired + rollout.maxSurge - (keptCurrent + old.length);
  const missing = desired - keptCurrent;
  const create = Math.max(0, old.length > 0 ? Math.min(missing, room) : missing);

  // Old instances: not-ready ones may go at once; ready ones only while enough stay ready.
  const minReady = Math.max(0, desired - rollout.maxUnavailable);
  let readyLeft = ready - toDelete.filter(isReady).length;
  let oldLeft = old.length;
  for (const instance of [...old].sort(deletionOrder)) {
    const overBudget = keptCurrent + oldLeft > desired + rollout.maxSurge || desired === 0;
    if (!isReady(instance)) {
      toDelete.push(instance);
      oldLeft--;
    } else if (readyLeft - 1 >= minReady || overBudget) {
      toDelete.push(instance);
      readyLeft--;
      oldLeft--;
    }
  }

  const phase = service.metadata?.deletionTimestamp
    ? 'Deleting'
    : desired === 0
      ? 'Stopped'
      : ready >= desired && old.length === 0
        ? 'Running'
        : ready === 0
          ? 'Pending'
          : 'Degraded';
  const status: ServiceStatus = {
    observedGeneration: service.metadata?.generation ?? 0,
    desiredInstances: desired,
    runningInstances: live.filter(isRunning).length,
    readyInstances: ready,
    updatedInstances: current.length,
    phase,
    message: old.length > 0 && desired > 0 ? `rolling update: ${current.length} of ${desired} instances updated` : '',
  };
  return { create, delete: toDelete.map((i) => i.metadata!.name), status };
}

/**
 * True when a service without instances needs nothing from its controller: scale 0, not being
 * deleted, and a status that already says so for its generation (what computeServicePlan would
 * write). Cheap (no template hash), for the start-up pass over every stored service.
 */
export function isServiceAtRest(service: Service): boolean {
  const status = service.status;
  return (
    !service.metadata?.deletionTimestamp &&
    (service.spec?.scale ?? 0) === 0 &&
    status !== undefined &&
    status.observedGeneration === (service.metadata?.generation ?? 0) &&
    status.desiredInstances === 0 &&
    status.runningInstances === 0 &&
    status.readyInstances === 0 &&
    status.updatedInstances === 0 &&
    status.phase === 'Stopped' &&
    status.message === ''
  );
}
