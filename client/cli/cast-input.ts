/**
 * Reads the files given to `rune cast` / `rune lint` and lints them all: `-` is stdin, a
 * directory means its *.yaml, *.yml and *.json files (not recursive, in name order).
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { RuneError } from '../../shared/errors.js';
import { STDIN_ARG } from './global-options.js';
import { crossFileDuplicates, parseCastFile, type CastDocument, type LintError, type ParseCastFileOptions } from '../../shared/spec/cast-file.js';

export interface CastInput {
  /** Every valid object, in file and document order, with the file it came from. */
  documents: Array<CastDocument & { file: string }>;
  /** Every problem in every file; nothing may be sent when non-empty. */
  errors: LintError[];
  /** The files read, in order. */
  files: string[];
}

/** Reads and lints `paths`. Throws a RuneError (NOT_FOUND) naming a path that cannot be read. */
export async function loadCastFiles(paths: readonly string[], options: ParseCastFileOptions, stdin: () => Promise<string> = readStdin): Promise<CastInput> {
  const texts: Array<{ file: string; text: string }> = [];
  for (const path of paths) {
    if (path === '-' || path === STDIN_ARG) {
      texts.push({ file: STDIN_ARG, text: await stdin() });
      continue;
    }
    let info;
    try {
      info = await stat(path);
    } catch (err) {
      const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message;
      throw new RuneError('NOT_FOUND', `cannot read ${path}: ${reason}`);
    }
    if (info.isDirectory()) {
      const names = (await readdir(path)).filter((n) => /\.(ya?ml|json)$/i.test(n)).sort();
      if (names.length === 0) throw new RuneError('NOT_FOUND', `${path} is a directory without .yaml, .yml or .json files`);
      for (const name of names) texts.push({ file: join(path, name), text: await readFile(join(path, name), 'utf8') });
    } else {
      texts.push({ file: path, text: await readFile(path, 'utf8') });
    }
  }
  // `${NAME}` in secret documents takes this command's environment (unless the caller gives one).
  const parsed = texts.map(({ file, text }) => ({ file, ...parseCastFile(text, file, { env: process.env, ...options }) }));
  const errors = [...parsed.flatMap((p) => p.errors), ...crossFileDuplicates(parsed)];
  return {
    documents: parsed.flatMap((p) => p.documents.map((d) => ({ ...d, file: p.file }))),
    errors,
    files: texts.map((t) => t.file),
  };
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * What `rune cast` and `rune lint` both do first: read the files for `connection`'s namespace,
 * and on lint errors print each (file:line: field: message) and a summary line, set exit code 1
 * and return undefined.
 */
export async function loadLintedCastFiles(
  paths: readonly string[],
  connection: { namespace: string; namespaceExplicit: boolean },
  summary: (errors: number, input: CastInput) => string,
): Promise<CastInput | undefined> {
  const { formatLintError } = await import('../../shared/spec/cast-file.js');
  const input = await loadCastFiles(paths, {
    defaultNamespace: connection.namespace,
    requireNamespace: connection.namespaceExplicit ? connection.namespace : undefined,
  });
  if (input.errors.length === 0) return input;
  for (const error of input.errors) process.stderr.write(formatLintError(error) + '\n');
  process.stderr.write(summary(input.errors.length, input) + '\n');
  process.exitCode = 1;
  return undefined;
}
