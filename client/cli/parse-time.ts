/**
 * Time arguments on the command line: durations (`90s`, `5m`, `1h30m`, `1.5h`, `2d`, `500ms`)
 * and `--since` values (a duration back from now, or an RFC 3339 time). Bad values are
 * UsageErrors naming the flag.
 */
import { UsageError } from './global-options.js';

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const DURATION = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/g;
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/;

export interface DurationOptions {
  /** The flag, for messages. */
  flag: string;
  /** Accept a bare number as seconds (`120` = `120s`). Default false: a unit is required. */
  bareSeconds?: boolean;
}

/** Milliseconds of a duration like `1h30m`; UsageError when `text` is not one. */
export function parseDuration(text: string, options: DurationOptions): number {
  const value = text.trim();
  if (options.bareSeconds && /^\d+(?:\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  if (!DURATION.test(value)) {
    throw new UsageError(`${options.flag}: "${text}" is not a duration; use e.g. 90s, 5m, 1h30m or 2d${options.bareSeconds ? ' (a bare number counts as seconds)' : ''}`);
  }
  let ms = 0;
  for (const [, amount, unit] of value.matchAll(PART)) ms += Number(amount) * UNIT_MS[unit as keyof typeof UNIT_MS];
  return Math.round(ms);
}

/** The time `--since` means: `now` minus a duration, or an RFC 3339 time; UsageError otherwise. */
export function parseSince(text: string, now: Date, flag = '--since'): Date {
  const value = text.trim();
  if (DURATION.test(value)) return new Date(now.getTime() - parseDuration(value, { flag }));
  if (RFC3339.test(value)) {
    const time = new Date(value.replace(' ', 'T'));
    if (!Number.isNaN(time.getTime())) return time;
  }
  throw new UsageError(`${flag}: "${text}" is neither a duration (5m, 1h30m) nor an RFC 3339 time (2025-01-01T12:00:00Z)`);
}
