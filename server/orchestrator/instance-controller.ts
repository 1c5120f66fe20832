/**
 * The instance controller: drives the runner so each instance record's process runs (or stops),
 * applies the restart policy with backoff, merges probe results, and removes deleted instances
 * once their process is gone. It is the one writer of instance status.
 *
 * Level-triggered: reconcile(key) reads the instance, its service and what this runed knows
 * about its process, and takes the next step. Every branch says its retry semantics.
 */
import type { Logger } from 'pino';
import { RuneError, isRuneError } from '../../shared/errors.js';
import type { Instance, InstanceStatus, ProbeStatus } from '../../shared/gen/rune/v1/instance.js';
import type { Service } from '../../shared/gen/rune/v1/service.js';
import { parseQuantity } from '../../shared/spec/quantity.js';
import type { Informer } from '../store/informer.js';
import type { LazyInformer } from '../store/lazy-informer.js';
import { canonicalJson } from '../store/kinds.js';
import type { Store } from '../store/store.js';
import { instanceEnv } from '../runner/instance-env.js';
import { listeningTcpPorts } from '../runner/proc.js';
import type { ExitInfo, ProcessHandle, Runner, StartRequest } from '../runner/runner.js';
import type { HealthMonitor, ProbeState } from './health-monitor.js';
import type { Injector } from './injection.js';
import { decideAfterExit, type BackoffOptions, type RestartPolicy } from './instance-plan.js';
import type { ReconcileResult } from './work-queue.js';

export interface InstanceControllerDeps {
  store: Store;
  runner: Runner;
  services: LazyInformer<Service>;
  instances: Informer<Instance>;
  health: HealthMonitor;
  /** Resolves secret and configmap references at start; removes mounts when a process is gone. */
  injector: Injector;
  log: Logger;
  backoff: BackoffOptions;
  /** Default working dir root for probes and exec: <dataDir>/work/<namespace>/<instance>. */
  dataDir: string;
  /** Called when the restart policy schedules a restart after an exit (metrics). */
  onRestart?: () => void;
}

const ACTIVE_PHASES = new Set(['starting', 'running', 'ready', 'stopping']);
const STATUS_WRITE_ATTEMPTS = 5;

export const instanceKey = (namespace: string, name: string) => `${namespace}/${name}`;

export class InstanceController {
  /** Processes this runed started or adopted, by instance key. */
  private readonly owned = new Map<string, ProcessHandle>();
  /** Exits reported by the runner and not yet recorded in status. */
  private readonly exits = new Map<string, ExitInfo>();
  /** Stops runed itself has begun, with why (when it is a liveness failure). */
  private readonly stopping = new Map<string, string>();
  /** Instance id → key, for the runner's exit reports. */
  private readonly keyById = new Map<string, string>();

  constructor(
    private readonly deps: InstanceControllerDeps,
    private readonly enqueue: (key: string) => void,
  ) {
    deps.runner.onExit((id, exit) => {
      const key = this.keyById.get(id);
      if (!key) return;
      this.owned.delete(key);
      this.deps.health.unwatch(key);
      this.exits.set(key, exit);
      this.removeMounts(key);
      this.enqueue(key);
    });
  }

  /** How many processes this runed supervises. */
  get supervised(): number {
    return this.owned.size;
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const { instances, services, runner, health } = this.deps;
    const slash = key.indexOf('/');
    const namespace = key.slice(0, slash);
    const name = key.slice(slash + 1);
    const instance = instances.get(namespace, name);
    if (!instance) {
      // Gone from the store: nothing to converge (its process was stopped before the delete).
      health.unwatch(key);
      return;
    }
    const status = instance.status ?? emptyStatus();
    const service = await services.get(namespace, instance.spec?.service ?? '');

    // Started by an earlier runed that died before recording the PID: find it by its
    // environment rather than start a second one.
    if (status.phase === 'starting' && !status.pid && !this.owned.has(key)) {
      const found = runner.find(namespace, name);
      if (found && runner.adopt(name, found)) {
        this.keyById.set(name, key);
        this.owned.set(key, found);
        this.deps.log.warn({ instance: name, pid: found.pid }, 'found an unrecorded process of this instance after a restart; adopted it');
        await this.writeStatus(instance, { phase: 'running', pid: found.pid, processStartTime: found.startTime, logPath: found.logPath, startedAt: new Date() });
        return; // its status event brings us back
      }
    }
    // A process recorded by an earlier runed: adopt it once, or learn that it is gone.
    if (status.pid && !this.owned.has(key) && !this.exits.has(key) && !this.stopping.has(key) && ACTIVE_PHASES.has(status.phase)) {
      const handle = { pid: status.pid, startTime: status.processStartTime, logPath: status.logPath };
      this.keyById.set(name, key);
      if (runner.adopt(name, handle)) {
        this.owned.set(key, handle);
        this.deps.log.info({ instance: name, pid: status.pid }, 'adopted a running instance');
      } else {
        this.exits.set(key, { code: -1, signal: '', daemonized: false, at: new Date() });
      }
    }

    // Deleted, or its service is gone: stop the process, then remove the record.
    if (instance.metadata?.deletionTimestamp || !service) {
      // What we supervise, or a recorded process still alive for any other reason: never leave
      // a process behind a deleted record.
      const recorded = status.pid ? { pid: status.pid, startTime: status.processStartTime, logPath: status.logPath } : undefined;
      const handle = this.owned.get(key) ?? (recorded && runner.isAlive(recorded) ? recorded : undefined);
      if (handle) {
        // Waiting: stop() resolves when the process is gone (SIGKILL after the timeout).
        await this.stop(key, name, handle, instance, service, '');
      }
      health.unwatch(key);
      this.exits.delete(key);
      this.keyById.delete(name);
      await this.deps.injector.removeMounts(namespace, name);
      await this.deps.store.delete('instances', namespace, name).catch((err) => {
        if (!isRuneError(err, 'NOT_FOUND')) throw err; // transient: requeue with backoff
      });
      return;
    }
    const spec = service.spec!;

    // An exit to record: the restart policy decides what comes next.
    const exit = this.exits.get(key);
    if (exit) {
      // The process is gone, so are its secret files (also when it died while runed was down).
      await this.deps.injector.removeMounts(namespace, name);
      const cause = this.stopping.get(key) || undefined;
      const decision = decideAfterExit({ policy: spec.restartPolicy as RestartPolicy, exit, status, now: new Date(), cause, backoff: this.deps.backoff });
      if (decision.restart && decision.status.nextRestartAt!.getTime() <= Date.now()) {
        // An immediate restart: the exit is recorded by the restart's first write (one commit
        // instead of two before the replacement runs); until then the exit stays pending, so a
        // failed write records it on the retry.
        this.deps.onRestart?.();
        return this.startWhenReady(key, instance, service, decision.status);
      }
      await this.writeStatus(instance, decision.status);
      this.exits.delete(key);
      this.stopping.delete(key);
      if (decision.restart) this.deps.onRestart?.();
      // Waiting: back when the backoff has passed; terminal otherwise.
      return decision.restart ? { requeueAfterMs: Math.max(0, decision.status.nextRestartAt!.getTime() - Date.now()) } : undefined;
    }

    const handle = this.owned.get(key);
    if (handle) {
      if (this.stopping.has(key)) return; // a stop is in flight; its exit will requeue us
      const probes = health.state(key);
      if (probes?.livenessFailed) {
        const why = `liveness probe failed: ${probes.liveness?.lastResult ?? ''}`;
        void this.stop(key, name, handle, instance, service, why).catch((err) => this.deps.log.error({ err, instance: name }, 'stop failed'));
        return;
      }
      await this.ensureProbes(key, instance, service);
      const ready = spec.health?.readiness?.type ? (health.state(key)?.readiness?.healthy ?? false) : true;
      await this.writeStatus(instance, {
        phase: ready ? 'ready' : 'running',
        ready,
        liveness: probeStatus(health.state(key)?.liveness),
        readiness: probeStatus(health.state(key)?.readiness),
      });
      return;
    }

    // Not running. Terminal, or waiting for its restart time?
    if ((status.phase === 'exited' || status.phase === 'failed') && !status.nextRestartAt) return;
    if (status.nextRestartAt && status.nextRestartAt.getTime() > Date.now()) {
      return { requeueAfterMs: status.nextRestartAt.getTime() - Date.now() };
    }
    return this.startWhenReady(key, instance, service);
  }

  /**
   * Starts the instance unless it waits for its dependencies. `exitPatch`: the status of an exit
   * not yet recorded, written with the first write here (and only then forgotten).
   */
  private async startWhenReady(key: string, instance: Instance, service: Service, exitPatch?: Partial<InstanceStatus>): Promise<ReconcileResult> {
    const { instances } = this.deps;
    const namespace = instance.metadata!.namespace;
    const spec = service.spec!;
    const waitingFor = (spec.dependencies ?? []).filter(
      (dep) => instances.filter((i) => i.metadata?.namespace === namespace && i.spec?.service === dep && i.status?.ready === true && !i.metadata?.deletionTimestamp).length === 0,
    );
    if (waitingFor.length > 0) {
      await this.writeStatus(instance, { ...exitPatch, phase: 'pending', reason: 'WaitingForDependencies', message: `waiting for a ready instance of: ${waitingFor.join(', ')}` });
      this.exitRecorded(key, exitPatch);
      return { requeueAfterMs: 1000 }; // waiting: also woken when an instance of the namespace changes
    }
    return this.start(key, instance, service, exitPatch);
  }

  /** The exit behind `exitPatch` is in the store: forget it (and the stop that caused it). */
  private exitRecorded(key: string, exitPatch: Partial<InstanceStatus> | undefined): void {
    if (!exitPatch) return;
    this.exits.delete(key);
    this.stopping.delete(key);
  }

  /** Starts the process: the intent is recorded first (with `exitPatch`, see startWhenReady), then the handle. */
  private async start(key: string, instance: Instance, service: Service, exitPatch?: Partial<InstanceStatus>): Promise<ReconcileResult> {
    const spec = service.spec!;
    const meta = instance.metadata!;
    const request: StartRequest = {
      namespace: meta.namespace,
      service: service.metadata!.name,
      instance: meta.name,
      command: spec.command,
      args: spec.args,
      workingDir: spec.workingDir,
      env: spec.env,
      ports: spec.ports,
      memoryLimitBytes: spec.resources?.memory?.limit ? (parseQuantity(spec.resources.memory.limit) ?? 0) : 0,
    };
    // Keep why the last run ended visible (describe) while the new one runs.
    const before = { ...(instance.status ?? emptyStatus()), ...exitPatch };
    const previous = before.restartCount ? before.message.replace(/; restarting.*$/, '') : '';
    // The intent must be durable before the spawn (a runed that dies right after it finds the
    // process by its env); what comes before the spawn (port check, secrets, dirs, command
    // lookup) runs while it is being committed. When the intent cannot be written, nothing is
    // started and the error is thrown (transient: requeue with backoff).
    let intentFailed = false;
    const intent = this.writeStatus(instance, { ...exitPatch, phase: 'starting', reason: '', message: previous ? `last run: ${previous}` : '' }).then(
      (written) => {
        this.exitRecorded(key, exitPatch);
        return written;
      },
      (err: unknown) => {
        intentFailed = true;
        throw err;
      },
    );
    intent.catch(() => undefined); // awaited on every path below
    this.keyById.set(meta.name, key);
    // It could not start at all (port taken, command or working dir missing): record it like a
    // failed run, so the restart policy and backoff apply and describe shows why.
    const startFailed = async (message: string, reason = 'StartFailed'): Promise<ReconcileResult> => {
      const written = await intent;
      const decision = decideAfterExit({ policy: spec.restartPolicy as RestartPolicy, exit: { code: -1, signal: '', daemonized: false, at: new Date() }, status: written.status ?? emptyStatus(), now: new Date(), backoff: this.deps.backoff });
      await this.writeStatus(written, { ...decision.status, phase: 'failed', reason, message });
      return decision.restart ? { requeueAfterMs: Math.max(0, decision.status.nextRestartAt!.getTime() - Date.now()) } : undefined;
    };
    const tcpPorts = request.ports.filter((p) => (p.protocol || 'tcp') === 'tcp').map((p) => p.port);
    if (tcpPorts.length > 0) {
      const listening = listeningTcpPorts();
      const taken = tcpPorts.filter((p) => listening.has(p));
      if (taken.length > 0) return startFailed(`port ${taken.join(', ')} is already in use by another process; free it or change ports[].port`);
    }
    // Secrets and configmaps are resolved now, into the request only: the record keeps the
    // references. A missing object or key fails this start like any other start failure
    // (restart policy and backoff apply; casting the object makes the next attempt succeed).
    try {
      request.env = await this.deps.injector.prepare(meta.namespace, meta.name, spec);
    } catch (err) {
      return startFailed(RuneError.from(err).message, 'ConfigError');
    }
    let result;
    try {
      result = await this.deps.runner.start({ ...request, notBefore: intent });
    } catch (err) {
      await this.deps.injector.removeMounts(meta.namespace, meta.name);
      if (intentFailed) throw err; // transient: nothing was started; requeue with backoff
      return startFailed(RuneError.from(err).message);
    }
    const written = await intent;
    const handle = { pid: result.pid, startTime: result.startTime, logPath: result.logPath };
    this.owned.set(key, handle);
    const ready = !spec.health?.readiness?.type;
    await this.writeStatus(written, {
      phase: ready ? 'ready' : 'running',
      ready,
      pid: result.pid,
      processStartTime: result.startTime,
      logPath: result.logPath,
      memoryLimit: result.memoryLimit,
      startedAt: new Date(),
      nextRestartAt: undefined,
    });
    await this.ensureProbes(key, instance, service, request.env);
    return;
  }

  /** Removes the mount dir of the instance behind `key` (a process is gone); failures are logged. */
  private removeMounts(key: string): void {
    const slash = key.indexOf('/');
    const [namespace, name] = [key.slice(0, slash), key.slice(slash + 1)];
    void this.deps.injector.removeMounts(namespace, name).catch((err) => this.deps.log.warn({ err, instance: name }, 'could not remove the secret mounts of a stopped instance'));
  }

  private async stop(key: string, id: string, handle: ProcessHandle, instance: Instance, service: Service | undefined, cause: string): Promise<void> {
    if (this.stopping.has(key)) return;
    this.stopping.set(key, cause);
    this.deps.health.unwatch(key);
    await this.writeStatus(instance, { phase: 'stopping', reason: cause ? 'LivenessFailed' : 'Stopping', message: cause }).catch(() => undefined);
    const signal = service?.spec?.stopSignal || 'SIGTERM';
    const timeoutMs = (service?.spec?.stopTimeoutSeconds || 10) * 1000;
    await this.deps.runner.stop(id, handle, { signal, timeoutMs });
    // The exit may already have been recorded and a new process started: forget only this one.
    if (this.owned.get(key) === handle) this.owned.delete(key);
    if (!cause) this.stopping.delete(key);
  }

  /**
   * Starts the probes of a running instance once. Exec probes get the instance's environment,
   * references resolved (`resolved` at start; for an adopted instance they are resolved again).
   */
  private async ensureProbes(key: string, instance: Instance, service: Service, resolved?: Record<string, string>): Promise<void> {
    const health = service.spec?.health;
    if (!health?.liveness?.type && !health?.readiness?.type) return;
    if (this.deps.health.isWatched(key)) return;
    const meta = instance.metadata!;
    const execProbe = health.liveness?.type === 'exec' || health.readiness?.type === 'exec';
    const serviceEnv = execProbe ? (resolved ?? (await this.deps.injector.resolveEnv(meta.namespace, meta.name, service.spec!).catch(() => service.spec!.env))) : service.spec!.env;
    if (this.deps.health.isWatched(key)) return; // watched while we resolved
    const env = instanceEnv({ namespace: meta.namespace, service: service.metadata!.name, instance: meta.name, env: serviceEnv, ports: service.spec!.ports });
    const cwd = service.spec!.workingDir || `${this.deps.dataDir}/work/${meta.namespace}/${meta.name}`;
    this.deps.health.watch(key, { liveness: health.liveness, readiness: health.readiness }, { host: '127.0.0.1', env, cwd });
  }

  /**
   * Merges `patch` into the instance's status with compare-and-set, re-reading on conflict
   * (the health results and a deletion may race with us). Skips the write when nothing changes.
   */
  private async writeStatus(instance: Instance, patch: Partial<InstanceStatus>): Promise<Instance> {
    let current = instance;
    for (let attempt = 1; ; attempt++) {
      const status = { ...(current.status ?? emptyStatus()), ...patch };
      if (canonicalJson(status) === canonicalJson(current.status)) return current;
      try {
        return await this.deps.store.update<Instance>('instances', { ...current, status });
      } catch (err) {
        if (!isRuneError(err, 'ABORTED') || attempt >= STATUS_WRITE_ATTEMPTS) throw err; // transient: requeue
        const fresh = await this.deps.store.get<Instance>('instances', current.metadata!.namespace, current.metadata!.name);
        if (!fresh) throw RuneError.notFound(`instance ${current.metadata!.name} is gone`);
        current = fresh;
      }
    }
  }
}

function probeStatus(state: ProbeState | undefined): ProbeStatus | undefined {
  if (!state) return undefined;
  return {
    healthy: state.healthy,
    consecutiveFailures: state.consecutiveFailures,
    consecutiveSuccesses: Math.min(state.consecutiveSuccesses, 1), // do not rewrite status on every success
    lastResult: state.consecutiveFailures > 0 || !state.healthy ? state.lastResult : 'ok',
    lastProbeAt: undefined,
  };
}

export function emptyStatus(): InstanceStatus {
  return {
    phase: 'pending',
    reason: '',
    message: '',
    pid: 0,
    processStartTime: 0,
    restartCount: 0,
    lastExitCode: 0,
    lastExitSignal: '',
    startedAt: undefined,
    finishedAt: undefined,
    nextRestartAt: undefined,
    ready: false,
    liveness: undefined,
    readiness: undefined,
    memoryLimit: '',
    logPath: '',
    consecutiveRestarts: 0,
  };
}
