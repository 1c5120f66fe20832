/**
 * The admin API (subjects, policies, tokens, audit) on a RuneClient's channel. Every method is
 * admin-only on the server (PERMISSION_DENIED otherwise) and rejects with a RuneError like the
 * rest of the client library.
 */
import {
  AdminServiceClient,
  AttachPolicyRequest,
  CreatePolicyRequest,
  CreateSubjectRequest,
  CreateTokenRequest,
  DeletePolicyRequest,
  DeleteSubjectRequest,
  DetachPolicyRequest,
  GetPolicyRequest,
  ListPoliciesRequest,
  ListSubjectsRequest,
  ListTokensRequest,
  RevokeTokenRequest,
  StreamAuditRequest,
  type AttachPolicyResponse,
  type CreatePolicyResponse,
  type CreateSubjectResponse,
  type CreateTokenResponse,
  type DeepPartial,
  type DeletePolicyResponse,
  type DeleteSubjectResponse,
  type DetachPolicyResponse,
  type GetPolicyResponse,
  type ListPoliciesResponse,
  type ListSubjectsResponse,
  type ListTokensResponse,
  type RevokeTokenResponse,
  type StreamAuditResponse,
} from '../../shared/gen/rune/v1/admin_service.js';
import type { RuneClient, StreamOptions } from './rune-client.js';

export class AdminClient {
  private readonly admin: AdminServiceClient;

  constructor(private readonly rune: RuneClient) {
    this.admin = rune.attach(AdminServiceClient);
  }

  createSubject(request: DeepPartial<CreateSubjectRequest>): Promise<CreateSubjectResponse> {
    return this.rune.unary((md, o, cb) => this.admin.createSubject(CreateSubjectRequest.fromPartial(request), md, o, cb));
  }
  listSubjects(): Promise<ListSubjectsResponse> {
    return this.rune.unary((md, o, cb) => this.admin.listSubjects(ListSubjectsRequest.fromPartial({}), md, o, cb));
  }
  /** Also revokes the subject's tokens (their open streams end). */
  deleteSubject(request: DeepPartial<DeleteSubjectRequest>): Promise<DeleteSubjectResponse> {
    return this.rune.unary((md, o, cb) => this.admin.deleteSubject(DeleteSubjectRequest.fromPartial(request), md, o, cb));
  }

  /** Creates or replaces a policy; FAILED_PRECONDITION for a built-in name. */
  createPolicy(request: DeepPartial<CreatePolicyRequest>): Promise<CreatePolicyResponse> {
    return this.rune.unary((md, o, cb) => this.admin.createPolicy(CreatePolicyRequest.fromPartial(request), md, o, cb));
  }
  getPolicy(request: DeepPartial<GetPolicyRequest>): Promise<GetPolicyResponse> {
    return this.rune.unary((md, o, cb) => this.admin.getPolicy(GetPolicyRequest.fromPartial(request), md, o, cb));
  }
  listPolicies(): Promise<ListPoliciesResponse> {
    return this.rune.unary((md, o, cb) => this.admin.listPolicies(ListPoliciesRequest.fromPartial({}), md, o, cb));
  }
  deletePolicy(request: DeepPartial<DeletePolicyRequest>): Promise<DeletePolicyResponse> {
    return this.rune.unary((md, o, cb) => this.admin.deletePolicy(DeletePolicyRequest.fromPartial(request), md, o, cb));
  }
  attachPolicy(request: DeepPartial<AttachPolicyRequest>): Promise<AttachPolicyResponse> {
    return this.rune.unary((md, o, cb) => this.admin.attachPolicy(AttachPolicyRequest.fromPartial(request), md, o, cb));
  }
  detachPolicy(request: DeepPartial<DetachPolicyRequest>): Promise<DetachPolicyResponse> {
    return this.rune.unary((md, o, cb) => this.admin.detachPolicy(DetachPolicyRequest.fromPartial(request), md, o, cb));
  }

  /** The token value is in the response only; runed keeps its id. */
  createToken(request: DeepPartial<CreateTokenRequest>): Promise<CreateTokenResponse> {
    return this.rune.unary((md, o, cb) => this.admin.createToken(CreateTokenRequest.fromPartial(request), md, o, cb));
  }
  listTokens(request: DeepPartial<ListTokensRequest> = {}): Promise<ListTokensResponse> {
    return this.rune.unary((md, o, cb) => this.admin.listTokens(ListTokensRequest.fromPartial(request), md, o, cb));
  }
  revokeToken(request: DeepPartial<RevokeTokenRequest>): Promise<RevokeTokenResponse> {
    return this.rune.unary((md, o, cb) => this.admin.revokeToken(RevokeTokenRequest.fromPartial(request), md, o, cb));
  }

  /** Audit entries since `since`, oldest first; with `follow`, then new ones until `signal` aborts (then quietly). */
  streamAudit(request: DeepPartial<StreamAuditRequest>, options: StreamOptions = {}): AsyncGenerator<StreamAuditResponse, void, undefined> {
    return this.rune.serverStream(() => this.admin.streamAudit(StreamAuditRequest.fromPartial(request), this.rune.metadata()), options);
  }
}
