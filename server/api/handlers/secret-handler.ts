import { RuneError } from '../../../shared/errors.js';
import type { CastSecretRequest, DeleteSecretRequest, GetSecretRequest, ListSecretsRequest } from '../../../shared/gen/rune/v1/secret_service.js';
import { castSecret, deleteSecret, getSecret, listSecrets, type SecretVault } from '../../domain/secrets.js';
import type { Store } from '../../store/store.js';
import type { CallContext } from '../chain.js';
import type { HandlerMap } from '../dispatch.js';

export function secretHandlers(store: Store, vault: SecretVault): HandlerMap {
  return {
    '/rune.v1.SecretService/CastSecret': async (req: CastSecretRequest) => {
      if (!req.secret) throw RuneError.invalid('secret', 'is required');
      return castSecret(store, vault, req.secret, { dryRun: req.dryRun });
    },
    '/rune.v1.SecretService/GetSecret': async (req: GetSecretRequest, ctx: CallContext) => {
      // Values need a second right beyond `get`: `reveal` on secrets in this namespace.
      if (req.reveal) ctx.authorize({ resource: 'secrets', verb: 'reveal', namespace: req.namespace, name: req.name });
      return { secret: await getSecret(store, vault, req.namespace, req.name, { reveal: req.reveal, version: req.version }) };
    },
    '/rune.v1.SecretService/ListSecrets': async (req: ListSecretsRequest) => listSecrets(store, req.namespace, req.options ?? {}),
    '/rune.v1.SecretService/DeleteSecret': async (req: DeleteSecretRequest) => ({ secret: await deleteSecret(store, req.namespace, req.name) }),
  };
}
