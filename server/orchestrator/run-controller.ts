/**
 * The run controller: executes local runs (spec.source "local") through the runner, one attempt
 * after another, and is the one writer of run status. The job controller creates runs, asks
 * for cancellations (spec.cancelRequested) and deletes them; this controller only executes.
 *
 * Level-triggered: reconcile(`namespace/id`) reads the run and what this runed knows about its
 * process, and takes the next step: start an attempt, supervise it (cancel, deadline, reports
 * from $RUNE_STATUS_FILE), record its end (finished, retry, failed, cancelled), or clean up
 * after a deletion. Decisions are the pure functions of run-plan.ts and status-report.ts.
 *
 * Exit codes survive runed restarts: every attempt runs under the runner's exit-status wrapper
 * (`exitFile`, see EXIT_WRAPPER in server/runner/process-runner.ts), which writes the command's
 * status to `exit-<n>` in the run's folder (run-files.ts). A runed that adopted the process (not
 * its child, so the kernel tells it nothing) reads the status from that file when the process
 * ends, and so does a runed that finds the process gone after a restart; no file then means the
 * process vanished (killed, or the machine rebooted) and the run fails with ProcessVanished.
 *
 * Every status write is compare-and-set on resourceVersion, re-read on ABORTED (the API writes
 * spec.cancelRequested concurrently), and sets status.lastChange, which names the run event:
 * 'updated' (an attempt starts, a retry is scheduled), 'progress' / 'warning' (the workload's
 * reports) and 'finished' (the write that makes the run terminal).
 */
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { RuneError, isRuneError } from '../../shared/errors.js';
import type { Run, RunAttempt, RunStatus } from '../../shared/gen/rune/v1/run.js';
import { parseQuantity } from '../../shared/spec/quantity.js';
import { LOCAL_SOURCE, isTerminal, pendingStatus } from '../domain/runs.js';
import type { ExitInfo, ProcessHandle, Runner, StartRequest, StopOptions } from '../runner/runner.js';
import type { Informer } from '../store/informer.js';
import { canonicalJson } from '../store/kinds.js';
import type { Store } from '../store/store.js';
import type { Injector } from './injection.js';
import { readExitFile, runFiles } from './run-files.js';
import { deadlineAt, decideAfterAttempt, nextStep, type AttemptEnd, type RetryOptions } from './run-plan.js';
import { StatusFilePoller } from './status-file-poller.js';
import { applyStatusReport, type StatusReading } from './status-report.js';
import type { ReconcileResult } from './work-queue.js';

export interface RunControllerDeps {
  store: Store;
  runner: Runner;
  runs: Informer<Run>;
  /** Resolves secret and configmap references at each attempt's start; removes mounts after it. */
  injector: Injector;
  log: Logger;
  /** Runs keep their files in <dataDir>/runs/<namespace>/<id> (run-files.ts). */
  dataDir: string;
  retry: RetryOptions;
  /** How often $RUNE_STATUS_FILE of running runs is looked at, in ms (default 200). */
  statusPollMs?: number;
}

/** Why runed stops a run's process. */
type StopCause = 'Cancelled' | 'DeadlineExceeded' | 'Deleted';

/** A process this runed started or adopted. */
interface Supervised {
  handle: ProcessHandle;
  attempt: number;
  stop: StopOptions;
}

/** An attempt's end not yet recorded in status. */
interface Ended {
  exit: ExitInfo;
  /** Set when the process was found gone after a restart with no exit file. */
  vanished?: string;
}

const STATUS_WRITE_ATTEMPTS = 5;

export const runKey = (namespace: string, id: string) => `${namespace}/${id}`;

export class RunController {
  /** Processes supervised, by run key. */
  private readonly owned = new Map<string, Supervised>();
  /** Ends reported by the runner (or found after a restart), not yet recorded in status. */
  private readonly ended = new Map<string, Ended>();
  /** Stops runed has begun, with why. */
  private readonly stopping = new Map<string, StopCause>();
  /** Run id → key, for the runner's exit reports. */
  private readonly keyById = new Map<string, string>();
  /**
   * Runs whose process this runed knows about (it started, adopted, or found it gone): an open
   * attempt of any other active run belongs to an earlier runed and is adopted once.
   */
  private readonly known = new Set<string>();
  /** Status-file readings not yet written. */
  private readonly readings = new Map<string, StatusReading>();
  private readonly poller: StatusFilePoller;

  constructor(
    private readonly deps: RunControllerDeps,
    private readonly enqueue: (key: string) => void,
  ) {
    deps.runner.onExit((id, exit) => {
      const key = this.keyById.get(id);
      if (!key || !this.owned.has(key)) return; // not a run's, or not one we supervise
      this.owned.delete(key);
      this.ended.set(key, { exit });
      this.enqueue(key);
    });
    this.poller = new StatusFilePoller({
      periodMs: deps.statusPollMs,
      onReading: (key, reading) => {
        this.readings.set(key, reading);
        this.enqueue(key);
      },
    });
  }

  /** How many run processes this runed supervises. */
  get supervised(): number {
    return this.owned.size;
  }

  /** Keys (`namespace/id`) of the runs whose process this runed supervises. */
  activeRuns(): string[] {
    return [...this.owned.keys()];
  }

  /** Stops polling status files; leaves every process running (as the runner does). */
  close(): void {
    this.poller.stop();
  }

  /**
   * Start-up sweep: folders of runs that no longer exist (deleted while runed was down). A
   * process still running for such a run is stopped first. Call after the informer's first list.
   */
  async sweep(): Promise<void> {
    const root = join(this.deps.dataDir, 'runs');
    for (const namespace of await readdir(root).catch(() => [] as string[])) {
      for (const id of await readdir(join(root, namespace)).catch(() => [] as string[])) {
        if (this.deps.runs.get(namespace, id)) continue;
        const found = this.deps.runner.find(namespace, id, { kind: 'run', logPath: runFiles(this.deps.dataDir, namespace, id).logFile });
        if (found) {
          this.deps.log.warn({ run: id, namespace, pid: found.pid }, 'a process of a deleted run is still running; stopping it');
          await this.deps.runner.stop(id, found, { signal: 'SIGTERM', timeoutMs: 10_000 }).catch((err) => this.deps.log.warn({ err, run: id }, 'could not stop the process of a deleted run'));
        }
        await this.removeFiles(namespace, id);
      }
    }
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const slash = key.indexOf('/');
    const namespace = key.slice(0, slash);
    const id = key.slice(slash + 1);
    const run = this.deps.runs.get(namespace, id);
    if (!run) return this.forget(key, namespace, id);
    if ((run.spec?.source || LOCAL_SOURCE) !== LOCAL_SOURCE) return; // mirrored from a cluster: not ours to run
    if (isTerminal(run) && !this.owned.has(key)) {
      // Ended (possibly recorded before a restart): nothing to converge.
      this.poller.unwatch(key);
      this.readings.delete(key);
      return;
    }
    if (!this.known.has(key)) await this.recover(key, run);

    const ended = this.ended.get(key);
    if (ended) return this.recordEnd(key, run, ended);
    const owned = this.owned.get(key);
    if (owned) return this.supervise(key, run, owned);

    const now = new Date();
    const step = nextStep(run, now);
    switch (step.action) {
      case 'none':
        return; // done, or terminal
      case 'wait':
        return { requeueAfterMs: step.ms }; // waiting for the retry time
      case 'end':
        // Cancelled or out of time with no process: terminal, no requeue.
        await this.writeStatus(run, step.status);
        return;
      case 'start':
        return this.start(key, run, step.attempt);
    }
  }

  /**
   * First look at an active run by this runed: its open attempt (if any) was started by an
   * earlier runed. Adopt the process (by PID + start time, or found by its RUNE_RUN variable when
   * runed died before recording the PID), or record how it ended while runed was down.
   */
  private async recover(key: string, run: Run): Promise<void> {
    this.known.add(key);
    const meta = run.metadata!;
    const status = run.status!;
    const last = status.attempts.at(-1);
    if (!last || last.finishedAt) return; // not started, or between attempts: nothing to adopt
    const files = runFiles(this.deps.dataDir, meta.namespace, meta.name);
    const logPath = status.logPath || files.logFile;
    this.keyById.set(meta.name, key);
    const recorded = last.pid ? { pid: last.pid, startTime: last.processStartTime, logPath } : undefined;
    const handle = recorded ?? this.deps.runner.find(meta.namespace, meta.name, { kind: 'run', logPath });
    if (handle && this.deps.runner.adopt(meta.name, handle)) {
      this.owned.set(key, { handle, attempt: last.number, stop: stopOptions(run) });
      this.poller.watch(key, files.statusFile);
      if (!recorded) {
        this.deps.log.warn({ run: meta.name, pid: handle.pid }, 'found an unrecorded process of this run after a restart; adopted it');
        await this.writeStatus(run, { attempts: withOpenAttempt(status.attempts, { pid: handle.pid, processStartTime: handle.startTime }), lastChange: 'updated' });
      } else {
        this.deps.log.info({ run: meta.name, pid: handle.pid, attempt: last.number }, 'adopted a running run');
      }
      return;
    }
    // Gone while runed was down. The wrapper's exit file says how it ended, if it ended by itself.
    const code = await readExitFile(files.exitFile(last.number));
    const at = code === undefined ? new Date() : await mtime(files.exitFile(last.number));
    const exit: ExitInfo = { code: code ?? -1, signal: '', daemonized: false, at };
    const vanished = code === undefined ? `the process of attempt ${last.number}${last.pid ? ` (PID ${last.pid})` : ''} disappeared while runed was down; its exit status is unknown` : undefined;
    this.ended.set(key, { exit, vanished });
  }

  /** Records the end of the open attempt: the run finishes, fails, is cancelled, or waits for its retry. */
  private async recordEnd(key: string, run: Run, ended: Ended): Promise<ReconcileResult> {
    const meta = run.metadata!;
    const files = runFiles(this.deps.dataDir, meta.namespace, meta.name);
    // A last look at the status file: the final progress goes into the final write.
    await this.poller.check(key);
    const reading = this.readings.get(key);
    this.poller.unwatch(key);
    await this.deps.injector.removeMounts(meta.namespace, meta.name);
    const last = run.status!.attempts.at(-1);
    const cause = this.stopping.get(key);
    let end: AttemptEnd;
    if (ended.vanished !== undefined) {
      end = { exitCode: -1, exitSignal: '', at: ended.exit.at, cause: 'ProcessVanished', message: ended.vanished };
    } else {
      // The wrapper's file has the command's own status; without it (SIGKILL after a stop
      // timeout) the runner's report is all there is.
      const fromFile = last ? await readExitFile(files.exitFile(last.number)) : undefined;
      end = {
        exitCode: fromFile ?? ended.exit.code,
        exitSignal: fromFile === undefined ? ended.exit.signal : '',
        at: ended.exit.at,
        cause: cause === 'Cancelled' || cause === 'DeadlineExceeded' ? cause : undefined,
      };
    }
    const decision = last && !last.finishedAt ? decideAfterAttempt(run, end, this.deps.retry) : {};
    const patch = { ...(reading ? applyStatusReport(reading) : {}), ...decision };
    await this.writeStatus(run, patch);
    this.ended.delete(key);
    this.stopping.delete(key);
    if (this.readings.get(key) === reading) this.readings.delete(key);
    this.deps.log.info({ run: meta.name, namespace: meta.namespace, attempt: last?.number, exitCode: end.exitCode, signal: end.exitSignal, phase: patch.phase, reason: patch.reason }, 'run attempt ended');
    // Waiting: back at the retry time; otherwise terminal, no requeue.
    return decision.nextAttemptAt ? { requeueAfterMs: Math.max(0, decision.nextAttemptAt.getTime() - Date.now()) } : undefined;
  }

  /** A supervised process: stop it when cancelled or out of time; write what it reported. */
  private async supervise(key: string, run: Run, owned: Supervised): Promise<ReconcileResult> {
    if (this.stopping.has(key)) return; // a stop is under way; the exit requeues us
    if (run.spec?.cancelRequested) {
      // The exit requeues us; a failed stop is tried again after a pause.
      void this.stop(key, owned, 'Cancelled').then((ok) => ok || this.enqueueLater(key));
      return;
    }
    const deadline = deadlineAt(run);
    const now = Date.now();
    if (deadline && deadline.getTime() <= now) {
      void this.stop(key, owned, 'DeadlineExceeded').then((ok) => ok || this.enqueueLater(key));
      return;
    }
    // The PID write after the start failed (transient): record it now.
    const open = run.status?.attempts.at(-1);
    if (open && !open.finishedAt && open.pid !== owned.handle.pid) {
      run = await this.writeStatus(run, { attempts: withOpenAttempt(run.status!.attempts, { pid: owned.handle.pid, processStartTime: owned.handle.startTime }), lastChange: 'updated' });
    }
    const reading = this.readings.get(key);
    if (reading) {
      await this.writeStatus(run, applyStatusReport(reading));
      if (this.readings.get(key) === reading) this.readings.delete(key); // a newer one stays for the next pass
    }
    // Waiting: back when the deadline passes (cancellations and reports enqueue us themselves).
    return deadline ? { requeueAfterMs: deadline.getTime() - now } : undefined;
  }

  /** Starts attempt `number`: the intent is recorded first (so a crash in between is found), then the process. */
  private async start(key: string, run: Run, number: number): Promise<ReconcileResult> {
    const meta = run.metadata!;
    const template = run.spec!.template!;
    const files = runFiles(this.deps.dataDir, meta.namespace, meta.name);
    await mkdir(files.dir, { recursive: true, mode: 0o700 });
    if (!template.workingDir) await mkdir(files.workDir, { recursive: true, mode: 0o700 });
    await rm(files.exitFile(number), { force: true });
    const now = new Date();
    const attempt: RunAttempt = { number, pid: 0, processStartTime: 0, startedAt: now, finishedAt: undefined, exitCode: -1, exitSignal: '', reason: '' };
    const previous = run.status!.attempts.at(-1);
    let written = await this.writeStatus(run, {
      phase: 'running',
      reason: '',
      // Why this is not the first attempt stays visible while it runs.
      message: previous ? run.status!.message.replace(/; attempt \d+ in .*$/, '') : '',
      startedAt: run.status!.startedAt ?? now,
      attempts: [...run.status!.attempts, attempt],
      nextAttemptAt: undefined,
      logPath: files.logFile,
      lastChange: 'updated',
    });
    this.known.add(key);
    this.keyById.set(meta.name, key);
    // It could not start at all (command or working dir missing, a secret missing): a failed attempt.
    const startFailed = async (message: string): Promise<ReconcileResult> => {
      const decision = decideAfterAttempt(written, { exitCode: -1, exitSignal: '', at: new Date(), cause: 'StartFailed', message }, this.deps.retry);
      await this.writeStatus(written, decision);
      return decision.nextAttemptAt ? { requeueAfterMs: Math.max(0, decision.nextAttemptAt.getTime() - Date.now()) } : undefined;
    };
    if (written.spec?.cancelRequested) {
      // Cancelled while we recorded the intent: never start it.
      await this.writeStatus(written, decideAfterAttempt(written, { exitCode: -1, exitSignal: '', at: new Date(), cause: 'Cancelled' }, this.deps.retry));
      return;
    }
    const request: StartRequest = {
      kind: 'run',
      namespace: meta.namespace,
      service: run.spec!.job,
      instance: meta.name,
      command: template.command,
      args: template.args,
      workingDir: template.workingDir || files.workDir,
      env: {},
      ports: [],
      memoryLimitBytes: template.resources?.memory?.limit ? (parseQuantity(template.resources.memory.limit) ?? 0) : 0,
      logPath: files.logFile,
      exitFile: files.exitFile(number),
    };
    try {
      // References resolved now, into the request only; the run's overrides win over the job's env.
      const resolved = await this.deps.injector.prepare(meta.namespace, meta.name, { ...template, env: { ...template.env, ...run.spec!.env } });
      request.env = { ...resolved, RUNE_ATTEMPT: String(number), RUNE_STATUS_FILE: files.statusFile };
    } catch (err) {
      return startFailed(RuneError.from(err).message);
    }
    let handle: ProcessHandle;
    try {
      const result = await this.deps.runner.start(request);
      handle = { pid: result.pid, startTime: result.startTime, logPath: result.logPath };
    } catch (err) {
      await this.deps.injector.removeMounts(meta.namespace, meta.name);
      return startFailed(RuneError.from(err).message);
    }
    this.owned.set(key, { handle, attempt: number, stop: stopOptions(run) });
    this.poller.watch(key, files.statusFile);
    written = await this.writeStatus(written, { attempts: withOpenAttempt(written.status!.attempts, { pid: handle.pid, processStartTime: handle.startTime }), lastChange: 'updated' });
    this.deps.log.info({ run: meta.name, namespace: meta.namespace, job: run.spec!.job, attempt: number, pid: handle.pid }, 'run attempt started');
    const deadline = deadlineAt(written);
    // Waiting: back when the deadline passes.
    return deadline ? { requeueAfterMs: Math.max(0, deadline.getTime() - Date.now()) } : undefined;
  }

  /**
   * Stops the process of a run; its exit (reported by the runner) requeues the run. Resolves
   * false when the stop failed (logged; the run is requeued with the queue's backoff).
   */
  private async stop(key: string, owned: Supervised, cause: StopCause): Promise<boolean> {
    if (this.stopping.has(key)) return true;
    this.stopping.set(key, cause);
    const id = key.slice(key.indexOf('/') + 1);
    try {
      const exit = await this.deps.runner.stop(id, owned.handle, owned.stop);
      // Normally the runner's exit report came first; when it had already lost the process, it
      // reports nothing, so the stop's own answer is the end.
      if (this.owned.get(key) === owned) {
        this.owned.delete(key);
        this.ended.set(key, { exit });
        this.enqueue(key);
      }
      return true;
    } catch (err) {
      // Transient (e.g. EPERM, or the runner closed): look again later.
      this.deps.log.warn({ err, run: id, cause }, 'could not stop the process of a run; will retry');
      if (this.stopping.get(key) === cause) this.stopping.delete(key);
      return false;
    }
  }

  /** The run is gone from the store: stop its process (deleted while active), remove its files. */
  private async forget(key: string, namespace: string, id: string): Promise<ReconcileResult> {
    this.poller.unwatch(key);
    this.readings.delete(key);
    const owned = this.owned.get(key);
    if (owned) {
      this.deps.log.info({ run: id, namespace, pid: owned.handle.pid }, 'run deleted while active; stopping its process');
      this.stopping.delete(key);
      // Transient when it could not: requeue with the queue's backoff.
      if (!(await this.stop(key, owned, 'Deleted'))) throw new RuneError('UNAVAILABLE', `could not stop the process of deleted run ${id}`);
    }
    this.owned.delete(key);
    this.ended.delete(key);
    this.stopping.delete(key);
    this.keyById.delete(id);
    this.known.delete(key);
    await this.deps.injector.removeMounts(namespace, id);
    await this.removeFiles(namespace, id);
  }

  private enqueueLater(key: string): void {
    setTimeout(() => this.enqueue(key), 1000).unref();
  }

  private async removeFiles(namespace: string, id: string): Promise<void> {
    await rm(runFiles(this.deps.dataDir, namespace, id).dir, { recursive: true, force: true });
  }

  /**
   * Merges `patch` into the run's status with compare-and-set, re-reading on conflict (the API
   * writes spec.cancelRequested concurrently). Skips the write when only lastChange would change.
   * NOT_FOUND when the run was deleted meanwhile (the next reconcile cleans up).
   */
  private async writeStatus(run: Run, patch: Partial<RunStatus>): Promise<Run> {
    let current = run;
    for (let attempt = 1; ; attempt++) {
      const before = current.status ?? pendingStatus();
      const status: RunStatus = { ...before, ...patch };
      if (sameStatus(status, before)) return current;
      try {
        return await this.deps.store.update<Run>('runs', { ...current, status });
      } catch (err) {
        if (!isRuneError(err, 'ABORTED') || attempt >= STATUS_WRITE_ATTEMPTS) throw err; // transient: requeue
        const fresh = await this.deps.store.get<Run>('runs', current.metadata!.namespace, current.metadata!.name);
        if (!fresh) throw RuneError.notFound(`run ${current.metadata!.name} is gone`);
        current = fresh;
      }
    }
  }
}

/** The attempts with the open (last) one's process recorded. Never mutates its argument. */
function withOpenAttempt(attempts: RunAttempt[], process: { pid: number; processStartTime: number }): RunAttempt[] {
  const last = attempts.at(-1);
  if (!last) return attempts;
  return [...attempts.slice(0, -1), { ...last, ...process }];
}

function stopOptions(run: Run): StopOptions {
  const template = run.spec?.template;
  return { signal: template?.stopSignal || 'SIGTERM', timeoutMs: (template?.stopTimeoutSeconds || 10) * 1000 };
}

function sameStatus(a: RunStatus, b: RunStatus): boolean {
  return canonicalJson({ ...a, lastChange: '' }) === canonicalJson({ ...b, lastChange: '' });
}

async function mtime(path: string): Promise<Date> {
  try {
    return (await stat(path)).mtime;
  } catch {
    return new Date();
  }
}
