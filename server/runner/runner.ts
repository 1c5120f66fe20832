/**
 * The Runner contract: how the orchestrator starts, stops, adopts and watches the workloads of
 * one node. The process runner (process-runner.ts) is the first implementation; docker and
 * kubernetes runners come later behind the same interface.
 *
 * Workloads outlive runed: a runner never kills what it started when runed stops, and after a
 * restart `adopt` takes over a live workload by its handle, never trusting a reused PID.
 */

/**
 * What a workload is: an instance of a service (the default) or one attempt of a job's run.
 * It decides the identifying variables (RUNE_SERVICE + RUNE_INSTANCE, or RUNE_JOB + RUNE_RUN)
 * and so what `find` looks for.
 */
export type WorkloadKind = 'instance' | 'run';

/** What to run for one instance (or one attempt of a run, see `kind`). */
export interface StartRequest {
  namespace: string;
  /** The service; for kind 'run', the job. */
  service: string;
  /** The instance id, e.g. "web-7f3k2"; for kind 'run', the run id. Exit reports name it. */
  instance: string;
  /** Default 'instance'. */
  kind?: WorkloadKind;
  /** File receiving stdout and stderr (appended; its folder is created); default: the runner's own per-instance file. */
  logPath?: string;
  /**
   * When set, the command runs under a small `/bin/sh` wrapper that writes the command's exit
   * status to this file before exiting with it, so the status is known even to a runed that
   * adopted the workload (a process that is not its child); see process-runner.ts.
   */
  exitFile?: string;
  command: string;
  args: string[];
  /** Absolute; '' means the runner's default (the data dir's work folder for the instance). */
  workingDir: string;
  /** The service's env; the runner adds RUNE_SERVICE, RUNE_NAMESPACE, RUNE_INSTANCE, RUNE_PORT_<NAME> (RUNE_JOB and RUNE_RUN for a run). */
  env: Record<string, string>;
  ports: { name: string; port: number; protocol: string }[];
  /** Bytes; 0 means no limit. */
  memoryLimitBytes: number;
  /**
   * The spawn waits for this (e.g. the durable record of the intent to start), while the rest
   * of the start (dirs, command lookup) goes ahead. When it rejects, start rejects with the same
   * error and starts nothing.
   */
  notBefore?: Promise<unknown>;
}

/** Node-local identity of a running workload. */
export interface ProcessHandle {
  pid: number;
  /** Start time of the process (clock ticks since boot, /proc/<pid>/stat field 22). */
  startTime: number;
  /** File receiving the workload's stdout and stderr. */
  logPath: string;
}

export interface StartResult extends ProcessHandle {
  /** "rlimit-as" when the memory limit is enforced, "not enforced: <why>", or '' with no limit. */
  memoryLimit: string;
}

export interface ExitInfo {
  /** Exit code; -1 when unknown (an adopted process is not our child) or killed by a signal. */
  code: number;
  /** Signal name when killed by one, else ''. */
  signal: string;
  /**
   * The main process exited but left others running in its process group (it daemonized):
   * the runner reports it instead of losing track silently.
   */
  daemonized: boolean;
  at: Date;
}

export interface StopOptions {
  /** Signal name sent first, e.g. "SIGTERM". */
  signal: string;
  /** Then SIGKILL after this long. */
  timeoutMs: number;
}

export type ExitListener = (instance: string, exit: ExitInfo) => void;

export interface Runner {
  /**
   * Starts the workload. Fails (RuneError FAILED_PRECONDITION, naming the cause) when it cannot
   * start at all: command not found or not executable, working dir missing.
   */
  start(request: StartRequest): Promise<StartResult>;
  /**
   * Takes over a workload started earlier (by this or a previous runed). Returns false when it
   * is gone or the PID now belongs to another process (start time differs). Once adopted, its
   * exit is reported through onExit.
   */
  adopt(instance: string, handle: ProcessHandle): boolean;
  /**
   * Finds a live workload of this instance that no record points at: one started just before
   * runed died, before its handle could be written. Undefined when there is none. `options.kind`
   * says what `instance` names (default 'instance'); `options.logPath` is the log file it was
   * started with, when not the runner's default.
   */
  find(namespace: string, instance: string, options?: { kind?: WorkloadKind; logPath?: string }): ProcessHandle | undefined;
  /** Stops the workload (signal to its process group, SIGKILL after the timeout); resolves on exit. */
  stop(instance: string, handle: ProcessHandle, options: StopOptions): Promise<ExitInfo>;
  /** True while the process of `handle` runs (same PID and start time). */
  isAlive(handle: ProcessHandle): boolean;
  /** Registers the listener called once per exit of a started or adopted workload. */
  onExit(listener: ExitListener): void;
  /** Stops watching; leaves every workload running. */
  close(): Promise<void>;
}
