/**
 * Finalizes deleted namespaces: a namespace marked for deletion (with --cascade) goes once the
 * services and instances in it are gone. Those are deleted through their own finalizers, so
 * every process is stopped before the namespace disappears. Jobs in it are marked for deletion
 * here; the job controller cancels and deletes their runs, then the jobs.
 */
import { isRuneError } from '../../shared/errors.js';
import type { Instance } from '../../shared/gen/rune/v1/instance.js';
import type { Job } from '../../shared/gen/rune/v1/job.js';
import type { Namespace } from '../../shared/gen/rune/v1/namespace.js';
import type { Run } from '../../shared/gen/rune/v1/run.js';
import type { Service } from '../../shared/gen/rune/v1/service.js';
import type { Informer } from '../store/informer.js';
import type { LazyInformer } from '../store/lazy-informer.js';
import type { Store } from '../store/store.js';
import type { ReconcileResult } from './work-queue.js';

export interface NamespaceControllerDeps {
  store: Store;
  namespaces: Informer<Namespace>;
  services: LazyInformer<Service>;
  instances: Informer<Instance>;
  /** Jobs and runs block the namespace's removal too (absent: not watched). */
  jobs?: Informer<Job>;
  runs?: Informer<Run>;
}

export class NamespaceController {
  constructor(private readonly deps: NamespaceControllerDeps) {}

  async reconcile(name: string): Promise<ReconcileResult> {
    const { store, namespaces, services, instances } = this.deps;
    const namespace = namespaces.get('', name);
    if (!namespace?.metadata?.deletionTimestamp) return; // nothing to finalize
    const inside = (o: { metadata?: { namespace: string } }) => o.metadata?.namespace === name;
    const jobs = this.deps.jobs?.filter(inside) ?? [];
    for (const job of jobs.filter((j) => !j.metadata?.deletionTimestamp)) {
      await store.update<Job>('jobs', { ...job, metadata: { ...job.metadata!, deletionTimestamp: new Date() } }).catch((err) => {
        if (!isRuneError(err, 'ABORTED') && !isRuneError(err, 'NOT_FOUND')) throw err; // ABORTED: changed meanwhile, its event enqueues us
      });
    }
    if (instances.filter(inside).length > 0 || (await services.some({ namespace: name }))) return; // waiting: their deletions enqueue us
    if (jobs.length > 0 || (this.deps.runs?.filter(inside).length ?? 0) > 0) return; // waiting: likewise
    await store.delete('namespaces', '', name, { resourceVersion: namespace.metadata.resourceVersion }).catch((err) => {
      if (!isRuneError(err, 'NOT_FOUND')) throw err;
    });
  }
}
