import type { CreateNamespaceRequest, DeleteNamespaceRequest, GetNamespaceRequest, ListNamespacesRequest } from '../../../shared/gen/rune/v1/namespace_service.js';
import { RuneError } from '../../../shared/errors.js';
import { createNamespace, deleteNamespace, getNamespace, listNamespaces } from '../../domain/namespaces.js';
import type { Store } from '../../store/store.js';
import type { HandlerMap } from '../dispatch.js';

export function namespaceHandlers(store: Store): HandlerMap {
  return {
    '/rune.v1.NamespaceService/CreateNamespace': async (req: CreateNamespaceRequest) => {
      if (!req.namespace?.metadata) throw RuneError.invalid('namespace.metadata.name', 'is required');
      return { namespace: await createNamespace(store, req.namespace.metadata.name, req.namespace.metadata.labels) };
    },
    '/rune.v1.NamespaceService/GetNamespace': async (req: GetNamespaceRequest) => ({ namespace: await getNamespace(store, req.name) }),
    '/rune.v1.NamespaceService/ListNamespaces': async (req: ListNamespacesRequest) => listNamespaces(store, req.options ?? {}),
    '/rune.v1.NamespaceService/DeleteNamespace': async (req: DeleteNamespaceRequest) => ({
      namespace: await deleteNamespace(store, req.name, { cascade: req.cascade }),
    }),
  };
}
