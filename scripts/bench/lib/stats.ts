/**
 * The statistics the report quotes. Medians of the repetitions; p99 by nearest rank (with
 * fewer than 100 samples it is the maximum, and the report says how many samples there were);
 * ratios pair by pair (repetition i of runed over repetition i of the reference), then their
 * median, so a slow moment of the machine hits both sides of a pair rather than one figure.
 */

/** Median; the mean of the two middle values for an even count. NaN for no samples. */
export function median(samples: readonly number[]): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Percentile `p` (0 < p ≤ 100) by nearest rank: the smallest sample with at least p% at or below it. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export function p99(samples: readonly number[]): number {
  return percentile(samples, 99);
}

/** a[i] / b[i] for every i both have; throws when the counts differ (pairs would be wrong). */
export function pairwiseRatios(a: readonly number[], b: readonly number[]): number[] {
  if (a.length !== b.length) throw new Error(`cannot pair ${a.length} samples with ${b.length}: every repetition must measure both sides`);
  return a.map((value, i) => value / b[i]!);
}
