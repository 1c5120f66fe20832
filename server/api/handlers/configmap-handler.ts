import { RuneError } from '../../../shared/errors.js';
import type { CastConfigMapRequest, DeleteConfigMapRequest, GetConfigMapRequest, ListConfigMapsRequest } from '../../../shared/gen/rune/v1/configmap_service.js';
import { castConfigMap, deleteConfigMap, getConfigMap, listConfigMaps } from '../../domain/configmaps.js';
import type { Store } from '../../store/store.js';
import type { HandlerMap } from '../dispatch.js';

export function configMapHandlers(store: Store): HandlerMap {
  return {
    '/rune.v1.ConfigMapService/CastConfigMap': async (req: CastConfigMapRequest) => {
      if (!req.configMap) throw RuneError.invalid('config_map', 'is required');
      return castConfigMap(store, req.configMap, { dryRun: req.dryRun });
    },
    '/rune.v1.ConfigMapService/GetConfigMap': async (req: GetConfigMapRequest) => ({ configMap: await getConfigMap(store, req.namespace, req.name) }),
    '/rune.v1.ConfigMapService/ListConfigMaps': async (req: ListConfigMapsRequest) => listConfigMaps(store, req.namespace, req.options ?? {}),
    '/rune.v1.ConfigMapService/DeleteConfigMap': async (req: DeleteConfigMapRequest) => ({ configMap: await deleteConfigMap(store, req.namespace, req.name) }),
  };
}
