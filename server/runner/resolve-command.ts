/**
 * Resolving a workload's command to an executable file before spawning it, so a typo is a clear
 * RuneError instead of a child that dies with ENOENT after start() returned.
 */
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { RuneError } from '../../shared/errors.js';

type Verdict = 'ok' | 'missing' | 'directory' | 'not-executable';

async function examine(file: string): Promise<Verdict> {
  try {
    const info = await stat(file);
    if (info.isDirectory()) return 'directory';
  } catch {
    return 'missing';
  }
  try {
    await access(file, constants.X_OK);
    return 'ok';
  } catch {
    return 'not-executable';
  }
}

/**
 * The absolute path of the file `command` names, resolved the way execvp(3) would: a command
 * containing '/' is a path (relative ones against `cwd`); a bare name is looked up in each entry
 * of `path` (colon-separated; an empty entry means `cwd`), first executable match wins.
 *
 * Throws RuneError INVALID_ARGUMENT for an empty command, FAILED_PRECONDITION
 * `command "foo" not found in PATH (...)` when nothing matches, and `command "foo" is not
 * executable: ...` when the only matches lack execute permission.
 */
export async function resolveCommand(command: string, path: string, cwd: string): Promise<string> {
  // Starting many instances of one service resolves the same command again and again: a hit
  // from the last few seconds is reused (if the file went away since, the spawn itself fails).
  // Each instance has its own working dir, so cwd is part of the key only when it can change
  // the answer (a relative command or PATH entry); otherwise every instance would miss.
  const key = dependsOnCwd(command, path) ? `${command}\0${path}\0${cwd}` : `${command}\0${path}`;
  const hit = recent.get(key);
  if (hit && Date.now() - hit.at < CACHE_MS) return hit.file;
  // The promise is shared, so starts that arrive together look the command up once; a failure
  // is not kept (the next start looks again).
  const file = resolveUncached(command, path, cwd);
  if (recent.size >= CACHE_ENTRIES) recent.clear();
  const entry = { file, at: Date.now() };
  recent.set(key, entry);
  file.catch(() => recent.get(key) === entry && recent.delete(key));
  return file;
}

function dependsOnCwd(command: string, path: string): boolean {
  if (command.includes('/')) return !isAbsolute(command);
  return path.split(':').some((dir) => !isAbsolute(dir));
}

const CACHE_MS = 5000;
const CACHE_ENTRIES = 256;
const recent = new Map<string, { file: Promise<string>; at: number }>();

async function resolveUncached(command: string, path: string, cwd: string): Promise<string> {
  if (command === '') throw RuneError.invalid('command', 'is empty; name the program to run');
  if (command.includes('/')) {
    const file = resolve(cwd, command);
    switch (await examine(file)) {
      case 'ok':
        return file;
      case 'missing':
        throw new RuneError('FAILED_PRECONDITION', `command "${command}" not found: ${file} does not exist`);
      case 'directory':
        throw new RuneError('FAILED_PRECONDITION', `command "${command}" is not executable: ${file} is a directory`);
      case 'not-executable':
        throw new RuneError('FAILED_PRECONDITION', `command "${command}" is not executable: ${file} lacks execute permission (chmod +x it)`);
    }
  }
  // All PATH entries are examined at once (one round trip instead of one per entry); the first
  // executable match in PATH order wins, as with execvp.
  const files = path.split(':').map((dir) => resolve(cwd, dir === '' ? '.' : dir, command));
  const verdicts = await Promise.all(files.map(examine));
  const found = verdicts.indexOf('ok');
  if (found >= 0) return files[found]!;
  const denied = verdicts.indexOf('not-executable');
  const notExecutable = denied >= 0 ? files[denied] : undefined;
  if (notExecutable !== undefined) {
    throw new RuneError('FAILED_PRECONDITION', `command "${command}" is not executable: ${notExecutable} lacks execute permission (chmod +x it or fix PATH)`);
  }
  throw new RuneError('FAILED_PRECONDITION', `command "${command}" not found in PATH (${path || 'empty'}); install it, use an absolute path, or set PATH in the service's env`);
}
