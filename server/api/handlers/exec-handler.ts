/**
 * ExecService: runs a command in an instance's environment (its service's env and ports, the
 * RUNE_* variables, its working dir), streaming output and taking input over one bidi stream.
 *
 * Protocol: the first request is `start` (else INVALID_ARGUMENT); then `stdin` bytes,
 * `stdin_eof` (closes stdin; with a tty it sends ^D), `resize` (tty only). The server streams
 * `stdout`/`stderr` chunks and ends with one `exit {code, signal}` (code -1 with the signal's
 * name when killed), then ends the stream. A client that half-closes its side gets stdin closed.
 *
 * Without a tty the command runs with pipes (stdout and stderr apart). With `tty: true` it gets a
 * pseudo-terminal from node-pty (stdout and stderr merged onto `stdout`; `resize` resizes it
 * live); if node-pty cannot load on this machine, a tty exec fails with UNIMPLEMENTED.
 *
 * The command leads its own process group (session, with a tty). When the client goes away or
 * runed shuts down, the group is killed (SIGKILL); when the command exits, whatever it left
 * running in its group is killed too: exec sessions leave nothing behind.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import { isAbsolute, join, resolve as resolvePath } from 'node:path';
import type { ServerDuplexStream } from '@grpc/grpc-js';
import { RuneError } from '../../../shared/errors.js';
import { ExecResponse, type ExecRequest, type ExecStart } from '../../../shared/gen/rune/v1/exec_service.js';
import type { Instance } from '../../../shared/gen/rune/v1/instance.js';
import type { Service, ServiceSpec } from '../../../shared/gen/rune/v1/service.js';
import { instanceEnv } from '../../runner/instance-env.js';
import type { Store } from '../../store/store.js';
import { authorizeMessage, type CallContext } from '../chain.js';
import type { HandlerMap } from '../dispatch.js';
import { rejectUnknownFields } from '../unknown-fields.js';

export interface ExecHandlerOptions {
  /** runed's data dir: an instance whose service names no working dir runs in `<dataDir>/work/<namespace>/<instance>`. */
  dataDir: string;
  /**
   * The service's env with secret and configmap references resolved, as the instance got it
   * (server/orchestrator/injection.ts); without it the env is used as written.
   */
  resolveEnv?: (namespace: string, instance: string, spec: ServiceSpec) => Promise<Record<string, string>>;
  /** How long the client has to send `start`, ms. Default 10,000. */
  startTimeoutMs?: number;
}

/** Phases in which an instance has a live process to exec next to. */
const EXEC_PHASES = ['running', 'ready'] as const;
/** How long output may keep arriving after the command exited (held open by a process outside its group). */
const OUTPUT_GRACE_MS = 1000;

type Call = ServerDuplexStream<ExecRequest, ExecResponse>;

export function execHandlers(store: Store, options: ExecHandlerOptions): HandlerMap {
  return {
    '/rune.v1.ExecService/Exec': (ctx: CallContext, call: Call) => serveExec(store, options, ctx, call),
  };
}

async function serveExec(store: Store, options: ExecHandlerOptions, ctx: CallContext, call: Call): Promise<void> {
  const first = await firstMessage(call, ctx.signal, options.startTimeoutMs ?? 10_000);
  if (!first) return; // the client went away
  rejectUnknownFields(first, 'ExecRequest');
  if (!first.start) throw RuneError.invalid('start', 'the first message must be `start` (namespace, instance, command)');
  // RBAC on the start message's namespace (the chain sees no request on a bidi stream).
  authorizeMessage(ctx, first);
  const plan = await planExec(store, options.dataDir, first.start, options.resolveEnv);
  const proc = first.start.tty ? await spawnPty(plan, first.start) : spawnPipes(plan);
  await runSession(proc, ctx, call);
}

/** The first request, or undefined when the client went away first. Pauses the call after it. */
function firstMessage(call: Call, signal: AbortSignal, timeoutMs: number): Promise<ExecRequest | undefined> {
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      call.off('data', onData);
      call.off('end', onEnd);
      call.off('error', onGone);
      signal.removeEventListener('abort', onGone);
    };
    const onData = (message: ExecRequest) => {
      call.pause(); // later messages wait for the session
      done();
      resolve(message);
    };
    const onEnd = () => {
      done();
      reject(RuneError.invalid('start', 'the stream ended before its first message; send `start` first'));
    };
    const onGone = () => {
      done();
      resolve(undefined);
    };
    const timer = setTimeout(() => {
      done();
      reject(new RuneError('DEADLINE_EXCEEDED', `no \`start\` message within ${timeoutMs / 1000}s; send it first`));
    }, timeoutMs);
    call.on('data', onData);
    call.once('end', onEnd);
    call.once('error', onGone);
    signal.addEventListener('abort', onGone, { once: true });
  });
}

/** What to run, resolved against the store. */
export interface ExecPlan {
  /** Absolute path of the program. */
  file: string;
  /** argv[0] as given. */
  argv0: string;
  args: string[];
  env: Record<string, string>;
  cwd: string;
}

/**
 * Checks the request and the instance and resolves the command: NOT_FOUND for an unknown
 * instance, FAILED_PRECONDITION when it is not running, its service is gone, its working dir
 * is missing, or the program is not found.
 */
export async function planExec(store: Store, dataDir: string, start: ExecStart, resolveEnv?: ExecHandlerOptions['resolveEnv']): Promise<ExecPlan> {
  if (!start.namespace) throw RuneError.invalid('start.namespace', 'is required');
  if (!start.instance) throw RuneError.invalid('start.instance', 'is required: an instance id, e.g. web-7f3k2');
  const [program, ...args] = start.command;
  if (!program) throw RuneError.invalid('start.command', 'is required: the program and its arguments');
  const { namespace, instance: name } = start;
  const instance = await store.get<Instance>('instances', namespace, name);
  if (!instance) {
    throw RuneError.notFound(`instance "${name}" not found in namespace "${namespace}"; list them with rune get instances -n ${namespace} (exec takes an instance id, not a service name)`);
  }
  const phase = instance.status?.phase || 'pending';
  if (!(EXEC_PHASES as readonly string[]).includes(phase)) {
    throw new RuneError('FAILED_PRECONDITION', `instance "${name}" is ${phase}; exec needs a running instance (rune get instances -n ${namespace} shows their phases)`);
  }
  const serviceName = instance.spec?.service ?? '';
  const service = await store.get<Service>('services', namespace, serviceName);
  if (!service?.spec) throw new RuneError('FAILED_PRECONDITION', `service "${serviceName}" of instance "${name}" no longer exists; its instances are going away`);
  const spec = service.spec;
  const env = instanceEnv({
    namespace,
    service: serviceName,
    instance: name,
    // FAILED_PRECONDITION naming a secret or key that no longer exists.
    env: resolveEnv ? await resolveEnv(namespace, name, spec) : spec.env,
    ports: spec.ports.map((p) => ({ name: p.name, port: p.port, protocol: p.protocol })),
  });
  const cwd = spec.workingDir || join(dataDir, 'work', namespace, name);
  if (!(await isDirectory(cwd))) throw new RuneError('FAILED_PRECONDITION', `working dir ${cwd} of instance "${name}" does not exist`);
  const file = await findProgram(program, env.PATH ?? '', cwd);
  if (!file) {
    throw new RuneError('FAILED_PRECONDITION', `program "${program}" not found or not executable in instance "${name}" (PATH ${env.PATH ?? 'unset'}, working dir ${cwd})`);
  }
  return { file, argv0: program, args, env, cwd };
}

/** The running command, whichever way its stdio is wired. */
interface ExecProcess {
  pid: number;
  /** Output events; `pause`/`resume` hold them back (backpressure). */
  onOutput(listener: (stream: 'stdout' | 'stderr', data: Buffer) => void): void;
  /** Once, after the output was delivered (or the grace period passed). */
  onExit(listener: (exit: { code: number; signal: string }) => void): void;
  pauseOutput(): void;
  resumeOutput(): void;
  /** Returns false when the input is buffered beyond its limit: wait for onInputDrain. */
  writeInput(data: Buffer): boolean;
  /** Calls `listener` once when buffered input was taken. */
  onInputDrain(listener: () => void): void;
  endInput(): void;
  resize(rows: number, cols: number): void;
  /** SIGKILL to the whole process group. */
  killGroup(): void;
}

function killGroup(pid: number | undefined): void {
  if (!pid) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Nothing left in the group.
  }
}

function spawnPipes(plan: ExecPlan): ExecProcess {
  let child: ChildProcessWithoutNullStreams;
  try {
    child = spawn(plan.file, plan.args, { argv0: plan.argv0, cwd: plan.cwd, env: plan.env, detached: true, stdio: 'pipe' });
  } catch (err) {
    throw new RuneError('FAILED_PRECONDITION', `cannot run "${plan.argv0}": ${(err as Error).message}`, { cause: err });
  }
  child.stdin.on('error', () => {}); // EPIPE: the command closed its stdin; input is dropped
  let exitListener: ((exit: { code: number; signal: string }) => void) | undefined;
  let exited: { code: number; signal: string } | undefined;
  let reported = false;
  const report = () => {
    if (reported || !exited || !exitListener) return;
    reported = true;
    exitListener(exited);
  };
  child.on('error', () => {
    // Spawn failed after all (e.g. EACCES between the check and the spawn): exit 127, like a shell.
    exited ??= { code: 127, signal: '' };
    child.stdout.destroy();
    child.stderr.destroy();
    report();
  });
  child.on('exit', (code, signal) => {
    exited = { code: code ?? -1, signal: signal ?? '' };
    killGroup(child.pid); // what it left running goes with it
    // Output still in the pipes goes first; a process outside the group holding them must not hold the exit back.
    const grace = setTimeout(() => {
      child.stdout.destroy();
      child.stderr.destroy();
      report();
    }, OUTPUT_GRACE_MS);
    child.once('close', () => {
      clearTimeout(grace);
      report();
    });
  });
  return {
    pid: child.pid ?? 0,
    onOutput: (listener) => {
      child.stdout.on('data', (d: Buffer) => listener('stdout', d));
      child.stderr.on('data', (d: Buffer) => listener('stderr', d));
    },
    onExit: (listener) => {
      exitListener = listener;
      report();
    },
    pauseOutput: () => {
      child.stdout.pause();
      child.stderr.pause();
    },
    resumeOutput: () => {
      child.stdout.resume();
      child.stderr.resume();
    },
    writeInput: (data) => (child.stdin.writable ? child.stdin.write(data) : true),
    onInputDrain: (listener) => child.stdin.once('drain', listener),
    endInput: () => child.stdin.end(),
    resize: () => {},
    killGroup: () => killGroup(child.pid),
  };
}

type NodePty = typeof import('node-pty');
let nodePty: Promise<NodePty> | undefined;

/** node-pty, loaded on first use (a native module: tty exec fails cleanly where it cannot load). */
function loadPty(): Promise<NodePty> {
  nodePty ??= import('node-pty');
  return nodePty;
}

const signalNames = new Map<number, string>(Object.entries(osConstants.signals).map(([name, num]) => [num, name]));

async function spawnPty(plan: ExecPlan, start: ExecStart): Promise<ExecProcess> {
  let pty: NodePty;
  try {
    pty = await loadPty();
  } catch (err) {
    throw new RuneError('UNIMPLEMENTED', `exec with a tty is unavailable on this runed: node-pty did not load (${(err as Error).message}); run without a tty`, { cause: err });
  }
  const rows = start.size?.rows && start.size.rows > 0 ? start.size.rows : 24;
  const cols = start.size?.cols && start.size.cols > 0 ? start.size.cols : 80;
  let term: import('node-pty').IPty;
  try {
    // encoding null: output as Buffers, bytes untouched.
    term = pty.spawn(plan.file, plan.args, { name: plan.env.TERM ?? 'xterm-256color', cols, rows, cwd: plan.cwd, env: plan.env, encoding: null });
  } catch (err) {
    throw new RuneError('FAILED_PRECONDITION', `cannot run "${plan.argv0}" on a terminal: ${(err as Error).message}`, { cause: err });
  }
  let exitListener: ((exit: { code: number; signal: string }) => void) | undefined;
  let exited: { code: number; signal: string } | undefined;
  const report = () => {
    if (exited && exitListener) {
      const listener = exitListener;
      exitListener = undefined;
      listener(exited);
    }
  };
  // node-pty reports the exit once the terminal's output is read (or 200 ms after).
  term.onExit(({ exitCode, signal }) => {
    exited = signal ? { code: -1, signal: signalNames.get(signal) ?? `signal ${signal}` } : { code: exitCode, signal: '' };
    killGroup(term.pid);
    report();
  });
  return {
    pid: term.pid,
    onOutput: (listener) => {
      term.onData((d) => listener('stdout', Buffer.isBuffer(d) ? d : Buffer.from(d)));
    },
    onExit: (listener) => {
      exitListener = listener;
      report();
    },
    pauseOutput: () => term.pause(),
    resumeOutput: () => term.resume(),
    writeInput: (data) => {
      if (!exited) term.write(data);
      return true;
    },
    onInputDrain: () => {},
    // ^D: end of input for a terminal in canonical mode (at the start of a line).
    endInput: () => {
      if (!exited) term.write('\x04');
    },
    resize: (r, c) => {
      if (!exited && r > 0 && c > 0) term.resize(c, r);
    },
    killGroup: () => killGroup(term.pid),
  };
}

/** Wires the call to the process until it exits (then sends `exit`) or the client goes away. */
function runSession(proc: ExecProcess, ctx: CallContext, call: Call): Promise<void> {
  return new Promise<void>((resolve) => {
    let finished = false;
    let inputClosed = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      ctx.signal.removeEventListener('abort', onGone);
      call.off('data', onRequest);
      resolve();
    };
    const onGone = () => {
      proc.killGroup();
      finish();
    };
    const send = (response: ExecResponse): boolean => {
      if (finished || call.destroyed || call.writableEnded) return true;
      return call.write(response);
    };
    let outputPaused = false;
    proc.onOutput((stream, data) => {
      if (!send(ExecResponse.fromPartial(stream === 'stdout' ? { stdout: data } : { stderr: data })) && !outputPaused) {
        // grpc-js buffers enough: hold the command's output until the client reads.
        outputPaused = true;
        proc.pauseOutput();
        call.once('drain', () => {
          outputPaused = false;
          proc.resumeOutput();
        });
      }
    });
    proc.onExit((exit) => {
      send(ExecResponse.fromPartial({ exit }));
      finish();
    });
    const onRequest = (message: ExecRequest) => {
      try {
        rejectUnknownFields(message, 'ExecRequest');
      } catch {
        return; // an unknown field in a later message: ignored, the session goes on
      }
      if (message.stdin !== undefined) {
        if (!inputClosed && !proc.writeInput(message.stdin)) {
          // The command reads slower than the client sends: stop reading requests meanwhile.
          call.pause();
          proc.onInputDrain(() => call.resume());
        }
      } else if (message.stdinEof) {
        if (!inputClosed) proc.endInput();
        inputClosed = true;
      } else if (message.resize) {
        proc.resize(message.resize.rows, message.resize.cols);
      }
    };
    call.on('data', onRequest);
    call.once('end', () => {
      // The client sends nothing more: that is the end of its input.
      if (!inputClosed) proc.endInput();
      inputClosed = true;
    });
    call.once('error', onGone);
    if (ctx.signal.aborted) onGone();
    else ctx.signal.addEventListener('abort', onGone, { once: true });
    call.resume();
  });
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/** The program's absolute path: as given when it has a slash (relative to `cwd`), else the first executable file on PATH. */
async function findProgram(program: string, pathVar: string, cwd: string): Promise<string | undefined> {
  const candidates = program.includes('/') ? [resolvePath(cwd, program)] : pathVar.split(':').map((dir) => resolvePath(cwd, dir || '.', program));
  for (const candidate of candidates) {
    if (!isAbsolute(candidate)) continue;
    try {
      await access(candidate, fsConstants.X_OK);
      if ((await stat(candidate)).isFile()) return candidate;
    } catch {
      // Not there, or not executable: next.
    }
  }
  return undefined;
}
