import type { ServerWritableStream } from '@grpc/grpc-js';
import type { GetInstanceRequest, ListInstancesRequest, WatchInstancesRequest } from '../../../shared/gen/rune/v1/instance_service.js';
import { getInstance, listInstances } from '../../domain/instances.js';
import type { KindRegistry } from '../../store/kinds.js';
import type { Store } from '../../store/store.js';
import type { CallContext } from '../chain.js';
import type { HandlerMap } from '../dispatch.js';
import { serveSingleWatch } from './watch-handler.js';

export function instanceHandlers(store: Store, kinds: KindRegistry): HandlerMap {
  return {
    '/rune.v1.InstanceService/GetInstance': async (req: GetInstanceRequest) => ({ instance: await getInstance(store, req.namespace, req.name) }),
    '/rune.v1.InstanceService/ListInstances': async (req: ListInstancesRequest) => listInstances(store, req.namespace, req.service, req.options ?? {}),
    '/rune.v1.InstanceService/WatchInstances': (req: WatchInstancesRequest, ctx: CallContext, call: ServerWritableStream<unknown, unknown>) =>
      serveSingleWatch({ store, kinds, ctx, call, spec: { watchId: 0, kind: 'instances', namespace: req.namespace, fromRevision: req.fromRevision } }),
  };
}
