/**
 * Memory quantities as written in cast files: an integer with an optional binary (Ki, Mi, Gi)
 * or decimal (K, M, G) suffix, e.g. `256Mi`, `1Gi`, `500M`, `1048576`.
 */

export const QUANTITY_PATTERN = /^(0|[1-9][0-9]*)(Ki|Mi|Gi|K|M|G)?$/;

const MULTIPLIERS: Readonly<Record<string, number>> = {
  '': 1,
  K: 1e3,
  M: 1e6,
  G: 1e9,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
};

/** The number of bytes a quantity stands for; undefined when `text` is not a quantity. */
export function parseQuantity(text: string): number | undefined {
  const match = QUANTITY_PATTERN.exec(text);
  if (!match) return undefined;
  return Number(match[1]) * MULTIPLIERS[match[2] ?? '']!;
}

/** What is wrong with `text` as a positive memory quantity, or undefined when it is one. */
export function quantityProblem(text: string): string | undefined {
  const match = QUANTITY_PATTERN.exec(text);
  if (!match) {
    const fix = /^(\d+)\s*([KMG])i?B$/i.exec(text);
    const hint = fix ? `; did you mean "${fix[1]}${fix[2]!.toUpperCase()}i"?` : '';
    return `must be a quantity: an integer with an optional Ki, Mi, Gi, K, M or G suffix, e.g. 256Mi or 1Gi${hint}`;
  }
  if (Number(match[1]) === 0) return 'must be greater than 0';
  return undefined;
}
