/**
 * Command-line arguments of `rune runs ...`: run ids (`ID` or `run/ID`), the filter flags that
 * `list` and `watch` share (`--job`, `--status`, `--source`), and `--env K=V` overrides. Bad
 * values are UsageErrors naming the flag. Kept free of heavy imports (main.ts loads the
 * command modules that use it at startup).
 */
import type { Argv } from 'yargs';
import { didYouMeanSuffix } from '../../shared/spec/suggest.js';
import { UsageError } from './global-options.js';

export const RUN_PHASES = ['pending', 'running', 'blocked', 'finished', 'failed', 'cancelled'] as const;
export type RunPhase = (typeof RUN_PHASES)[number];

export interface RunFilterArgs {
  job?: string;
  status: string[];
  source?: string;
  allNamespaces: boolean;
}

/** Adds `--job`, `--status` (repeatable, or a comma list), `--source` and `-A`. */
export function runFilterFlags<T>(y: Argv<T>): Argv<T & RunFilterArgs> {
  return y
    .option('job', { type: 'string', requiresArg: true, describe: 'Only runs of this job' })
    .option('status', { type: 'string', array: true, default: [] as string[], requiresArg: true, describe: `Only runs in these phases: ${RUN_PHASES.join(', ')} (repeat, or a comma list)` })
    .option('source', { type: 'string', requiresArg: true, describe: 'Only runs from this source: local, or a cluster name; * for every source [default: every source]' })
    .option('all-namespaces', { alias: 'A', type: 'boolean', default: false, describe: 'Runs of every namespace' }) as unknown as Argv<T & RunFilterArgs>;
}

/** The RunFilter the flags select: phases checked and deduplicated, in the order given. */
export function runFilterFromArgs(args: Pick<RunFilterArgs, 'job' | 'status' | 'source'>): { job: string; status: RunPhase[]; source: string } {
  return { job: args.job ?? '', status: parseStatuses(args.status), source: args.source ?? '' };
}

/** `--status running --status failed,blocked` → ['running', 'failed', 'blocked']; UsageError for an unknown phase. */
export function parseStatuses(values: readonly string[]): RunPhase[] {
  const phases: RunPhase[] = [];
  for (const word of values.flatMap((v) => v.split(',')).map((w) => w.trim().toLowerCase())) {
    if (word === '') continue;
    if (!(RUN_PHASES as readonly string[]).includes(word)) {
      throw new UsageError(`--status: "${word}" is not a run phase; use ${RUN_PHASES.join(', ')}${didYouMeanSuffix(word, RUN_PHASES)}`);
    }
    if (!phases.includes(word as RunPhase)) phases.push(word as RunPhase);
  }
  return phases;
}

/** The run id named by `word`: `01j...` or `run/01j...`; UsageError for another kind or an empty id. */
export function runId(word: string): string {
  const slash = word.indexOf('/');
  if (word.trim() === '') throw new UsageError('name a run: ID or run/ID (see "rune runs list")');
  if (slash === -1) return word;
  const kind = word.slice(0, slash).toLowerCase();
  const id = word.slice(slash + 1);
  if ((kind !== 'run' && kind !== 'runs') || id === '') throw new UsageError(`"${word}" does not name a run; use ID or run/ID (see "rune runs list")`);
  return id;
}

/** `--env K=V` flags as a map (a later K wins); UsageError for one without `=` or with a bad name. */
export function parseEnvOverrides(values: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const value of values) {
    const eq = value.indexOf('=');
    const name = eq > 0 ? value.slice(0, eq) : '';
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new UsageError(`--env takes NAME=VALUE with NAME a variable name, e.g. --env DRY_RUN=1 (got "${value}")`);
    env[name] = value.slice(eq + 1);
  }
  return env;
}
