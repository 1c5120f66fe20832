import type { WhoAmIResponse } from '../../../shared/gen/rune/v1/auth_service.js';
import type { CallContext } from '../chain.js';
import type { HandlerMap } from '../dispatch.js';

export function authHandlers(): HandlerMap {
  return {
    '/rune.v1.AuthService/WhoAmI': async (_req: unknown, ctx: CallContext): Promise<WhoAmIResponse> => {
      const p = ctx.principal!;
      return { subject: p.subject, admin: p.admin, policies: p.policies, tokenId: p.tokenId, tokenExpiresAt: p.expiresAt?.toISOString() ?? '' };
    },
  };
}
