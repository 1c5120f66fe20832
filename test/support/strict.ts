/**
 * Skipping with a reason. A suite that needs something this machine lacks calls
 * `skipUnless(this, condition, reason)`; the reason is printed loudly, and in strict mode
 * (CI=true or RUNE_STRICT=1) the summary reporter counts the skip as a failure.
 */
export const strictMode = process.env.CI === 'true' || process.env.RUNE_STRICT === '1';

export function skipUnless(ctx: Mocha.Context, condition: boolean, reason: string): void {
  if (condition) return;
  console.warn(`\n  !!! SKIPPED: ${reason}${strictMode ? ' (strict mode: this counts as a failure)' : ''}\n`);
  ctx.skip();
}
