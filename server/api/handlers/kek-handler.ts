import type { Keyring } from '../../crypto/keyring.js';
import { kekStatus, rotateKek } from '../../domain/kek.js';
import type { SecretVault } from '../../domain/secrets.js';
import type { Store } from '../../store/store.js';
import type { CallContext } from '../chain.js';
import type { HandlerMap } from '../dispatch.js';

/** Admin-only (declared in kek_service.proto; the admin gate enforces it). */
export function kekHandlers(store: Store, vault: SecretVault, keyring: Keyring): HandlerMap {
  return {
    '/rune.v1.KekService/GetKekStatus': async () => kekStatus(store, keyring),
    '/rune.v1.KekService/RotateKek': async (_req: unknown, ctx: CallContext) => {
      const rotation = await rotateKek(store, vault, keyring);
      ctx.log.info({ subject: ctx.principal?.subject, previousKekId: rotation.previousKekId, kekId: rotation.kekId, versionsRewrapped: rotation.versionsRewrapped }, 'KEK rotated');
      return rotation;
    },
  };
}
