import type { GetVersionResponse } from '../../../shared/gen/rune/v1/system_service.js';
import type { Store } from '../../store/store.js';
import type { HandlerMap } from '../dispatch.js';

export function systemHandlers(store: Store, version: string, storeName: string): HandlerMap {
  return {
    '/rune.v1.SystemService/GetVersion': async (): Promise<GetVersionResponse> => ({
      version,
      nodeVersion: process.version,
      revision: store.revision,
      store: storeName,
    }),
  };
}
