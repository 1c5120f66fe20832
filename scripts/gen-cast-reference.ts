/**
 * Rewrites the cast-file reference in README.md (between `<!-- cast-reference:start -->` and
 * `<!-- cast-reference:end -->`) from the schemas in shared/spec. Creates README.md holding just
 * that section when it does not exist; never touches text outside the markers.
 *
 *     node --import tsx scripts/gen-cast-reference.ts [--check]
 *
 * With --check, writes nothing and exits 1 when the README is out of date.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { packageRoot } from '../shared/version.js';
import { castFileReference, replaceReferenceSection } from '../shared/spec/reference.js';

const path = join(packageRoot(), 'README.md');
const current = await readFile(path, 'utf8').catch((err: NodeJS.ErrnoException) => {
  if (err.code === 'ENOENT') return '# Rune\n';
  throw err;
});
const next = replaceReferenceSection(current, castFileReference());
if (process.argv.includes('--check')) {
  if (next !== current) {
    console.error(`${path}: the cast-file reference is out of date; run: node --import tsx scripts/gen-cast-reference.ts`);
    process.exit(1);
  }
  console.log(`${path}: cast-file reference is up to date`);
} else if (next === current) {
  console.log(`${path}: cast-file reference already up to date`);
} else {
  await writeFile(path, next, 'utf8');
  console.log(`${path}: cast-file reference updated`);
}
