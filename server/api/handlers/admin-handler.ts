/**
 * AdminService: subjects, policies, tokens and the audit log. Every RPC is admin-only (the
 * chain's admin gate); the handlers decode, call one domain function and map the result.
 */
import { once } from 'node:events';
import type { ServerWritableStream } from '@grpc/grpc-js';
import { RuneError } from '../../../shared/errors.js';
import type { AuditEntry } from '../../../shared/gen/rune/v1/audit.js';
import type {
  AttachPolicyRequest,
  CreatePolicyRequest,
  CreateSubjectRequest,
  CreateTokenRequest,
  DeletePolicyRequest,
  DeleteSubjectRequest,
  DetachPolicyRequest,
  GetPolicyRequest,
  ListTokensRequest,
  RevokeTokenRequest,
  StreamAuditRequest,
  StreamAuditResponse,
} from '../../../shared/gen/rune/v1/admin_service.js';
import type { AuditLog } from '../../audit/audit-log.js';
import type { TokenService } from '../../auth/token-service.js';
import { createPolicy, deletePolicy, getPolicy, listPolicies } from '../../domain/policies.js';
import { attachPolicy, createSubject, deleteSubject, detachPolicy, listSubjects } from '../../domain/subjects.js';
import { createToken, listTokens, revokeToken } from '../../domain/tokens.js';
import type { Store } from '../../store/store.js';
import type { CallContext } from '../chain.js';
import type { HandlerMap } from '../dispatch.js';

export interface AdminHandlerDeps {
  store: Store;
  tokens: TokenService;
  audit: AuditLog;
}

/** How long an audit follower may read nothing before its stream ends, ms. */
const AUDIT_STALL_MS = 60_000;

export function adminHandlers({ store, tokens, audit }: AdminHandlerDeps): HandlerMap {
  const S = '/rune.v1.AdminService/';
  return {
    [`${S}CreateSubject`]: async (req: CreateSubjectRequest) => ({ subject: await createSubject(store, { name: req.name, type: req.type, policies: req.policies }) }),
    [`${S}ListSubjects`]: async () => ({ subjects: await listSubjects(store) }),
    [`${S}DeleteSubject`]: async (req: DeleteSubjectRequest, ctx: CallContext) => deleteSubject(store, req.name, ctx.principal!.subject),
    [`${S}CreatePolicy`]: async (req: CreatePolicyRequest) => {
      if (!req.policy) throw RuneError.invalid('policy', 'is required: {metadata: {name}, rules: [...]}');
      return createPolicy(store, req.policy);
    },
    [`${S}GetPolicy`]: async (req: GetPolicyRequest) => ({ policy: await getPolicy(store, req.name) }),
    [`${S}ListPolicies`]: async () => ({ policies: await listPolicies(store) }),
    [`${S}DeletePolicy`]: async (req: DeletePolicyRequest) => ({ policy: await deletePolicy(store, req.name) }),
    [`${S}AttachPolicy`]: async (req: AttachPolicyRequest) => ({ subject: await attachPolicy(store, req.subject, req.policy) }),
    [`${S}DetachPolicy`]: async (req: DetachPolicyRequest, ctx: CallContext) => ({ subject: await detachPolicy(store, req.subject, req.policy, ctx.principal!.subject) }),
    [`${S}CreateToken`]: async (req: CreateTokenRequest) => createToken(store, tokens, { subject: req.subject, ttlSeconds: req.ttlSeconds, description: req.description }),
    [`${S}ListTokens`]: async (req: ListTokensRequest) => ({ tokens: await listTokens(store, req.subject) }),
    [`${S}RevokeToken`]: async (req: RevokeTokenRequest) => ({ token: await revokeToken(store, req.id) }),
    [`${S}StreamAudit`]: (req: StreamAuditRequest, ctx: CallContext, call: ServerWritableStream<StreamAuditRequest, StreamAuditResponse>) =>
      audit.query({ since: req.since, follow: req.follow, signal: ctx.signal, write: (entries) => send(call, entries, ctx.signal) }),
  };
}

/** Writes one batch; when grpc-js buffers enough, waits for 'drain' (at most AUDIT_STALL_MS). */
async function send(call: ServerWritableStream<StreamAuditRequest, StreamAuditResponse>, entries: AuditEntry[], signal: AbortSignal): Promise<void> {
  if (signal.aborted || call.writableEnded) return;
  if (call.write({ entries })) return;
  const stall = AbortSignal.timeout(AUDIT_STALL_MS);
  try {
    await once(call, 'drain', { signal: AbortSignal.any([signal, stall]) });
  } catch (err) {
    if (stall.aborted && !signal.aborted) throw new RuneError('RESOURCE_EXHAUSTED', `the client read no audit entries for ${AUDIT_STALL_MS / 1000}s; ask again with --since to resume`);
    if (!signal.aborted) throw err;
  }
}
