/**
 * The `runed serve` arguments that reproduce a configuration: used by `runed start` (for the
 * detached child) and by `runed install-service` (for ExecStart). Secret settings are never
 * put on a command line.
 */
import { resolve } from 'node:path';
import { RUNED_FLAGS } from '../config/runed-flags.js';
import type { ResolvedSetting, Source } from '../config/runed-config.js';

export interface ServeArgsOptions {
  /** Settings whose source is in this list become flags (data-dir always does, absolute). */
  sources: readonly Source[];
  /** The config file, passed on as `--config <absolute path>`. */
  configFile?: string;
}

export function serveArgs(settings: Map<string, ResolvedSetting>, options: ServeArgsOptions): string[] {
  const args = ['serve'];
  if (options.configFile) args.push('--config', resolve(options.configFile));
  for (const flag of RUNED_FLAGS) {
    if (flag.secret || flag.cli === false) continue;
    const s = settings.get(flag.name);
    if (!s || s.value === undefined) continue;
    if (flag.name !== 'data-dir' && !options.sources.includes(s.source)) continue;
    const v = s.value;
    if (Array.isArray(v)) for (const item of v) args.push(`--${flag.name}`, item);
    else if (typeof v === 'boolean') args.push(v ? `--${flag.name}` : `--no-${flag.name}`);
    else args.push(`--${flag.name}`, flag.path ? resolve(String(v)) : String(v));
  }
  return args;
}

/** How this runed was launched: node, its flags (e.g. `--import tsx`) and the script, absolute. */
export function selfCommand(): string[] {
  return [process.execPath, ...process.execArgv, resolve(process.argv[1]!)];
}
