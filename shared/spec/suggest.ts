/**
 * "Did you mean" hints for misspelt field names and enumeration values.
 */

/** Common names from other tools mapped to the cast-file field that means the same. */
const SYNONYMS: Readonly<Record<string, string>> = {
  replicas: 'scale',
  instances: 'scale',
  environment: 'env',
  cwd: 'workingDir',
  workdir: 'workingDir',
  restart: 'restartPolicy',
  depends_on: 'dependencies',
  dependsOn: 'dependencies',
  entrypoint: 'command',
  cmd: 'command',
};

/**
 * The candidate closest to `input`: an exact match ignoring case, '-' and '_', a known synonym
 * (`replicas` → `scale`), the value with a missing `SIG` prefix, the only candidate starting
 * with the input (`prot` → `protocol`), else the nearest by edit
 * distance when it is close enough (≤ 1 for short words, ≤ 2 otherwise). Undefined when none fits.
 */
export function didYouMean(input: string, candidates: readonly string[]): string | undefined {
  if (candidates.length === 0) return undefined;
  const norm = (s: string) => s.toLowerCase().replace(/[-_]/g, '');
  const wanted = norm(input);
  const exact = candidates.find((c) => norm(c) === wanted);
  if (exact !== undefined) return exact;
  const synonym = SYNONYMS[input];
  if (synonym !== undefined && candidates.includes(synonym)) return synonym;
  const withSig = candidates.find((c) => norm(c) === `sig${wanted}`);
  if (withSig !== undefined) return withSig;
  if (wanted.length >= 3) {
    const prefixed = candidates.filter((c) => norm(c).startsWith(wanted));
    if (prefixed.length === 1) return prefixed[0];
  }
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = editDistance(wanted, norm(candidate));
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  const limit = wanted.length <= 4 ? 1 : 2;
  return bestDistance <= limit ? best : undefined;
}

/** `; did you mean "x"?` or '' — to append to a message. */
export function didYouMeanSuffix(input: string, candidates: readonly string[]): string {
  const suggestion = didYouMean(input, candidates);
  return suggestion === undefined ? '' : `; did you mean "${suggestion}"?`;
}

/** Levenshtein distance. */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
    }
    previous = current;
  }
  return previous[b.length]!;
}
