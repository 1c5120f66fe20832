/**
 * The benchmark measures the built runed (dist/), as it ships. `ensureBuilt` runs `npm run build`
 * when dist/server/main.js is missing or older than any source it is built from.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const repoRoot = join(import.meta.dirname, '..', '..', '..');
export const runedEntry = join(repoRoot, 'dist', 'server', 'main.js');

/** Newest mtime (ms) of the .ts/.proto files under `dir`. */
function newestSource(dir: string): number {
  let newest = 0;
  if (!existsSync(dir)) return newest;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !/\.(ts|proto)$/.test(entry.name) || entry.name.endsWith('.d.ts')) continue;
    newest = Math.max(newest, statSync(join(entry.parentPath, entry.name)).mtimeMs);
  }
  return newest;
}

/** Builds when needed; returns what it did. Throws when a needed build fails with no dist to fall back on. */
export function ensureBuilt(log: (message: string) => void): 'fresh' | 'built' | 'stale-build-failed' {
  const built = existsSync(runedEntry) ? statSync(runedEntry).mtimeMs : 0;
  const sources = Math.max(...['server', 'shared', 'proto'].map((dir) => newestSource(join(repoRoot, dir))));
  if (built > 0 && built >= sources) return 'fresh';
  log(built === 0 ? 'dist/ is missing: npm run build' : 'dist/ is older than the sources: npm run build');
  const result = spawnSync('npm', ['run', 'build'], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', timeout: 180_000 });
  if (result.status === 0) return 'built';
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`.split('\n').slice(-20).join('\n');
  if (!existsSync(runedEntry)) throw new Error(`npm run build failed and there is no dist/server/main.js:\n${output}`);
  // tsc still emits on type errors (someone's work in progress): measure what was emitted, and say so.
  log(`npm run build failed; measuring the dist/ it emitted anyway:\n${output}`);
  return 'stale-build-failed';
}
