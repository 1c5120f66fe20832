/**
 * The rune CLI as a real child process (node + tsx on the sources), for end-to-end tests: the
 * environment of a user with a given HOME, output collected, every child killed at the end.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './runed-process.js';

export const CLI_MAIN = join(repoRoot, 'client', 'cli', 'main.ts');

/** The settings rune reads from the environment; cleared unless a test gives them. */
const RUNE_VARIABLES = ['RUNE_SERVER', 'RUNE_TOKEN', 'RUNE_TOKEN_FILE', 'RUNE_NAMESPACE', 'RUNE_CONTEXT', 'RUNE_CONFIG', 'RUNE_CA', 'RUNE_CERT', 'RUNE_KEY'];

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliRun {
  child: ChildProcess;
  /** Settles when the process has exited and its output is read. */
  result: Promise<CliResult>;
  stdout(): string;
  stderr(): string;
}

/**
 * The environment of a user whose HOME is `home` (the CLI reads `<home>/.rune/config.yaml`),
 * colour off, and none of rune's own variables except those in `extra`.
 */
export function cliEnv(home: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, RUNE_CONFIG: join(home, '.rune', 'config.yaml'), NO_COLOR: '1' };
  for (const key of RUNE_VARIABLES) if (key !== 'RUNE_CONFIG') delete env[key];
  return { ...env, ...extra };
}

/** Starts CLI processes and kills whatever still runs at `killAll` (call it in `after`). */
export class CliProcesses {
  private readonly children: ChildProcess[] = [];

  /** Starts `rune ARGS`; stdin stays open for the caller unless `stdin: 'ignore'`. */
  start(args: string[], env: NodeJS.ProcessEnv, options: { stdin?: 'pipe' | 'ignore' } = {}): CliRun {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI_MAIN, ...args], { cwd: repoRoot, env, stdio: [options.stdin ?? 'pipe', 'pipe', 'pipe'] });
    this.children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const result = new Promise<CliResult>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
    return { child, result, stdout: () => stdout, stderr: () => stderr };
  }

  /** Runs `rune ARGS` to the end with `input` on stdin (empty by default). */
  run(args: string[], env: NodeJS.ProcessEnv, input = ''): Promise<CliResult> {
    const run = this.start(args, env);
    run.child.stdin!.end(input);
    return run.result;
  }

  killAll(): void {
    for (const child of this.children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}
