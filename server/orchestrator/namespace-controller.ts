/**
 * Finalizes deleted namespaces: a namespace marked for deletion (with --cascade) goes once the
 * services and instances in it are gone. Those are deleted through their own finalizers, so
 * every process is stopped before the namespace disappears.
 */
import { isRuneError } from '../../shared/errors.js';
import type { Instance } from '../../shared/gen/rune/v1/instance.js';
import type { Namespace } from '../../shared/gen/rune/v1/namespace.js';
import type { Service } from '../../shared/gen/rune/v1/service.js';
import type { Informer } from '../store/informer.js';
import type { Store } from '../store/store.js';
import type { ReconcileResult } from './work-queue.js';

export interface NamespaceControllerDeps {
  store: Store;
  namespaces: Informer<Namespace>;
  services: Informer<Service>;
  instances: Informer<Instance>;
}

export class NamespaceController {
  constructor(private readonly deps: NamespaceControllerDeps) {}

  async reconcile(name: string): Promise<ReconcileResult> {
    const { store, namespaces, services, instances } = this.deps;
    const namespace = namespaces.get('', name);
    if (!namespace?.metadata?.deletionTimestamp) return; // nothing to finalize
    const inside = (o: { metadata?: { namespace: string } }) => o.metadata?.namespace === name;
    if (services.filter(inside).length > 0 || instances.filter(inside).length > 0) return; // waiting: their deletions enqueue us
    await store.delete('namespaces', '', name, { resourceVersion: namespace.metadata.resourceVersion }).catch((err) => {
      if (!isRuneError(err, 'NOT_FOUND')) throw err;
    });
  }
}
