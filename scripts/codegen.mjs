// Generates shared/gen (ts-proto) and dist/rune.binpb (descriptor set for server reflection)
// from proto/. Generated code is never edited by hand: change the proto and run this again.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);
const env = { ...process.env, PATH: `${join(root, 'node_modules', '.bin')}:${process.env.PATH}` };
const run = (args) => execFileSync(bin('buf'), args, { cwd: root, env, stdio: 'inherit' });

rmSync(join(root, 'shared', 'gen'), { recursive: true, force: true });
run(['generate']);
mkdirSync(join(root, 'dist'), { recursive: true });
run(['build', '-o', join('dist', 'rune.binpb')]);
