/**
 * What `rune cast --wait` prints when a rollout does not converge: one message (printed as
 * `error: ...`) and, for each instance to blame, its state and last log lines.
 *
 *   error: service/web did not roll out: instance web-7f3k2 is exited (CrashLoopBackOff): exit code 1
 *     instance:  web-7f3k2
 *     status:    exited (CrashLoopBackOff)
 *     reason:    CrashLoopBackOff
 *     message:   exit code 1
 *     last 2 log lines:
 *       Error: Cannot find module '/srv/web/server.js'
 *       ...
 */
import type { Instance } from '../../../shared/gen/rune/v1/instance.js';
import type { RolloutFailure, RolloutState } from '../rollout-state.js';
import { humanDuration } from './human-duration.js';
import { instanceStatusText } from './printers.js';
import { rolloutLine } from './rollout-view.js';

export interface Culprit {
  namespace: string;
  instance: Instance;
}

/** At most this many not-ready instances are shown after a timeout. */
export const MAX_TIMEOUT_CULPRITS = 3;

/** The message and the instances to show for a failed rollout (`failure`) or a timed-out one. */
export function rolloutProblem(state: RolloutState, failure: RolloutFailure | undefined, timeoutMs: number): { message: string; culprits: Culprit[] } {
  if (failure) {
    const { target, instance } = failure;
    const message = instance.status?.message ? `: ${instance.status.message}` : '';
    return {
      message: `service/${target.name} did not roll out: instance ${instance.metadata?.name ?? ''} is ${instanceStatusText(instance.status)}${message}`,
      culprits: [{ namespace: target.namespace, instance }],
    };
  }
  const pending = state.services.filter((s) => !s.done);
  const waitingFor = pending.map((s) => rolloutLine(s, `service/${s.target.name}`).replace(/ {2}/g, ' ')).join('; ');
  return {
    message: `timed out after ${humanDuration(timeoutMs)} waiting for ${waitingFor}`,
    culprits: pending.flatMap((s) => s.notReady.map((instance) => ({ namespace: s.target.namespace, instance }))).slice(0, MAX_TIMEOUT_CULPRITS),
  };
}

/** An instance's id, status, reason and message, then its last log lines (or why they could not be read). */
export function culpritDetails(instance: Instance, logs: string[] | Error): string {
  const status = instance.status;
  const head = [
    `  instance:  ${instance.metadata?.name ?? ''}`,
    `  status:    ${instanceStatusText(status)}`,
    `  reason:    ${status?.reason || '<none>'}`,
    `  message:   ${status?.message || '<none>'}`,
  ];
  const tail =
    logs instanceof Error
      ? [`  (logs unavailable: ${logs.message})`]
      : logs.length === 0
        ? ['  (no log lines)']
        : [`  last ${logs.length} log line${logs.length === 1 ? '' : 's'}:`, ...logs.map((l) => `    ${l}`)];
  return [...head, ...tail].join('\n') + '\n';
}
