/**
 * Ages as kubectl prints them: `45s`, `5m30s`, `42m`, `3h15m`, `9h`, `3d4h`, `12d`, `2y45d`.
 */

/** A short human duration for `ms` milliseconds (negative counts as 0). */
export function humanDuration(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  const days = Math.floor(hours / 24);
  if (days < 8) return hours % 24 === 0 ? `${days}d` : `${days}d${hours % 24}h`;
  if (days < 365 * 2) return `${days}d`;
  const years = Math.floor(days / 365);
  if (years < 8) return days % 365 === 0 ? `${years}y` : `${years}y${days % 365}d`;
  return `${years}y`;
}

/** The age of something created at `created`, or `<unknown>` when the time is missing. */
export function age(created: Date | undefined, now: Date): string {
  return created ? humanDuration(now.getTime() - created.getTime()) : '<unknown>';
}
