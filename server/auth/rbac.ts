/**
 * RBAC evaluation. Today: admin subjects may do everything; every other subject is denied
 * (default deny). Policies with rules {resources, verbs, namespaces} are evaluated here by the
 * security work, behind this same function.
 */
import { RuneError } from '../../shared/errors.js';
import type { Principal } from './token-service.js';

export interface AccessRequest {
  resource: string;
  verb: string;
  /** '' for cluster-scoped resources; '*' for all namespaces. */
  namespace: string;
}

/** Returns when allowed; throws PERMISSION_DENIED naming subject, verb, resource and namespace. */
export function authorize(principal: Principal, request: AccessRequest): void {
  if (principal.admin) return;
  const where = request.namespace ? ` in namespace "${request.namespace}"` : '';
  throw new RuneError('PERMISSION_DENIED', `subject "${principal.subject}" may not ${request.verb} ${request.resource}${where}; ask an admin for a policy that allows it`);
}
