/**
 * Readiness (`GET /readyz`): runed is ready while its store answers reads and, when it runs
 * workloads, its controllers run. Liveness (`GET /healthz`) needs nothing but the process.
 */
import type { Store } from './store/store.js';

export interface ReadinessCheck {
  ok: boolean;
  /** Why not, or a note such as "disabled". */
  message?: string;
}

export interface Readiness {
  ready: boolean;
  checks: Record<string, ReadinessCheck>;
}

export interface ReadinessSources {
  store: Store;
  /** undefined: runed runs no workloads (orchestrator disabled). */
  controllers: { running: boolean } | undefined;
  /** True once shutdown has begun. */
  stopping: boolean;
}

const STORE_TIMEOUT_MS = 2000;

export async function checkReadiness(sources: ReadinessSources): Promise<Readiness> {
  const checks: Record<string, ReadinessCheck> = {};
  checks.store = sources.stopping ? { ok: false, message: 'runed is stopping' } : await probeStore(sources.store);
  if (sources.controllers === undefined) checks.controllers = { ok: true, message: 'disabled' };
  else checks.controllers = sources.controllers.running && !sources.stopping ? { ok: true } : { ok: false, message: 'controllers are not running' };
  return { ready: Object.values(checks).every((c) => c.ok), checks };
}

/** One read through the store (a namespace that may or may not exist), bounded in time. */
async function probeStore(store: Store): Promise<ReadinessCheck> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      store.get('namespaces', '', 'default'),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${STORE_TIMEOUT_MS} ms`)), STORE_TIMEOUT_MS))),
    ]);
    return { ok: true };
  } catch (err) {
    return { ok: false, message: `store: ${(err as Error).message}` };
  } finally {
    clearTimeout(timer);
  }
}
