/**
 * Rules for the data of secrets and configmaps, shared by the cast-file schema, the CLI
 * (`--from-literal`, `--from-file`) and the server: key names that work as file names and,
 * mostly, as environment variable names, and a size limit. Messages never quote a value (it may
 * be secret): only keys and sizes.
 */
import type { FieldViolation } from '../errors.js';
import { joinField } from './names.js';

/** Largest total size of one secret version's or configmap's values, in bytes. */
export const MAX_DATA_BYTES = 256 * 1024;
export const MAX_DATA_KEY_LENGTH = 253;

const DATA_KEY = /^[-._a-zA-Z0-9]+$/;

/** What is wrong with `key` as a data key (`password`, `tls.crt`, `app_config.yaml`), or undefined. */
export function dataKeyProblem(key: string): string | undefined {
  if (key === '') return 'a key must not be empty';
  if (key.length > MAX_DATA_KEY_LENGTH) return `must be at most ${MAX_DATA_KEY_LENGTH} characters (is ${key.length})`;
  if (key === '.' || key === '..') return `"${key}" cannot be a key (it is not a usable file name)`;
  if (!DATA_KEY.test(key)) {
    const bad = [...key].find((ch) => !/[-._a-zA-Z0-9]/.test(ch));
    return `must contain only letters, digits, "-", "_" and "." (found ${JSON.stringify(bad)})`;
  }
  return undefined;
}

/**
 * The violations of a data map given as key → size in bytes: bad keys (field `data.<key>`), no
 * key at all, or a total over MAX_DATA_BYTES. `what` names the object kind in messages.
 */
export function validateDataSizes(what: 'secret' | 'configmap', sizes: ReadonlyArray<readonly [key: string, bytes: number]>): FieldViolation[] {
  const violations: FieldViolation[] = [];
  if (sizes.length === 0) violations.push({ field: 'data', description: `a ${what} needs at least one key` });
  let total = 0;
  for (const [key, bytes] of sizes) {
    const problem = dataKeyProblem(key);
    if (problem !== undefined) violations.push({ field: joinField('data', key), description: problem });
    total += key.length + bytes;
  }
  if (total > MAX_DATA_BYTES) {
    violations.push({ field: 'data', description: `is ${(total / 1024).toFixed(1)} KiB; a ${what} may hold at most ${MAX_DATA_BYTES / 1024} KiB (keys and values together)` });
  }
  return violations;
}
