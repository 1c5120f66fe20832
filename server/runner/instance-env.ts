import type { StartRequest } from './runner.js';

/**
 * The environment of an instance (or of a job's run, `kind: 'run'`): runed's PATH and HOME (so
 * bare command names resolve), the service's env, then Rune's own variables, which win. Exec uses the same, so a command run
 * with `rune exec` sees what the instance sees.
 */
export function instanceEnv(request: Pick<StartRequest, 'namespace' | 'service' | 'instance' | 'env' | 'ports' | 'kind'>, base: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of ['PATH', 'HOME', 'LANG', 'TZ'] as const) {
    const value = base[key];
    if (value !== undefined) env[key] = value;
  }
  Object.assign(env, request.env);
  env.RUNE_NAMESPACE = request.namespace;
  if (request.kind === 'run') {
    // A job's run: the job and the run id identify it (RUNE_SERVICE/RUNE_INSTANCE stay unset).
    env.RUNE_JOB = request.service;
    env.RUNE_RUN = request.instance;
  } else {
    env.RUNE_SERVICE = request.service;
    env.RUNE_INSTANCE = request.instance;
  }
  for (const port of request.ports) {
    const name = (port.name || String(port.port)).toUpperCase().replace(/[^A-Z0-9]/g, '_');
    env[`RUNE_PORT_${name}`] = String(port.port);
  }
  if (request.ports[0]) env.RUNE_PORT = String(request.ports[0].port);
  return env;
}
