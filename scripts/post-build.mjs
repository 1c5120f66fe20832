// After tsc: copy the rune bin (plain CommonJS, not compiled by tsc), bundle the CLI, then make
// the two bins executable (tsc keeps their #! line but not the mode).
import { chmodSync, copyFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

copyFileSync(join(root, 'client', 'cli', 'rune.cjs'), join(root, 'dist', 'client', 'cli', 'rune.cjs'));

// The CLI as one ESM bundle with its lazily loaded commands as chunks: Node then loads a few files
// instead of ~250 modules, which is most of `rune get`'s start time. dist/client/cli/rune.cjs (the
// bin, copied above) imports it when it is there. @grpc/proto-loader stays external (it drags in protobufjs).
const bundleDir = join(root, 'dist', 'client', 'cli', 'bundle');
rmSync(bundleDir, { recursive: true, force: true });
await build({
  entryPoints: [join(root, 'dist', 'client', 'cli', 'main.js')],
  outdir: bundleDir,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['@grpc/proto-loader'],
  // CommonJS dependencies (grpc-js) call require(): give the ESM bundle one.
  banner: { js: "import { createRequire as __runeCreateRequire } from 'node:module'; const require = __runeCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});

const { bin } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
for (const file of Object.values(bin)) {
  const path = join(root, file);
  if (existsSync(path)) chmodSync(path, 0o755);
}
