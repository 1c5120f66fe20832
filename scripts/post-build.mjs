// After tsc: make the two bins executable (tsc keeps their #! line but not the mode).
import { chmodSync, existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { bin } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
for (const file of Object.values(bin)) {
  const path = join(root, file);
  if (existsSync(path)) chmodSync(path, 0o755);
}
