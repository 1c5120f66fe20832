/**
 * Run and run-event fixtures for the CLI's run tests: `aRun({ id: '01a', phase: 'running' })`,
 * `anEvent(12, 'run:progress', aRun(...))`. Times are relative to `NOW`.
 */
import { Job } from '../../shared/gen/rune/v1/job.js';
import { Run, type RunEvent } from '../../shared/gen/rune/v1/run.js';
import type { WatchRunsResponse } from '../../shared/gen/rune/v1/run_service.js';

export const NOW = new Date('2025-01-01T12:00:00Z');
export const ago = (seconds: number) => new Date(NOW.getTime() - seconds * 1000);

export interface RunFixture {
  id?: string;
  job?: string;
  namespace?: string;
  phase?: string;
  reason?: string;
  message?: string;
  progress?: { finished: number; total: number };
  task?: string;
  attempts?: number;
  /** Seconds before NOW the run started; unset: not started. */
  startedAgo?: number;
  /** Seconds before NOW it finished. */
  finishedAgo?: number;
  source?: string;
  trigger?: string;
  resourceVersion?: number;
}

export function aRun(f: RunFixture = {}): Run {
  const started = f.startedAgo === undefined ? undefined : ago(f.startedAgo);
  const finished = f.finishedAgo === undefined ? undefined : ago(f.finishedAgo);
  return Run.fromPartial({
    metadata: { name: f.id ?? '01jd0000000000000000000001', namespace: f.namespace ?? 'default', createdAt: started ?? ago(1), updatedAt: finished ?? NOW, resourceVersion: f.resourceVersion ?? 0 },
    spec: { job: f.job ?? 'backup', source: f.source ?? 'local', trigger: f.trigger ?? 'manual' },
    status: {
      phase: f.phase ?? 'running',
      reason: f.reason ?? '',
      message: f.message ?? '',
      progress: f.progress,
      currentTask: f.task ?? '',
      startedAt: started,
      finishedAt: finished,
      attempts: Array.from({ length: f.attempts ?? (started ? 1 : 0) }, (_, i) => anAttempt(i + 1, i + 1 < (f.attempts ?? 1) ? 'Failed' : finished ? (f.phase === 'finished' ? 'Completed' : 'Failed') : undefined, started, finished)),
    },
  });
}

export function anEvent(revision: number, type: string, run: Run): RunEvent {
  return { revision, type, run };
}

export function aMessage(events: RunEvent[], extra: Partial<WatchRunsResponse> = {}): WatchRunsResponse {
  return { events, revision: events.at(-1)?.revision ?? 0, historyEnd: false, ...extra } as WatchRunsResponse;
}

export function aJob(f: { name?: string; namespace?: string; schedule?: string; suspend?: boolean; active?: string[]; lastRun?: string; lastScheduleAgo?: number; nextIn?: number; createdAgo?: number } = {}): Job {
  return Job.fromPartial({
    metadata: { name: f.name ?? 'backup', namespace: f.namespace ?? 'default', createdAt: ago(f.createdAgo ?? 3600) },
    spec: { runtime: 'process', command: 'sh', args: ['-c', 'backup.sh'], schedule: f.schedule ?? '', suspend: f.suspend ?? false },
    status: {
      activeRuns: f.active ?? [],
      lastRun: f.lastRun ?? '',
      lastScheduleTime: f.lastScheduleAgo === undefined ? undefined : ago(f.lastScheduleAgo),
      nextScheduleTime: f.nextIn === undefined ? undefined : new Date(NOW.getTime() + f.nextIn * 1000),
    },
  });
}

/** Attempt `number`: running when `ended` is undefined; else ended with exit 0 (Completed) or 1. */
function anAttempt(number: number, ended: 'Completed' | 'Failed' | undefined, started: Date | undefined, finished: Date | undefined) {
  if (ended === undefined) return { number, pid: 4000 + number, startedAt: started, exitCode: -1 };
  return { number, pid: 4000 + number, startedAt: started, finishedAt: finished ?? started, exitCode: ended === 'Completed' ? 0 : 1, reason: ended };
}
