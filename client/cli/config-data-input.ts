/**
 * `--from-literal KEY=VALUE` and `--from-file [KEY=]PATH` for `rune secret create` and
 * `rune configmap create`: the data map, each key once. A file's key defaults to its base name.
 * `--label KEY=VALUE` too. Errors are UsageErrors (exit 2) or NOT_FOUND for an unreadable file; they never quote a value.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { RuneError } from '../../shared/errors.js';
import { dataKeyProblem } from '../../shared/spec/config-data.js';
import { UsageError } from './global-options.js';

export interface DataFlags {
  fromLiteral: string[];
  fromFile: string[];
}

/** The data map built from the flags; UsageError when there is none, a key is bad or given twice. */
export async function dataFromFlags(flags: DataFlags): Promise<Map<string, Buffer>> {
  const data = new Map<string, Buffer>();
  const add = (key: string, value: Buffer, flag: string) => {
    const problem = dataKeyProblem(key);
    if (problem !== undefined) throw new UsageError(`${flag}: key "${key}" ${problem}`);
    if (data.has(key)) throw new UsageError(`${flag}: key "${key}" is given twice`);
    data.set(key, value);
  };
  for (const literal of flags.fromLiteral) {
    const eq = literal.indexOf('=');
    if (eq <= 0) throw new UsageError('--from-literal takes KEY=VALUE, e.g. --from-literal password=s3cret');
    add(literal.slice(0, eq), Buffer.from(literal.slice(eq + 1), 'utf8'), '--from-literal');
  }
  for (const spec of flags.fromFile) {
    const eq = spec.indexOf('=');
    const [key, path] = eq > 0 ? [spec.slice(0, eq), spec.slice(eq + 1)] : [basename(spec), spec];
    if (path === '') throw new UsageError('--from-file takes [KEY=]PATH, e.g. --from-file tls.key=./server.key');
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (err) {
      const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
      throw new RuneError('NOT_FOUND', `--from-file ${spec}: cannot read ${path}: ${reason}`);
    }
    add(key, bytes, '--from-file');
  }
  if (data.size === 0) throw new UsageError('give at least one --from-literal KEY=VALUE or --from-file [KEY=]PATH');
  return data;
}

/** `k=v` label flags as a map; UsageError for a malformed one. */
export function labelsFromFlags(flags: readonly string[]): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const flag of flags) {
    const eq = flag.indexOf('=');
    if (eq <= 0) throw new UsageError(`--label takes KEY=VALUE (got "${flag}")`);
    labels[flag.slice(0, eq)] = flag.slice(eq + 1);
  }
  return labels;
}
