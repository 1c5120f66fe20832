#!/usr/bin/env node
/**
 * The `rune` executable (package.json `bin.rune`: scripts/post-build.mjs copies this file, as
 * is, to dist/client/cli/rune.cjs). `rune --version` (or `-v`, as the first argument) is answered here from
 * package.json, loading nothing else: CommonJS, no yargs, no grpc, no generated code, so it
 * costs little more than Node's own start. Every other command line goes to the CLI: the
 * esbuild bundle post-build.mjs writes next to the copy (bundle/main.mjs) when it is there,
 * else main.js (main.ts when run from the sources with tsx). main.ts answers `--version` too,
 * with the same text.
 *
 * Plain JavaScript because tsc compiles only the .ts files. Contract: this file never loads the
 * CLI for `--version` (test/cli/version-flag.test.ts checks that nothing else is loaded).
 */
'use strict';
const { existsSync, readFileSync } = require('node:fs');
const { dirname, join } = require('node:path');
const { pathToFileURL } = require('node:url');

const args = process.argv.slice(2);

if (args[0] === '--version' || args[0] === '-v') {
  process.stdout.write(`rune ${packageVersion()}\n`);
} else {
  const bundle = join(__dirname, 'bundle', 'main.mjs');
  // './main.js' resolves next to this file (to main.ts under tsx).
  const cli = existsSync(bundle) ? import(pathToFileURL(bundle).href) : import('./main.js');
  cli.catch((err) => {
    process.stderr.write(`rune: cannot load the CLI: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  });
}

/** The version in the package.json of the `rune` package above this file (found as shared/version.ts finds it). */
function packageVersion() {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      if (pkg.name === 'rune' && pkg.version) return pkg.version;
    } catch {
      // not here; go up
    }
    dir = dirname(dir);
  }
  throw new Error('cannot find the rune package.json');
}
