import type { WhoAmIResponse } from '../../../shared/gen/rune/v1/auth_service.js';
import { Policy } from '../../../shared/gen/rune/v1/policy.js';
import type { Rbac } from '../../auth/rbac.js';
import { newMeta } from '../../domain/objects.js';
import type { CallContext } from '../chain.js';
import type { HandlerMap } from '../dispatch.js';

export function authHandlers(rbac: Rbac): HandlerMap {
  return {
    '/rune.v1.AuthService/WhoAmI': async (_req: unknown, ctx: CallContext): Promise<WhoAmIResponse> => {
      const p = ctx.principal!;
      // Attached policies that no longer exist are listed by name only.
      const effectivePolicies = rbac.effectivePolicies(p.subject).map((a) => a.policy ?? Policy.fromPartial({ metadata: newMeta(a.name, '') }));
      return { subject: p.subject, admin: p.admin, policies: p.policies, tokenId: p.tokenId, tokenExpiresAt: p.expiresAt?.toISOString() ?? '', effectivePolicies };
    },
  };
}
