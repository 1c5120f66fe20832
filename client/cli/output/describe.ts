/**
 * `rune describe`: every field of an object as aligned `Key:  value` lines, kubectl style,
 * with `<none>` for empty values so nothing is silently missing.
 */
import type { Instance, ProbeStatus } from '../../../shared/gen/rune/v1/instance.js';
import type { Namespace } from '../../../shared/gen/rune/v1/namespace.js';
import type { ObjectMeta } from '../../../shared/gen/rune/v1/meta.js';
import type { Probe, Service } from '../../../shared/gen/rune/v1/service.js';
import type { Job } from '../../../shared/gen/rune/v1/job.js';
import type { Run, RunAttempt } from '../../../shared/gen/rune/v1/run.js';
import { formatLabels, lastExitText } from './printers.js';
import { age, humanDuration } from './human-duration.js';
import { progressText, runDuration, runPhase, runPrinter } from './run-printers.js';
import { renderTable } from './table.js';

type Line = [key: string, value: string] | [section: string];

const NONE = '<none>';

/** Renders lines: sections (one element) flush left, keys indented two spaces per level, values aligned per block. */
function render(lines: ReadonlyArray<{ indent: number; line: Line }>): string {
  const width = Math.max(...lines.filter((l) => l.line.length === 2).map((l) => l.indent * 2 + l.line[0].length + 1));
  return lines
    .map(({ indent, line }) => {
      const pad = ' '.repeat(indent * 2);
      if (line.length === 1) return `${pad}${line[0]}:\n`;
      const key = `${pad}${line[0]}:`;
      return `${key.padEnd(width)}  ${line[1]}`.trimEnd() + '\n';
    })
    .join('');
}

/** `2025-01-01T12:00:00.000Z (5m ago)`, or `(in 5s)` for a time still ahead; `<none>` when unset. */
function timeText(d: Date | undefined, now: Date): string {
  if (!d) return NONE;
  const ms = d.getTime() - now.getTime();
  return `${d.toISOString()} (${ms > 0 ? `in ${humanDuration(ms)}` : `${age(d, now)} ago`})`;
}

function metaLines(meta: ObjectMeta | undefined, now: Date, namespaced: boolean): Array<{ indent: number; line: Line }> {
  const time = (d: Date | undefined) => timeText(d, now);
  return [
    { indent: 0, line: ['Name', meta?.name || NONE] },
    ...(namespaced ? [{ indent: 0, line: ['Namespace', meta?.namespace || NONE] as Line }] : []),
    { indent: 0, line: ['Labels', formatLabels(meta?.labels) || NONE] },
    { indent: 0, line: ['UID', meta?.uid || NONE] },
    { indent: 0, line: ['Resource Version', String(meta?.resourceVersion ?? 0)] },
    { indent: 0, line: ['Generation', String(meta?.generation ?? 0)] },
    { indent: 0, line: ['Created', time(meta?.createdAt)] },
    { indent: 0, line: ['Updated', time(meta?.updatedAt)] },
    ...(meta?.deletionTimestamp ? [{ indent: 0, line: ['Deleting Since', time(meta.deletionTimestamp)] as Line }] : []),
    ...(meta?.finalizers.length ? [{ indent: 0, line: ['Finalizers', meta.finalizers.join(', ')] as Line }] : []),
  ];
}

/** A probe on one line: `http GET :8080/healthz delay=0s period=10s timeout=1s #success=1 #failure=3`. */
export function describeProbe(probe: Probe | undefined): string {
  if (!probe) return NONE;
  const target = probe.type === 'http' ? `http GET :${probe.port}${probe.path || '/'}` : probe.type === 'tcp' ? `tcp :${probe.port}` : `exec [${probe.command.join(' ')}]`;
  return `${target} delay=${probe.initialDelaySeconds}s period=${probe.periodSeconds}s timeout=${probe.timeoutSeconds}s #success=${probe.successThreshold} #failure=${probe.failureThreshold}`;
}

export function describeService(service: Service, now: Date = new Date()): string {
  const spec = service.spec;
  const status = service.status;
  const lines: Array<{ indent: number; line: Line }> = metaLines(service.metadata, now, true);
  const ports = (spec?.ports ?? []).map((p) => `${p.name ? `${p.name} ` : ''}${p.port}/${p.protocol || 'tcp'}`).join(', ');
  lines.push(
    ...workloadLines(spec),
    { indent: 1, line: ['Scale', String(spec?.scale ?? 0)] },
    { indent: 1, line: ['Ports', ports || NONE] },
    { indent: 1, line: ['Liveness', describeProbe(spec?.health?.liveness)] },
    { indent: 1, line: ['Readiness', describeProbe(spec?.health?.readiness)] },
    { indent: 1, line: ['Restart Policy', spec?.restartPolicy || NONE] },
    { indent: 1, line: ['Dependencies', spec?.dependencies.length ? spec.dependencies.join(', ') : NONE] },
    { indent: 1, line: ['Stop Signal', spec?.stopSignal || NONE] },
    { indent: 1, line: ['Stop Timeout', spec?.stopTimeoutSeconds ? `${spec.stopTimeoutSeconds}s` : NONE] },
    { indent: 1, line: ['Memory Limit', spec?.resources?.memory?.limit || NONE] },
  );
  if (spec?.image) lines.push({ indent: 1, line: ['Image', spec.image] });
  lines.push(
    { indent: 0, line: ['Status'] },
    { indent: 1, line: ['Phase', status?.phase || NONE] },
    { indent: 1, line: ['Instances', `${status?.desiredInstances ?? 0} desired, ${status?.runningInstances ?? 0} running, ${status?.readyInstances ?? 0} ready`] },
    { indent: 1, line: ['Observed Generation', String(status?.observedGeneration ?? 0)] },
    { indent: 1, line: ['Message', status?.message || NONE] },
  );
  return render(lines);
}

/** A probe's state as a block under `title`, or `title: <none>` when the instance has no such probe. */
function probeStatusLines(title: string, probe: ProbeStatus | undefined, now: Date): Array<{ indent: number; line: Line }> {
  if (!probe) return [{ indent: 1, line: [title, NONE] }];
  return [
    { indent: 1, line: [title] },
    { indent: 2, line: ['Healthy', probe.healthy ? 'yes' : 'no'] },
    { indent: 2, line: ['Consecutive Successes', String(probe.consecutiveSuccesses)] },
    { indent: 2, line: ['Consecutive Failures', String(probe.consecutiveFailures)] },
    { indent: 2, line: ['Last Result', probe.lastResult || NONE] },
    { indent: 2, line: ['Last Probe', timeText(probe.lastProbeAt, now)] },
  ];
}

/** The last exit code; `<none>` before the first exit or when a signal ended the run; `-1 (unknown)` when runed could not tell. */
function lastExitCodeText(status: Instance['status']): string {
  if (!status || (status.lastExitSignal && status.lastExitCode === -1)) return NONE;
  const text = lastExitText({ ...status, lastExitSignal: '' });
  return text === 'unknown' ? '-1 (unknown)' : text;
}

export function describeInstance(instance: Instance, now: Date = new Date()): string {
  const spec = instance.spec;
  const status = instance.status;
  const lines: Array<{ indent: number; line: Line }> = metaLines(instance.metadata, now, true);
  lines.push(
    { indent: 0, line: ['Spec'] },
    { indent: 1, line: ['Service', spec?.service || NONE] },
    { indent: 1, line: ['Service Generation', String(spec?.serviceGeneration ?? 0)] },
    { indent: 1, line: ['Template Hash', spec?.templateHash || NONE] },
    { indent: 1, line: ['Node', spec?.node || NONE] },
    { indent: 0, line: ['Status'] },
    { indent: 1, line: ['Phase', status?.phase || NONE] },
    { indent: 1, line: ['Reason', status?.reason || NONE] },
    { indent: 1, line: ['Message', status?.message || NONE] },
    { indent: 1, line: ['Ready', status?.ready ? 'yes' : 'no'] },
    { indent: 1, line: ['PID', status?.pid ? String(status.pid) : NONE] },
    { indent: 1, line: ['Process Start Time', status?.processStartTime ? `${status.processStartTime} (clock ticks since boot)` : NONE] },
    { indent: 1, line: ['Restarts', String(status?.restartCount ?? 0)] },
    { indent: 1, line: ['Last Exit Code', lastExitCodeText(status)] },
    { indent: 1, line: ['Last Exit Signal', status?.lastExitSignal || NONE] },
    { indent: 1, line: ['Started', timeText(status?.startedAt, now)] },
    { indent: 1, line: ['Finished', timeText(status?.finishedAt, now)] },
    { indent: 1, line: ['Next Restart', timeText(status?.nextRestartAt, now)] },
    ...probeStatusLines('Liveness', status?.liveness, now),
    ...probeStatusLines('Readiness', status?.readiness, now),
    { indent: 1, line: ['Memory Limit', status?.memoryLimit || NONE] },
    { indent: 1, line: ['Log Path', status?.logPath || NONE] },
  );
  return render(lines);
}

export function describeNamespace(namespace: Namespace, services: number | undefined, now: Date = new Date()): string {
  const lines = metaLines(namespace.metadata, now, false);
  if (services !== undefined) lines.push({ indent: 0, line: ['Services', String(services)] });
  return render(lines);
}

/** Seconds as `3600s`, `<none>` when unset. */
function secondsText(value: number | undefined): string {
  return value === undefined ? NONE : `${value}s`;
}

/**
 * A job: spec (command, schedule, policies and limits) and status (last and next schedule, the
 * latest and the active runs). `recentRuns` (newest first), when given, are listed at the end.
 */
export function describeJob(job: Job, recentRuns: readonly Run[] | undefined, now: Date = new Date()): string {
  const spec = job.spec;
  const status = job.status;
  const lines: Array<{ indent: number; line: Line }> = metaLines(job.metadata, now, true);
  lines.push(
    ...workloadLines(spec),
    { indent: 1, line: ['Schedule', spec?.schedule || '<none> (runs once when cast, and on demand)'] },
    { indent: 1, line: ['Time Zone', spec?.timezone || NONE] },
    { indent: 1, line: ['Suspend', spec?.suspend ? 'yes' : 'no'] },
    { indent: 1, line: ['Concurrency Policy', spec?.concurrencyPolicy || 'Allow'] },
    { indent: 1, line: ['Backoff Limit', spec?.backoffLimit === undefined ? NONE : String(spec.backoffLimit)] },
    { indent: 1, line: ['Active Deadline', secondsText(spec?.activeDeadlineSeconds)] },
    { indent: 1, line: ['Starting Deadline', secondsText(spec?.startingDeadlineSeconds)] },
    { indent: 1, line: ['TTL After Finished', secondsText(spec?.ttlSecondsAfterFinished)] },
    { indent: 1, line: ['Successful Runs Kept', spec?.successfulRunsHistoryLimit === undefined ? NONE : String(spec.successfulRunsHistoryLimit)] },
    { indent: 1, line: ['Failed Runs Kept', spec?.failedRunsHistoryLimit === undefined ? NONE : String(spec.failedRunsHistoryLimit)] },
    { indent: 1, line: ['Stop Signal', spec?.stopSignal || NONE] },
    { indent: 1, line: ['Stop Timeout', spec?.stopTimeoutSeconds ? `${spec.stopTimeoutSeconds}s` : NONE] },
    { indent: 1, line: ['Memory Limit', spec?.resources?.memory?.limit || NONE] },
    { indent: 0, line: ['Status'] },
    { indent: 1, line: ['Last Schedule', timeText(status?.lastScheduleTime, now)] },
    { indent: 1, line: ['Next Schedule', spec?.suspend ? '<none> (suspended)' : timeText(status?.nextScheduleTime, now)] },
    { indent: 1, line: ['Last Successful', timeText(status?.lastSuccessfulTime, now)] },
    { indent: 1, line: ['Last Run', status?.lastRun || NONE] },
    { indent: 1, line: ['Active Runs', status?.activeRuns.length ? status.activeRuns.join(', ') : NONE] },
    { indent: 1, line: ['Observed Generation', String(status?.observedGeneration ?? 0)] },
    { indent: 1, line: ['Message', status?.message || NONE] },
  );
  let text = render(lines);
  if (recentRuns !== undefined) {
    text += recentRuns.length === 0 ? 'Recent Runs:  <none>\n' : 'Recent Runs:\n' + indent(renderTable(runPrinter.headers({ wide: false, allNamespaces: false, now }), recentRuns.map((r) => runPrinter.row(r, { wide: false, allNamespaces: false, now }))));
  }
  return text;
}

/**
 * A run, as `rune runs show` prints it: what started it, its status with reason and message,
 * progress (a bar), current task, heartbeat and warning, then its attempts as a table.
 */
export function describeRun(run: Run, now: Date = new Date()): string {
  const spec = run.spec;
  const status = run.status;
  const meta = run.metadata;
  const env = Object.entries(spec?.env ?? {}).sort(([a], [b]) => a.localeCompare(b));
  const lines: Array<{ indent: number; line: Line }> = [
    { indent: 0, line: ['ID', meta?.name || NONE] },
    { indent: 0, line: ['Job', spec?.job || NONE] },
    { indent: 0, line: ['Namespace', meta?.namespace || NONE] },
    { indent: 0, line: ['Source', spec?.source || NONE] },
    { indent: 0, line: ['Trigger', spec?.trigger ? `${spec.trigger}${spec.scheduledAt ? ` (for ${spec.scheduledAt.toISOString()})` : ''}` : NONE] },
    { indent: 0, line: ['Job Generation', String(spec?.jobGeneration ?? 0)] },
    { indent: 0, line: ['Environment Overrides', env.length ? '' : NONE] },
    ...env.map(([k, v]) => ({ indent: 1, line: [k, v] as Line })),
    { indent: 0, line: ['Created', timeText(meta?.createdAt, now)] },
    { indent: 0, line: ['Status', runPhase(run)] },
    { indent: 0, line: ['Reason', status?.reason || NONE] },
    { indent: 0, line: ['Message', status?.message || NONE] },
    ...(spec?.cancelRequested ? [{ indent: 0, line: ['Cancel Requested', spec.cancelReason || 'yes'] as Line }] : []),
    { indent: 0, line: ['Progress', progressText(status?.progress, 20)] },
    { indent: 0, line: ['Current Task', status?.currentTask || NONE] },
    { indent: 0, line: ['Last Heartbeat', timeText(status?.lastHeartbeat, now)] },
    { indent: 0, line: ['Warning', status?.warning || NONE] },
    { indent: 0, line: ['Started', timeText(status?.startedAt, now)] },
    { indent: 0, line: ['Finished', timeText(status?.finishedAt, now)] },
    { indent: 0, line: ['Duration', runDuration(run, now)] },
    ...(status?.nextAttemptAt ? [{ indent: 0, line: ['Next Attempt', timeText(status.nextAttemptAt, now)] as Line }] : []),
    { indent: 0, line: ['Log Path', status?.logPath || NONE] },
  ];
  const attempts = status?.attempts ?? [];
  const table = renderTable(
    ['#', 'PID', 'STARTED', 'FINISHED', 'EXIT', 'REASON'],
    attempts.map((a) => [
      String(a.number),
      a.pid ? String(a.pid) : NONE,
      a.startedAt ? a.startedAt.toISOString() : NONE,
      a.finishedAt ? a.finishedAt.toISOString() : NONE,
      attemptExitText(a),
      a.reason || NONE,
    ]),
  );
  return render(lines) + (attempts.length === 0 ? 'Attempts:  <none>\n' : 'Attempts:\n' + indent(table));
}

/** `0`, `1`, `SIGTERM`, `-` while the attempt runs, `unknown` when runed could not tell. */
export function attemptExitText(attempt: RunAttempt): string {
  if (attempt.exitSignal) return attempt.exitSignal;
  if (attempt.finishedAt === undefined) return '-';
  return attempt.exitCode === -1 ? 'unknown' : String(attempt.exitCode);
}

function indent(text: string): string {
  return text.replace(/^(?=.)/gm, '  ');
}

/** The 'Spec' heading and the fields services and jobs share: runtime, command, args, working dir, env. */
function workloadLines(spec: { runtime: string; command: string; args: string[]; workingDir: string; env: Record<string, string> } | undefined): Array<{ indent: number; line: Line }> {
  const env = Object.entries(spec?.env ?? {}).sort(([a], [b]) => a.localeCompare(b));
  return [
    { indent: 0, line: ['Spec'] },
    { indent: 1, line: ['Runtime', spec?.runtime || NONE] },
    { indent: 1, line: ['Command', spec?.command || NONE] },
    { indent: 1, line: ['Args', spec?.args.length ? spec.args.map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(' ') : NONE] },
    { indent: 1, line: ['Working Dir', spec?.workingDir || NONE] },
    { indent: 1, line: ['Environment', env.length ? '' : NONE] },
    ...env.map(([k, v]) => ({ indent: 2, line: [k, v] as Line })),
  ];
}
