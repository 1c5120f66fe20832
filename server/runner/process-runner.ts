/**
 * The process runner: runs each instance as a local process tree that outlives runed.
 *
 * - Every workload is spawned detached (its own session and process group, pgid == pid), with
 *   stdin from /dev/null and stdout+stderr appended to `<dataDir>/logs/<namespace>/<instance>.log`.
 *   Nothing ties it to runed: when runed stops, workloads keep running; the next runed `adopt`s
 *   them by PID + start time (a reused PID has another start time, so it is never taken over).
 * - Exits are reported exactly once per started or adopted workload through `onExit` listeners:
 *   from the child's 'exit' event for processes this runner spawned (real code and signal), and
 *   by polling /proc every `pollMs` for adopted ones (code -1: not our child, status unknown).
 *   A zombie counts as exited. Exits of stopped workloads are reported too; the orchestrator tells
 *   them apart by the instance's phase.
 * - Logs are rotated by copy-and-truncate (see `rotateLog`), because the workload holds its own
 *   O_APPEND descriptor that runed cannot reopen.
 *
 * Cost model (a benchmark starts 500 instances): the start path does a handful of async fs calls,
 * one spawn and one read of /proc/<pid>/stat; no per-instance timers. One shared timer checks at
 * most MAX_CHECKS_PER_TICK workloads per tick (round robin). Scanning all of /proc (to find the
 * members of a process group) happens only when a workload exits and its group is not empty.
 *
 * Linux only (it reads /proc): the constructor throws RuneError UNIMPLEMENTED elsewhere.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, close as closeFd, closeSync, constants as fsConstants, ftruncateSync, open as openFd, openSync, readSync, statSync, writeSync } from 'node:fs';
import { copyFile, mkdir, rename, stat, truncate } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { promisify } from 'node:util';
import type { Logger } from 'pino';
import { RuneError } from '../../shared/errors.js';
import { instanceEnv } from './instance-env.js';
import { findProcessByEnv, liveGroupSizes, readProcStat, requireLinux } from './proc.js';
import { resolveCommand } from './resolve-command.js';
import { SpawnFailed, SpawnerGone, Spawner, type SpawnRequest } from './spawner.js';
import type { ExitInfo, ExitListener, ProcessHandle, Runner, StartRequest, StartResult, StopOptions, WorkloadKind } from './runner.js';

const openAsync = promisify(openFd);

/** Where util-linux's prlimit is expected; it sets the rlimit and execs the command in place. */
const PRLIMIT_PATH = '/usr/bin/prlimit';
/** Upper bound of workloads examined (liveness of adopted ones, log size) per poll tick. */
const MAX_CHECKS_PER_TICK = 512;
/** How often workloads being stopped are checked when they are not our children. */
const STOP_POLL_MS = 25;

export interface ProcessRunnerOptions {
  /**
   * runed's data dir. Logs go to `<dataDir>/logs/<namespace>/<instance>.log` unless the request
   * names its own file; an instance without a working dir runs in
   * `<dataDir>/work/<namespace>/<instance>` (created, mode 0700).
   */
  dataDir: string;
  /** A live workload's log is rotated once it is larger than this. Default 10 MiB. */
  logMaxBytes?: number;
  /** Rotated files kept (`<log>.1` newest ... `<log>.<logKeep>` oldest); 0 only truncates. Default 1. */
  logKeep?: number;
  /** How often adopted processes and log sizes are checked, in milliseconds. Default 1000. */
  pollMs?: number;
  /** Where the runner reports what it does; silent when absent. */
  log?: Logger;
  /**
   * Who forks workloads. 'helper' (the default): a small Node child of runed (spawner.ts), so a
   * fork costs what it costs from a small heap, not from runed's; its children's exits are
   * relayed with their real status. When the helper cannot start, or dies, the runner spawns
   * from runed itself until a new helper is up ('direct' always does). Either way workloads are
   * detached process groups that outlive runed and the helper.
   */
  spawner?: 'helper' | 'direct';
}

/** A helper that failed this many times in a row before answering is not tried again. */
const SPAWNER_MAX_FAILURES = 3;
/** The least time between two helper starts. */
const SPAWNER_RESTART_MS = 1000;

/**
 * The log files of one instance, oldest first: `<log>.<keep>`, ..., `<log>.1`, `<log>`. Pure: some
 * may not exist (yet, or any more, e.g. mid-rotation), so a reader skips ENOENT.
 */
export function logFiles(logPath: string, keep: number): string[] {
  const files: string[] = [];
  for (let i = Math.max(0, Math.floor(keep)); i >= 1; i--) files.push(`${logPath}.${i}`);
  files.push(logPath);
  return files;
}

/**
 * How a memory limit is applied: the command prefix to run the workload through, and the
 * StartResult.memoryLimit text. `rlimit-as` caps the address space (RLIMIT_AS), which is a rough
 * proxy for memory: runtimes that reserve large virtual ranges up front (Node, the JVM, Go) may
 * fail to start under a limit that their resident memory would fit.
 */
export function planMemoryLimit(limitBytes: number, host: { platform: NodeJS.Platform; prlimitPath: string | undefined }): { prefix: string[]; memoryLimit: string } {
  if (!(limitBytes > 0)) return { prefix: [], memoryLimit: '' };
  if (host.platform !== 'linux') return { prefix: [], memoryLimit: `not enforced on ${host.platform}` };
  if (host.prlimitPath === undefined) return { prefix: [], memoryLimit: 'not enforced: prlimit not found' };
  return { prefix: [host.prlimitPath, `--as=${Math.floor(limitBytes)}`, '--'], memoryLimit: 'rlimit-as' };
}

/**
 * The exit-status wrapper of workloads started with `exitFile` (job runs), run as
 * `/bin/sh -c EXIT_WRAPPER rune-exit <exitFile> <executable> <args...>`.
 *
 * Why: an adopted workload is not runed's child, so its exit status is lost (the kernel gives it
 * to the parent only). The shell stays the group leader and parent of the command, writes the
 * command's status (`$?`: its exit code, or 128+N when signal N killed it) to the file, then
 * exits with the same status; a later runed reads the file.
 *
 * Signals: a stop signals the whole process group, so the command gets the signal directly. The
 * shell traps the usual stop signals with a no-op handler (not `trap ''`, which the command
 * would inherit as "ignored"): POSIX shells run a trap only after the foreground command has
 * finished, so the shell outlives the command, still records its status, and the group leader's
 * exit means the command is done. SIGKILL (after the stop timeout) kills both; no file then.
 */
export const EXIT_WRAPPER = 'f=$1; shift; trap : HUP INT QUIT TERM USR1 USR2; "$@"; c=$?; echo "$c" > "$f"; exit "$c"';
const SHELL_PATH = '/bin/sh';

/**
 * Rotates `logPath` by copy-and-truncate: shifts `<log>.1..<keep-1>` up by one, copies the log to
 * `<log>.1`, then truncates the log to 0 bytes. The workload keeps its O_APPEND descriptor, so
 * its next write lands at the new end (offset 0), with no hole.
 *
 * The copy runs asynchronously; then, synchronously (nothing else of runed runs in between),
 * whatever was appended meanwhile is copied too and the log is truncated at once. What the
 * workload writes between that last read and the truncate — a few microseconds — is lost;
 * that window is inherent to copy-and-truncate (the workload's descriptor cannot be swapped).
 */
async function rotateLog(logPath: string, keep: number): Promise<void> {
  for (let i = keep; i >= 2; i--) {
    try {
      await rename(`${logPath}.${i - 1}`, `${logPath}.${i}`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  if (keep < 1) {
    await truncate(logPath, 0);
    return;
  }
  const copyPath = `${logPath}.1`;
  await copyFile(logPath, copyPath);
  let copied = statSync(copyPath).size;
  const src = openSync(logPath, 'r+');
  const dst = openSync(copyPath, 'a');
  try {
    const buffer = Buffer.allocUnsafe(64 * 1024);
    // Bounded: a workload writing faster than runed can copy gets truncated after 64 MiB more.
    for (let chunk = 0; chunk < 1024; chunk++) {
      const n = readSync(src, buffer, 0, buffer.length, copied);
      if (n === 0) break;
      writeSync(dst, buffer, 0, n);
      copied += n;
    }
    ftruncateSync(src, 0);
  } finally {
    closeSync(src);
    closeSync(dst);
  }
}

/** A path segment taken from a request: no separators, not '.' or '..'. */
function pathSegment(field: string, value: string): string {
  if (value === '' || value === '.' || value === '..' || value.includes('/') || value.includes('\0')) {
    throw RuneError.invalid(field, `"${value}" cannot name a file; use letters, digits, '-' and '.'`);
  }
  return value;
}

function errnoCode(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/** A spawn failure as a RuneError naming the cause. */
function spawnFailure(command: string, err: unknown): RuneError {
  const message = err instanceof Error ? err.message : String(err);
  switch (errnoCode(err)) {
    case 'ENOENT':
      return new RuneError('FAILED_PRECONDITION', `command "${command}" not found in PATH (spawn: ${message})`, { cause: err });
    case 'EACCES':
      return new RuneError('FAILED_PRECONDITION', `command "${command}" is not executable (spawn: ${message})`, { cause: err });
    case 'EAGAIN':
    case 'EMFILE':
    case 'ENFILE':
    case 'ENOMEM':
      // Transient: the host is out of processes or descriptors; the caller may retry later.
      return new RuneError('RESOURCE_EXHAUSTED', `cannot start "${command}": ${message}; the host is out of processes, memory or file descriptors`, { cause: err });
    default:
      return new RuneError('INTERNAL', `cannot start "${command}": ${message}`, { cause: err });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** One workload this runner watches, keyed by PID. */
interface Watch {
  readonly instance: string;
  readonly handle: ProcessHandle;
  /** Set when this runner spawned it: its 'exit' event gives the real status. */
  child: ChildProcess | undefined;
  /** Spawned by the helper, which relays its exit with the real status (until the helper dies). */
  relayed: boolean;
  onChildExit: ((code: number | null, signal: NodeJS.Signals | null) => void) | undefined;
  /** True until start() has returned: its exit is reported to listeners only afterwards. */
  starting: boolean;
  exit: ExitInfo | undefined;
  waiters: { resolve: (exit: ExitInfo) => void; reject: (err: Error) => void }[];
}

export class ProcessRunner implements Runner {
  private readonly dataDir: string;
  private readonly logMaxBytes: number;
  private readonly logKeep: number;
  private readonly pollMs: number;
  private readonly log: Logger | undefined;
  private readonly prlimitPath: string | undefined;

  private readonly watched = new Map<number, Watch>();
  /** Adopted workloads being stopped: checked every STOP_POLL_MS instead of every pollMs. */
  private readonly stopping = new Set<Watch>();
  private readonly groupReapers = new Set<NodeJS.Timeout>();
  private listeners: ExitListener[] = [];
  private readonly pollTimer: NodeJS.Timeout;
  private stopTimer: NodeJS.Timeout | undefined;
  private tickInFlight: Promise<void> | undefined;
  private cursor = 0;
  private closed = false;
  private readonly useSpawner: boolean;
  private spawner: Spawner | undefined;
  private spawnerFailures = 0;
  private spawnerStartedAt = 0;
  /** Exits the helper relayed before start() tracked the process, by `${pid}:${startTime}`. */
  private readonly earlyExits = new Map<string, { code: number; signal: string }>();
  /** Log folders this runner has made (see ensureLogDir). */
  private readonly logDirs = new Set<string>();
  /** One /proc scan answers the group questions of many exits (see liveGroupSize). */
  private groupSnapshot: { sizes: Map<number, number>; takenAt: number; sameTurn: boolean } | undefined;

  /** Throws RuneError UNIMPLEMENTED when not on Linux. */
  constructor(options: ProcessRunnerOptions) {
    requireLinux('the process runner');
    this.dataDir = options.dataDir;
    this.logMaxBytes = options.logMaxBytes ?? 10 * 1024 * 1024;
    this.logKeep = Math.max(0, Math.floor(options.logKeep ?? 1));
    this.pollMs = Math.max(1, options.pollMs ?? 1000);
    this.log = options.log;
    this.prlimitPath = isExecutable(PRLIMIT_PATH) ? PRLIMIT_PATH : undefined;
    this.useSpawner = (options.spawner ?? 'helper') === 'helper';
    // Started now, so its ~50 ms of start-up overlap runed's own.
    if (this.useSpawner) this.startSpawner();
    // One timer for everything; unref'd so it never keeps runed alive.
    this.pollTimer = setInterval(() => this.tick(), this.pollMs);
    this.pollTimer.unref();
  }

  /** The log file of an instance. */
  logPath(namespace: string, instance: string): string {
    return join(this.dataDir, 'logs', pathSegment('namespace', namespace), `${pathSegment('instance', instance)}.log`);
  }

  async start(request: StartRequest): Promise<StartResult> {
    this.assertOpen();
    const logPath = request.logPath || this.logPath(request.namespace, request.instance);
    const env = instanceEnv(request);
    const logDir = dirname(logPath);
    const [cwd] = await Promise.all([this.workingDir(request), this.ensureLogDir(logDir)]);
    const executable = await resolveCommand(request.command, env.PATH ?? '', cwd);
    const plan = planMemoryLimit(request.memoryLimitBytes, { platform: process.platform, prlimitPath: this.prlimitPath });
    const wrapper = request.exitFile ? [SHELL_PATH, '-c', EXIT_WRAPPER, 'rune-exit', request.exitFile] : [];
    const [file, ...args] = [...plan.prefix, ...wrapper, executable, ...request.args];
    // Keep the name the user wrote as argv[0] (ps shows it); prlimit passes the path on.
    const argv0 = plan.prefix.length === 0 && wrapper.length === 0 ? request.command : undefined;
    const spawnRequest: SpawnRequest = { file: file!, args, cwd, env, logPath, ...(argv0 !== undefined ? { argv0 } : {}) };
    await request.notBefore;
    const spawner = await this.readySpawner();
    const startOnce = () => (spawner ? this.startByHelper(spawner, request, spawnRequest) : this.startDirect(request, spawnRequest));
    let handle: ProcessHandle;
    try {
      handle = await startOnce();
    } catch (err) {
      // The log dir went away since this runner made it (removed by hand): make it again, once.
      if (!(errnoCode(err) === 'ENOENT' && (err as NodeJS.ErrnoException).syscall === 'open')) throw err;
      this.logDirs.delete(logDir);
      await this.ensureLogDir(logDir);
      handle = await startOnce();
    }
    this.log?.debug({ instance: request.instance, pid: handle.pid, command: request.command }, 'workload started');
    return { ...handle, memoryLimit: plan.memoryLimit };
  }

  /** Spawns from runed itself; the child's 'exit' event gives the real status. */
  private async startDirect(request: StartRequest, spawnRequest: SpawnRequest): Promise<ProcessHandle> {
    const { file, args, cwd, env, argv0, logPath } = spawnRequest;
    const fd = await openAsync(logPath, fsConstants.O_WRONLY | fsConstants.O_APPEND | fsConstants.O_CREAT, 0o600);
    let child: ChildProcess;
    try {
      this.assertOpen(); // closed while we awaited: start nothing that no one would watch
      child = spawn(file, args, {
        cwd,
        env,
        detached: true, // setsid(): its own session and process group, so it survives runed
        stdio: ['ignore', fd, fd],
        ...(argv0 !== undefined ? { argv0 } : {}),
      });
    } catch (err) {
      throw err instanceof RuneError ? err : spawnFailure(request.command, err);
    } finally {
      // The child has its own copy; the parent's is no longer needed.
      closeFd(fd, (err) => err && this.log?.warn({ err, logPath }, 'closing log descriptor failed'));
    }
    const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
    const pid = child.pid;
    if (pid === undefined) throw spawnFailure(request.command, await spawnError);
    // Later errors (e.g. from signalling) must not crash runed.
    child.on('error', (err) => this.log?.warn({ err, instance: request.instance, pid }, 'workload process error'));

    // Until exec or exit, /proc/<pid>/stat exists: libuv returns from spawn after exec, and the
    // child cannot be reaped before the event loop runs. Retry briefly all the same.
    const handle: ProcessHandle = { pid, startTime: readProcStat(pid)?.startTime ?? 0, logPath };
    const watch = this.track(request.instance, handle, child);
    child.unref();
    for (let attempt = 0; handle.startTime === 0 && attempt < 5 && !watch.exit; attempt++) {
      await sleep(2);
      handle.startTime = readProcStat(pid)?.startTime ?? 0;
    }
    this.started(watch);
    return handle;
  }

  /**
   * Spawns through the helper. If the helper dies before answering, whether it started the
   * process is unknown: a live group leader with this workload's identity is taken over (as
   * adopted), otherwise runed spawns it itself.
   */
  private async startByHelper(spawner: Spawner, request: StartRequest, spawnRequest: SpawnRequest): Promise<ProcessHandle> {
    const logPath = spawnRequest.logPath;
    let spawned;
    try {
      this.assertOpen(); // closed while we awaited: start nothing that no one would watch
      spawned = await spawner.spawn(spawnRequest);
    } catch (err) {
      if (err instanceof SpawnFailed) {
        // The same errors, and so the same messages, as a spawn from runed.
        throw err.phase === 'spawn' ? spawnFailure(request.command, err.cause) : err.cause;
      }
      if (!(err instanceof SpawnerGone)) throw err;
      this.assertOpen();
      const found = this.find(request.namespace, request.instance, { kind: request.kind ?? 'instance', logPath });
      if (found && this.adopt(request.instance, found)) {
        this.log?.warn({ instance: request.instance, pid: found.pid }, 'the spawner helper died while starting a workload; took over the process it had started');
        return found;
      }
      return this.startDirect(request, spawnRequest);
    }
    const handle: ProcessHandle = { pid: spawned.pid, startTime: spawned.startTime, logPath };
    if (this.closed) return handle; // closed meanwhile: the workload runs on, like any other
    const existing = this.watched.get(handle.pid);
    if (existing) this.report(existing, -1, ''); // its PID belongs to this new process now
    const watch = this.track(request.instance, handle, undefined, true);
    const key = `${handle.pid}:${handle.startTime}`;
    const early = this.earlyExits.get(key);
    if (early) {
      this.earlyExits.delete(key);
      this.report(watch, early.code, early.signal);
    }
    this.started(watch);
    return handle;
  }

  /** start() is returning: an exit that came before is reported after the caller has seen the handle. */
  private started(watch: Watch): void {
    watch.starting = false;
    if (watch.exit) setImmediate(() => this.emitExit(watch));
  }

  /** The helper, started if needed; undefined when it is off, gave up, or is not up. */
  private async readySpawner(): Promise<Spawner | undefined> {
    if (!this.useSpawner) return undefined;
    if (!this.spawner && this.spawnerFailures < SPAWNER_MAX_FAILURES && Date.now() - this.spawnerStartedAt >= SPAWNER_RESTART_MS) this.startSpawner();
    const spawner = this.spawner;
    if (!spawner) return undefined;
    if (!(await spawner.ready)) return undefined;
    return spawner.alive && this.spawner === spawner ? spawner : undefined;
  }

  private startSpawner(): void {
    this.spawnerStartedAt = Date.now();
    const spawner: Spawner = new Spawner({
      log: this.log,
      onExit: (pid, startTime, code, signal) => this.relayedExit(pid, startTime, code, signal),
      onGone: () => this.spawnerGone(spawner),
    });
    this.spawner = spawner;
    void spawner.ready.then((ok) => {
      if (ok) this.spawnerFailures = 0;
      else if (++this.spawnerFailures >= SPAWNER_MAX_FAILURES) this.log?.warn({ failures: this.spawnerFailures }, 'the spawner helper keeps failing to start; spawning from runed from now on');
    });
  }

  /** An exit the helper relayed: real code and signal. */
  private relayedExit(pid: number, startTime: number, code: number, signal: string): void {
    if (this.closed) return;
    const watch = this.watched.get(pid);
    if (watch && watch.handle.startTime === startTime) {
      this.report(watch, code, signal);
      return;
    }
    // Not tracked yet: start() is still on its way from the 'started' message.
    if (this.earlyExits.size >= 1024) this.earlyExits.clear();
    this.earlyExits.set(`${pid}:${startTime}`, { code, signal });
  }

  /**
   * The helper is gone: its children were re-parented and are watched like adopted processes
   * from now on (polled; exit status unknown). A new helper starts with the next start().
   */
  private spawnerGone(spawner: Spawner): void {
    if (this.spawner === spawner) this.spawner = undefined;
    if (this.closed) return;
    for (const watch of this.watched.values()) {
      if (!watch.relayed) continue;
      watch.relayed = false;
      if (watch.waiters.length > 0) this.watchStopping(watch);
    }
  }

  adopt(instance: string, handle: ProcessHandle): boolean {
    this.assertOpen();
    const existing = this.watched.get(handle.pid);
    if (existing && existing.handle.startTime === handle.startTime) return this.isAlive(handle);
    if (!this.isAlive(handle)) return false;
    // The PID now belongs to this process, so whatever we watched under it before is gone.
    if (existing) this.report(existing, -1, '');
    this.track(instance, { pid: handle.pid, startTime: handle.startTime, logPath: handle.logPath }, undefined);
    this.log?.info({ instance, pid: handle.pid }, 'workload adopted');
    return true;
  }

  find(namespace: string, instance: string, options: { kind?: WorkloadKind; logPath?: string } = {}): ProcessHandle | undefined {
    this.assertOpen();
    // Group leaders only: the workload is its group's leader (spawned detached).
    const identity: Record<string, string> = options.kind === 'run' ? { RUNE_RUN: instance } : { RUNE_INSTANCE: instance };
    const pid = findProcessByEnv({ RUNE_NAMESPACE: namespace, ...identity }, { groupLeadersOnly: true });
    const stat = pid ? readProcStat(pid) : undefined;
    if (!pid || !stat) return undefined;
    return { pid, startTime: stat.startTime, logPath: options.logPath || this.logPath(namespace, instance) };
  }

  async stop(instance: string, handle: ProcessHandle, options: StopOptions): Promise<ExitInfo> {
    this.assertOpen();
    if (!(options.signal in osConstants.signals)) throw RuneError.invalid('signal', `"${options.signal}" is not a signal name; use e.g. SIGTERM`);
    let watch = this.watched.get(handle.pid);
    if (watch && watch.handle.startTime !== handle.startTime) watch = undefined;
    if (!watch) {
      // Neither started nor adopted here: gone means nothing to report; alive means watch it now.
      if (!this.isAlive(handle)) return { code: -1, signal: '', daemonized: false, at: new Date() };
      watch = this.track(instance, { pid: handle.pid, startTime: handle.startTime, logPath: handle.logPath }, undefined);
    }
    const exited = this.exited(watch);
    const pid = handle.pid;
    if (!this.isAlive(handle)) {
      // Already dead: an adopted one is reported now; a child's 'exit' event (or the helper's
      // relay of it) is on its way.
      if (!watch.child && !watch.relayed) this.report(watch, -1, '');
      return exited;
    }
    // A stop in progress keeps runed alive until the exit.
    if (watch.child) watch.child.ref();
    else if (watch.relayed && this.spawner) {
      const spawner = this.spawner;
      spawner.hold();
      void exited.finally(() => spawner.release()).catch(() => undefined);
    } else this.watchStopping(watch);

    const deadline = Date.now() + Math.max(0, options.timeoutMs);
    this.signalGroup(pid, options.signal);
    let exit = await withTimeout(exited, options.timeoutMs);
    if (exit === undefined) {
      this.log?.info({ instance, pid, signal: options.signal, timeoutMs: options.timeoutMs }, 'workload ignored the stop signal; sending SIGKILL');
      if (this.isAlive(handle)) this.signalGroup(pid, 'SIGKILL');
      exit = await exited;
    } else {
      this.killGroupLeftovers(pid, deadline - Date.now());
    }
    return exit;
  }

  isAlive(handle: ProcessHandle): boolean {
    const stat = readProcStat(handle.pid);
    return stat !== undefined && stat.state !== 'Z' && stat.startTime === handle.startTime && handle.startTime !== 0;
  }

  onExit(listener: ExitListener): void {
    this.listeners.push(listener);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.pollTimer);
    if (this.stopTimer) clearInterval(this.stopTimer);
    for (const timer of this.groupReapers) clearTimeout(timer);
    this.groupReapers.clear();
    const closedError = new RuneError('CANCELLED', 'the process runner was closed while waiting for a workload to exit; it is still being stopped by its signal');
    for (const watch of this.watched.values()) {
      if (watch.child && watch.onChildExit) {
        watch.child.off('exit', watch.onChildExit);
        watch.child.unref();
      }
      watch.child = undefined;
      for (const waiter of watch.waiters) waiter.reject(closedError);
      watch.waiters = [];
    }
    this.watched.clear();
    this.stopping.clear();
    this.listeners = [];
    this.earlyExits.clear();
    this.spawner?.close(); // the helper exits; the workloads run on
    this.spawner = undefined;
    await this.tickInFlight;
  }

  private assertOpen(): void {
    if (this.closed) throw new RuneError('FAILED_PRECONDITION', 'the process runner is closed; create a new one');
  }

  /**
   * Creates a log folder once per runner: a recursive mkdir of an existing folder costs an
   * exception inside Node on every start. If it is removed later, start() makes it again.
   */
  private async ensureLogDir(dir: string): Promise<void> {
    if (this.logDirs.has(dir)) return;
    await mkdir(dir, { recursive: true, mode: 0o700 });
    if (this.logDirs.size >= 4096) this.logDirs.clear();
    this.logDirs.add(dir);
  }

  /** The instance's working dir: the request's (which must exist) or its own under the data dir. */
  private async workingDir(request: StartRequest): Promise<string> {
    if (request.workingDir === '') {
      const dir = join(this.dataDir, 'work', pathSegment('namespace', request.namespace), pathSegment('instance', request.instance));
      // Usually new, in a folder that exists: one plain mkdir; recursive only when that fails.
      try {
        await mkdir(dir, { mode: 0o700 });
      } catch (err) {
        if (errnoCode(err) !== 'EEXIST') await mkdir(dir, { recursive: true, mode: 0o700 });
      }
      return dir;
    }
    const dir = request.workingDir;
    if (!isAbsolute(dir)) throw RuneError.invalid('workingDir', `"${dir}" must be an absolute path`);
    let isDirectory: boolean;
    try {
      isDirectory = (await stat(dir)).isDirectory();
    } catch {
      throw new RuneError('FAILED_PRECONDITION', `working dir ${dir} does not exist; create it on this node or change workingDir`);
    }
    if (!isDirectory) throw new RuneError('FAILED_PRECONDITION', `working dir ${dir} is not a directory; point workingDir at a directory`);
    return dir;
  }

  private track(instance: string, handle: ProcessHandle, child: ChildProcess | undefined, relayed = false): Watch {
    const watch: Watch = { instance, handle, child, relayed, onChildExit: undefined, starting: child !== undefined || relayed, exit: undefined, waiters: [] };
    if (child) {
      watch.onChildExit = (code, signal) => this.report(watch, code ?? -1, signal ?? '');
      child.once('exit', watch.onChildExit);
    }
    this.watched.set(handle.pid, watch);
    return watch;
  }

  /** Records the exit of `watch` (once), wakes stop() callers and, unless still starting, listeners. */
  private report(watch: Watch, code: number, signal: string): void {
    if (watch.exit) return;
    const pid = watch.handle.pid;
    // Daemonized: the main process exited cleanly (or, adopted, with an unknown status) while
    // others live on in its group. Only then is /proc scanned.
    const cleanOrUnknown = code === 0 || (code === -1 && signal === '');
    const exit: ExitInfo = { code, signal, daemonized: cleanOrUnknown && this.liveGroupSize(pid, 0) > 0, at: new Date() };
    watch.exit = exit;
    if (this.watched.get(pid) === watch) this.watched.delete(pid);
    this.stopping.delete(watch);
    watch.child = undefined;
    watch.relayed = false;
    for (const waiter of watch.waiters) waiter.resolve(exit);
    watch.waiters = [];
    this.log?.info({ instance: watch.instance, pid, code, signal, daemonized: exit.daemonized }, 'workload exited');
    if (!watch.starting) this.emitExit(watch);
  }

  private emitExit(watch: Watch): void {
    for (const listener of this.listeners) {
      try {
        listener(watch.instance, watch.exit!);
      } catch (err) {
        this.log?.error({ err, instance: watch.instance }, 'exit listener threw');
      }
    }
  }

  private exited(watch: Watch): Promise<ExitInfo> {
    if (watch.exit) return Promise.resolve(watch.exit);
    return new Promise((resolve, reject) => watch.waiters.push({ resolve, reject }));
  }

  /** Sends `signal` to the process group of `pid`; to the process alone if it left its group. */
  private signalGroup(pid: number, signal: string): void {
    try {
      process.kill(-pid, signal);
      return;
    } catch (err) {
      if (errnoCode(err) === 'EPERM') throw new RuneError('FAILED_PRECONDITION', `runed may not signal process group ${pid} (EPERM); it runs as another user`, { cause: err });
      if (errnoCode(err) !== 'ESRCH') throw RuneError.from(err);
    }
    try {
      process.kill(pid, signal);
    } catch (err) {
      if (errnoCode(err) !== 'ESRCH') throw RuneError.from(err);
    }
  }

  /**
   * After a stop, the main process is gone but members of its group may still be shutting down:
   * they get the rest of the stop timeout, then SIGKILL.
   */
  private killGroupLeftovers(pgid: number, graceMs: number): void {
    const timer = setTimeout(() => {
      this.groupReapers.delete(timer);
      if (this.liveGroupSize(pgid, 100) === 0) return;
      this.log?.info({ pgid }, 'processes left in a stopped workload\'s group; sending SIGKILL');
      try {
        process.kill(-pgid, 'SIGKILL');
      } catch {
        // ESRCH: they went in the meantime.
      }
    }, Math.max(0, graceMs));
    timer.unref();
    this.groupReapers.add(timer);
  }

  /**
   * How many live processes are in group `pgid`. A kill(-pgid, 0) answers "none" for free in the
   * common case; otherwise (live members, or only a zombie leader nobody has reaped yet, which is
   * what adopted workloads leave when init does not reap) one /proc scan is shared by every
   * question asked in the same event-loop turn, or within `maxAgeMs` of it.
   */
  private liveGroupSize(pgid: number, maxAgeMs: number): number {
    try {
      process.kill(-pgid, 0);
    } catch (err) {
      if (errnoCode(err) === 'ESRCH') return 0;
    }
    let snapshot = this.groupSnapshot;
    if (!snapshot || !(snapshot.sameTurn || Date.now() - snapshot.takenAt <= maxAgeMs)) {
      const fresh = { sizes: liveGroupSizes(), takenAt: Date.now(), sameTurn: true };
      setImmediate(() => (fresh.sameTurn = false)).unref();
      this.groupSnapshot = snapshot = fresh;
    }
    return snapshot.sizes.get(pgid) ?? 0;
  }

  /** Checks adopted workloads being stopped every STOP_POLL_MS, so stop() resolves promptly. */
  private watchStopping(watch: Watch): void {
    this.stopping.add(watch);
    if (this.stopTimer) return;
    this.stopTimer = setInterval(() => {
      for (const w of this.stopping) {
        if (w.exit) this.stopping.delete(w);
        else if (!this.isAlive(w.handle)) this.report(w, -1, '');
      }
      if (this.stopping.size === 0 && this.stopTimer) {
        clearInterval(this.stopTimer);
        this.stopTimer = undefined;
      }
    }, Math.min(this.pollMs, STOP_POLL_MS));
  }

  private tick(): void {
    if (this.closed || this.tickInFlight) return;
    this.tickInFlight = this.poll()
      .catch((err: unknown) => this.log?.warn({ err }, 'process runner poll failed'))
      .finally(() => (this.tickInFlight = undefined));
  }

  /**
   * One poll: up to MAX_CHECKS_PER_TICK workloads, continuing where the last tick stopped.
   * Adopted ones are checked for liveness; live ones get their log rotated when too large.
   */
  private async poll(): Promise<void> {
    const watches = [...this.watched.values()];
    const count = Math.min(watches.length, MAX_CHECKS_PER_TICK);
    const seen = new Set<string>();
    for (let i = 0; i < count && !this.closed; i++) {
      const watch = watches[(this.cursor + i) % watches.length]!;
      if (watch.exit) continue;
      if (!watch.child && !watch.relayed && !this.isAlive(watch.handle)) {
        this.report(watch, -1, '');
        continue;
      }
      const logPath = watch.handle.logPath;
      if (seen.has(logPath)) continue;
      seen.add(logPath);
      let size: number;
      try {
        size = statSync(logPath).size;
      } catch {
        continue; // removed by hand: nothing to rotate
      }
      if (size <= this.logMaxBytes) continue;
      try {
        await rotateLog(logPath, this.logKeep);
        this.log?.debug({ logPath, size }, 'log rotated');
      } catch (err) {
        this.log?.warn({ err, logPath }, 'log rotation failed; will retry next poll');
      }
    }
    this.cursor = watches.length === 0 ? 0 : (this.cursor + count) % watches.length;
  }
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** `promise`'s value, or undefined when it has not settled within `ms`. */
async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<undefined>((resolve) => (timer = setTimeout(resolve, Math.max(0, ms), undefined)))]);
  } finally {
    clearTimeout(timer);
  }
}
