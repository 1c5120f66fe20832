/**
 * A session with the admin API: `withSession` plus an AdminClient on the same channel.
 */
import type { AdminClient } from '../api/admin-client.js';
import type { RunState } from './action.js';
import type { GlobalArgs } from './global-options.js';
import { withSession, type Session } from './session.js';

export async function withAdmin<T>(argv: GlobalArgs, state: RunState, work: (admin: AdminClient, session: Session) => Promise<T>): Promise<T> {
  const { AdminClient } = await import('../api/admin-client.js');
  return withSession(argv, state, (session) => work(new AdminClient(session.client), session));
}
