/**
 * Runs `runed <args>` (node + tsx on the sources) to completion with a clean environment: no
 * RUNE_* variables from the test's own environment, its own HOME, NODE_EXTRA_CA_CERTS unset.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../support/runed-process.js';

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function cleanEnv(home: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('RUNE_')) env[k] = v;
  return { ...env, HOME: home, NODE_EXTRA_CA_CERTS: '', ...extra };
}

export function runRuned(args: string[], options: { home: string; env?: NodeJS.ProcessEnv; cwd?: string }): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'server', 'main.ts'), ...args], {
      cwd: options.cwd ?? repoRoot,
      env: cleanEnv(options.home, options.env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}
