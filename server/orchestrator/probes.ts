/**
 * Runs one liveness or readiness probe against an instance: an HTTP GET, a TCP connect, or a
 * command. A probe never throws for a failing workload: it resolves to `{ ok: false, message }`
 * naming what failed, so the health monitor can record it as the probe's last result.
 *
 * Every probe is bounded by `timeoutSeconds` (default 1 when 0): a server that never answers,
 * a port that never accepts and a command that never exits all fail with
 * "timed out after Ns"; a timed-out command's whole process group is killed.
 */
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { connect } from 'node:net';
import type { Probe } from '../../shared/gen/rune/v1/service.js';

/** Where and how to probe one instance. */
export interface ProbeTarget {
  /** Host for http and tcp probes, e.g. '127.0.0.1'. */
  host: string;
  /** Environment of exec probes (the instance's, see instanceEnv). */
  env: Record<string, string>;
  /** Working directory of exec probes. */
  cwd: string;
}

export interface ProbeResult {
  ok: boolean;
  /** 'ok', or what failed: 'HTTP 500 from http://127.0.0.1:8080/healthz', 'connection refused', 'timed out after 1s', 'exit code 2: <output>'. */
  message: string;
}

export interface RunProbeOptions {
  /** Aborting ends the probe at once as failed ('probe canceled'), killing an exec probe's process group. */
  signal?: AbortSignal;
}

/** Body bytes an HTTP probe reads before it stops listening (the rest is discarded). */
const MAX_BODY_BYTES = 64 * 1024;
/** Output an exec probe keeps for its failure message. */
const MAX_OUTPUT_BYTES = 4 * 1024;
/** Characters of output quoted in a failure message. */
const MESSAGE_OUTPUT_CHARS = 200;
/** How long an exited command's output may still arrive. */
const OUTPUT_GRACE_MS = 200;

const OK: ProbeResult = { ok: true, message: 'ok' };

/** Runs `probe` once; resolves with its result, never rejects for a failing target. */
export function runProbe(probe: Probe, target: ProbeTarget, options: RunProbeOptions = {}): Promise<ProbeResult> {
  const timeoutSeconds = probe.timeoutSeconds > 0 ? probe.timeoutSeconds : 1;
  if ((probe.type === 'http' || probe.type === 'tcp') && !(probe.port > 0 && probe.port < 65536)) {
    return Promise.resolve({ ok: false, message: `${probe.type} probe has no valid port (${probe.port})` });
  }
  switch (probe.type) {
    case 'http':
      return bounded(timeoutSeconds, options.signal, (settle, onCancel) => httpProbe(probe, target, settle, onCancel));
    case 'tcp':
      return bounded(timeoutSeconds, options.signal, (settle, onCancel) => tcpProbe(probe, target, settle, onCancel));
    case 'exec':
      return bounded(timeoutSeconds, options.signal, (settle, onCancel) => execProbe(probe, target, settle, onCancel));
    default:
      return Promise.resolve({ ok: false, message: `unknown probe type "${probe.type}"; use http, tcp or exec` });
  }
}

type Settle = (result: ProbeResult) => void;
/** Registers the clean-up run when the probe is cut short (timeout or abort). */
type OnCancel = (cleanup: () => void) => void;

/**
 * Runs `start` under the timeout and the abort signal: the first of its result, the timeout or
 * the abort wins; on timeout or abort the probe's registered clean-up runs.
 */
function bounded(timeoutSeconds: number, signal: AbortSignal | undefined, start: (settle: Settle, onCancel: OnCancel) => void): Promise<ProbeResult> {
  return new Promise<ProbeResult>((resolve) => {
    let done = false;
    let cleanup = () => {};
    const settle = (result: ProbeResult) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(result);
    };
    const cancel = (message: string) => {
      if (done) return;
      settle({ ok: false, message });
      cleanup();
    };
    const onAbort = () => cancel('probe canceled');
    const timer = setTimeout(() => cancel(`timed out after ${timeoutSeconds}s`), timeoutSeconds * 1000);
    if (signal?.aborted) {
      cancel('probe canceled');
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    start(settle, (fn) => {
      cleanup = fn;
    });
  });
}

function httpProbe(probe: Probe, target: ProbeTarget, settle: Settle, onCancel: OnCancel): void {
  const path = probe.path ? (probe.path.startsWith('/') ? probe.path : `/${probe.path}`) : '/';
  const url = `http://${hostForUrl(target.host)}:${probe.port}${path}`;
  // agent: false: a fresh connection per probe, closed after it (no keep-alive pool to go stale).
  const req = request({ host: target.host, port: probe.port, path, method: 'GET', agent: false, headers: { 'user-agent': 'rune-probe' } });
  onCancel(() => req.destroy());
  req.on('error', (err) => settle({ ok: false, message: describeNetError(err, url) }));
  req.on('response', (res) => {
    const status = res.statusCode ?? 0;
    const result: ProbeResult = status >= 200 && status < 400 ? OK : { ok: false, message: `HTTP ${status} from ${url}` };
    // The status decides; the body is read (bounded) only so the server sees a normal exchange.
    let received = 0;
    res.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (received >= MAX_BODY_BYTES) {
        settle(result);
        req.destroy();
      }
    });
    res.on('end', () => {
      settle(result);
      req.destroy();
    });
    res.on('error', () => settle(result));
  });
  req.end();
}

function tcpProbe(probe: Probe, target: ProbeTarget, settle: Settle, onCancel: OnCancel): void {
  const address = `${hostForUrl(target.host)}:${probe.port}`;
  const socket = connect({ host: target.host, port: probe.port });
  onCancel(() => socket.destroy());
  socket.on('connect', () => {
    settle(OK);
    socket.destroy();
  });
  socket.on('error', (err) => settle({ ok: false, message: describeNetError(err, address) }));
}

function execProbe(probe: Probe, target: ProbeTarget, settle: Settle, onCancel: OnCancel): void {
  const [command, ...args] = probe.command;
  if (!command) {
    settle({ ok: false, message: 'exec probe has no command' });
    return;
  }
  // detached: the command leads its own process group, so a timeout kills it and its children.
  const child = spawn(command, args, { cwd: target.cwd, env: target.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const killGroup = () => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  };
  onCancel(killGroup);
  let output = '';
  const keep = (chunk: Buffer) => {
    if (output.length < MAX_OUTPUT_BYTES) output += chunk.toString('utf8', 0, Math.min(chunk.length, MAX_OUTPUT_BYTES - output.length));
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  child.on('error', (err: NodeJS.ErrnoException) => {
    const why = err.code === 'ENOENT' ? `not found (cwd ${target.cwd}, PATH ${target.env.PATH ?? 'unset'})` : err.message;
    settle({ ok: false, message: `cannot run "${command}": ${why}` });
  });
  child.on('exit', (code, signal) => {
    // Whatever the command left running in its group goes with it.
    killGroup();
    const finish = () => {
      if (code === 0) {
        settle(OK);
        return;
      }
      const what = signal ? `killed by ${signal}` : `exit code ${code}`;
      const said = output.trim().replace(/\s+/g, ' ').slice(0, MESSAGE_OUTPUT_CHARS);
      settle({ ok: false, message: said ? `${what}: ${said}` : what });
    };
    // Output still in the pipes is wanted for the message, but a process that left the group
    // and holds the pipes must not delay the result: wait for 'close' at most a moment.
    const grace = setTimeout(finish, OUTPUT_GRACE_MS);
    child.once('close', () => {
      clearTimeout(grace);
      finish();
    });
  });
}

function describeNetError(err: NodeJS.ErrnoException, where: string): string {
  switch (err.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
      return `connection reset by ${where}`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `${where} unreachable`;
    default:
      return `${where}: ${err.message}`;
  }
}

function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
