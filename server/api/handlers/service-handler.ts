import type { ServerWritableStream } from '@grpc/grpc-js';
import { RuneError } from '../../../shared/errors.js';
import type {
  CastServiceRequest,
  DeleteServiceRequest,
  GetServiceRequest,
  ListServicesRequest,
  RestartServiceRequest,
  ScaleServiceRequest,
  WatchServicesRequest,
} from '../../../shared/gen/rune/v1/service_service.js';
import { castService, deleteService, getService, listServices, restartService, scaleService } from '../../domain/services.js';
import type { KindRegistry } from '../../store/kinds.js';
import type { Store } from '../../store/store.js';
import type { CallContext } from '../chain.js';
import type { HandlerMap } from '../dispatch.js';
import { serveSingleWatch } from './watch-handler.js';

export function serviceHandlers(store: Store, kinds: KindRegistry): HandlerMap {
  return {
    '/rune.v1.ServiceService/CastService': async (req: CastServiceRequest) => {
      if (!req.service) throw RuneError.invalid('service', 'is required');
      return castService(store, req.service, { dryRun: req.dryRun });
    },
    '/rune.v1.ServiceService/GetService': async (req: GetServiceRequest) => ({ service: await getService(store, req.namespace, req.name) }),
    '/rune.v1.ServiceService/ListServices': async (req: ListServicesRequest) => listServices(store, req.namespace, req.options ?? {}),
    '/rune.v1.ServiceService/DeleteService': async (req: DeleteServiceRequest) => ({
      service: await deleteService(store, req.namespace, req.name, req.resourceVersion),
    }),
    '/rune.v1.ServiceService/ScaleService': async (req: ScaleServiceRequest) => ({ service: await scaleService(store, req.namespace, req.name, req.scale) }),
    '/rune.v1.ServiceService/RestartService': async (req: RestartServiceRequest) => ({ service: await restartService(store, req.namespace, req.name) }),
    '/rune.v1.ServiceService/WatchServices': (req: WatchServicesRequest, ctx: CallContext, call: ServerWritableStream<unknown, unknown>) =>
      serveSingleWatch({ store, kinds, ctx, call, spec: { watchId: 0, kind: 'services', namespace: req.namespace, fromRevision: req.fromRevision } }),
  };
}
