/**
 * runed's effective configuration. Precedence, highest first: command-line flags, environment
 * (`RUNE_<NAME>`, see RUNED_FLAGS), the config file (`--config FILE`, YAML, kebab-case keys
 * named like the flags), the table's defaults. Every error is a ConfigError whose message names
 * the key, variable or flag at fault; runed exits 1 on it.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { RUNED_FLAGS, type FlagValue, type RunedFlag, type RunedSettings } from './runed-flags.js';

export class ConfigError extends Error {}

export const SOURCES = ['flag', 'env', 'file', 'default'] as const;
export type Source = (typeof SOURCES)[number];

export interface ResolvedSetting {
  value: FlagValue;
  source: Source;
}

/** The value of `--config` in raw argv (`--config F` or `--config=F`), or undefined. */
export function configPathFromArgv(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') break;
    if (a === '--config') return argv[i + 1];
    if (a.startsWith('--config=')) return a.slice('--config='.length);
  }
  return undefined;
}

/** Whether the flag appears on the command line (`--name`, `--name=…`, `--no-name`). */
export function givenOnCommandLine(argv: readonly string[], name: string): boolean {
  for (const a of argv) {
    if (a === '--') break;
    if (a === `--${name}` || a.startsWith(`--${name}=`) || a === `--no-${name}`) return true;
  }
  return false;
}

/**
 * Reads and checks a runed config file: a YAML mapping of flag names to values. Unknown keys
 * fail naming the key and the closest known one; values of the wrong type fail naming the key.
 * Relative paths are relative to the file's directory.
 */
export function loadConfigFile(file: string): RunedSettings {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`config file ${file} is not valid YAML: ${(err as Error).message}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new ConfigError(`config file ${file} must be a mapping of flag names to values (like "grpc-addr: 127.0.0.1:7863")`);
  const out: RunedSettings = {};
  for (const [key, raw] of Object.entries(doc as Record<string, unknown>)) {
    const flag = RUNED_FLAGS.find((f) => f.name === key && f.file !== false);
    if (!flag) {
      const envOnly = RUNED_FLAGS.find((f) => f.name === key && f.file === false);
      if (envOnly) throw new ConfigError(`config file ${file}: key "${key}" is not allowed in a file; set ${envOnly.env} in the environment instead`);
      const hint = closestKey(key);
      throw new ConfigError(`config file ${file}: unknown key "${key}"${hint ? ` (did you mean "${hint}"?)` : ''}; keys are runed's flag names without the dashes in front`);
    }
    let value = checkType(flag, raw, `config file ${file}: key "${key}"`);
    if (flag.path && typeof value === 'string') value = resolve(dirname(resolve(file)), value);
    out[key] = value;
  }
  return out;
}

/** Parses the environment variables of the table; a malformed value fails naming the variable. */
export function settingsFromEnv(env: NodeJS.ProcessEnv): RunedSettings {
  const out: RunedSettings = {};
  for (const flag of RUNED_FLAGS) {
    if (!flag.env) continue;
    const raw = env[flag.env];
    if (raw === undefined || raw === '') continue;
    const where = `environment variable ${flag.env}`;
    switch (flag.type) {
      case 'string':
        out[flag.name] = checkType(flag, raw, where);
        break;
      case 'number': {
        const n = Number(raw);
        if (raw.trim() === '' || !Number.isFinite(n)) throw new ConfigError(`${where} must be a number (got "${raw}")`);
        out[flag.name] = n;
        break;
      }
      case 'boolean':
        if (/^(1|true|yes|on)$/i.test(raw)) out[flag.name] = true;
        else if (/^(0|false|no|off)$/i.test(raw)) out[flag.name] = false;
        else throw new ConfigError(`${where} must be true or false (got "${raw}")`);
        break;
      case 'string-array':
        out[flag.name] = raw.split(',').map((s) => s.trim()).filter(Boolean);
        break;
    }
  }
  return out;
}

/**
 * Defaults for the command-line parser: env over file over the table. Returned with the source
 * of each, so `config print` and `install-service` can tell where a value came from.
 */
export function layeredDefaults(env: RunedSettings, file: RunedSettings): Map<string, ResolvedSetting> {
  const out = new Map<string, ResolvedSetting>();
  for (const flag of RUNED_FLAGS) {
    if (env[flag.name] !== undefined) out.set(flag.name, { value: env[flag.name], source: 'env' });
    else if (file[flag.name] !== undefined) out.set(flag.name, { value: file[flag.name], source: 'file' });
    else out.set(flag.name, { value: flag.default, source: 'default' });
  }
  return out;
}

/** Redacts secret values: what `runed config print` shows. */
export function redacted(settings: Map<string, ResolvedSetting>): Record<string, { value: FlagValue | '<redacted>'; source: Source }> {
  const out: Record<string, { value: FlagValue | '<redacted>'; source: Source }> = {};
  for (const flag of RUNED_FLAGS) {
    const s = settings.get(flag.name);
    if (!s || s.value === undefined) continue;
    out[flag.name] = { value: flag.secret ? '<redacted>' : s.value, source: s.source };
  }
  return out;
}

function checkType(flag: RunedFlag, raw: unknown, where: string): FlagValue {
  const got = () => `${Array.isArray(raw) ? 'a list' : typeof raw}${typeof raw === 'object' ? '' : ` ${JSON.stringify(raw)}`}`;
  switch (flag.type) {
    case 'string':
      if (typeof raw !== 'string') throw new ConfigError(`${where} must be a string (got ${got()})`);
      if (flag.choices && !flag.choices.includes(raw)) throw new ConfigError(`${where} must be one of ${flag.choices.join(', ')} (got "${raw}")`);
      return raw;
    case 'number':
      if (typeof raw !== 'number' || !Number.isFinite(raw)) throw new ConfigError(`${where} must be a number (got ${got()})`);
      return raw;
    case 'boolean':
      if (typeof raw !== 'boolean') throw new ConfigError(`${where} must be true or false (got ${got()})`);
      return raw;
    case 'string-array':
      if (typeof raw === 'string') return [raw];
      if (!Array.isArray(raw) || raw.some((v) => typeof v !== 'string')) throw new ConfigError(`${where} must be a string or a list of strings (got ${got()})`);
      return raw as string[];
  }
}

/** The known key closest to `key` (edit distance, ignoring case and dashes), if any is close. */
export function closestKey(key: string): string | undefined {
  const norm = (s: string) => s.toLowerCase().replace(/[-_]/g, '');
  let best: { name: string; d: number } | undefined;
  for (const flag of RUNED_FLAGS) {
    if (flag.file === false) continue;
    const d = editDistance(norm(key), norm(flag.name));
    if (!best || d < best.d) best = { name: flag.name, d };
  }
  return best && best.d <= Math.max(2, Math.floor(key.length / 3)) ? best.name : undefined;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}
