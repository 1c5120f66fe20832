/**
 * The service controller: keeps each service at `scale` instances of its current template,
 * replaces outdated instances by a rolling update, writes the service status, and removes a
 * deleted service once its instances are gone (finalizer). The decisions are
 * computeServicePlan's; this file only reads, plans and applies.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { isRuneError } from '../../shared/errors.js';
import type { Instance } from '../../shared/gen/rune/v1/instance.js';
import type { Service } from '../../shared/gen/rune/v1/service.js';
import { INSTANCE_FINALIZER, SERVICE_LABEL } from '../domain/finalizers.js';
import { newMeta } from '../domain/objects.js';
import type { Informer } from '../store/informer.js';
import type { LazyInformer } from '../store/lazy-informer.js';
import { canonicalJson } from '../store/kinds.js';
import type { Store, WriteOp } from '../store/store.js';
import { emptyStatus } from './instance-controller.js';
import { HOST_PORT_ROLLOUT, computeServicePlan, templateHash, type ReferenceVersions, type RolloutOptions } from './service-plan.js';
import type { ReconcileResult } from './work-queue.js';


export interface ServiceControllerDeps {
  store: Store;
  services: LazyInformer<Service>;
  instances: Informer<Instance>;
  rollout: RolloutOptions;
  log: Logger;
  /** The versions of the secrets and configmaps a service references (part of its template). */
  references: (service: Service) => ReferenceVersions;
}

const ID_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

export class ServiceController {
  /** Per service: the store revision its last writes reached; the instance informer must catch up first. */
  private readonly expectations = new Map<string, number>();

  constructor(private readonly deps: ServiceControllerDeps) {}

  async reconcile(key: string): Promise<ReconcileResult> {
    const { store, services, instances } = this.deps;
    const slash = key.indexOf('/');
    const namespace = key.slice(0, slash);
    const name = key.slice(slash + 1);
    const service = await services.get(namespace, name);
    if (!service) {
      this.expectations.delete(key);
      return; // gone: its instances are cleaned up by the instance controller
    }
    // Waiting: act only on a view that includes our own last writes, or we would create twice.
    const expected = this.expectations.get(key) ?? 0;
    if (instances.revision < expected) return { requeueAfterMs: 20 };
    this.expectations.delete(key);

    const own = instances.filter((i) => i.metadata?.namespace === namespace && i.spec?.service === name);
    if (service.metadata?.deletionTimestamp && own.length === 0) {
      await store.delete('services', namespace, name, { resourceVersion: service.metadata.resourceVersion }).catch((err) => {
        if (!isRuneError(err, 'NOT_FOUND')) throw err; // ABORTED: changed meanwhile, retry
      });
      return;
    }
    // Instances of a service with declared ports share the host's ports: a surge instance could
    // not bind while the old one runs, so such services replace in place (stop one, start one).
    const rollout = (service.spec?.ports.length ?? 0) > 0 ? HOST_PORT_ROLLOUT : this.deps.rollout;
    const references = this.deps.references(service);
    const plan = computeServicePlan(service, own, rollout, references);
    const ops: WriteOp[] = [];
    const hash = templateHash(service, references);
    const taken = new Set<string>();
    for (let i = 0; i < plan.create; i++) {
      const id = this.newInstanceId(name, taken);
      const meta = newMeta(id, namespace, { [SERVICE_LABEL]: name });
      meta.finalizers = [INSTANCE_FINALIZER];
      const instance: Instance = {
        metadata: meta,
        spec: { service: name, serviceGeneration: service.metadata!.generation, templateHash: hash, node: 'local' },
        status: emptyStatus(),
      };
      ops.push({ op: 'create', kind: 'instances', object: instance });
    }
    for (const id of plan.delete) {
      const instance = instances.get(namespace, id);
      if (!instance || instance.metadata?.deletionTimestamp) continue;
      ops.push({ op: 'update', kind: 'instances', object: { ...instance, metadata: { ...instance.metadata!, deletionTimestamp: new Date() } } });
    }
    if (ops.length > 0) {
      const { revision } = await store.commit(ops);
      this.expectations.set(key, revision);
    }
    if (canonicalJson(plan.status) !== canonicalJson(service.status)) {
      await store.update<Service>('services', { ...service, status: plan.status }).catch((err) => {
        if (!isRuneError(err, 'ABORTED') && !isRuneError(err, 'NOT_FOUND')) throw err;
        // ABORTED: the service changed meanwhile; its event brings us back with fresh data.
      });
    }
    return ops.length > 0 ? { requeueAfterMs: 20 } : undefined;
  }

  /** "web-7f3k2": the service name and 5 random characters, unique across namespaces. */
  private newInstanceId(service: string, taken: Set<string>): string {
    for (;;) {
      const bytes = randomBytes(5);
      const suffix = Array.from(bytes, (b) => ID_ALPHABET[b % ID_ALPHABET.length]).join('');
      const id = `${service}-${suffix}`;
      const exists = taken.has(id) || this.deps.instances.filter((i) => i.metadata?.name === id).length > 0;
      if (!exists) {
        taken.add(id);
        return id;
      }
    }
  }
}
